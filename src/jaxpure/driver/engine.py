"""The pipeline: discover → read → index → traced contexts → rules → suppress → report.

``analyze_text`` checks one module's text (the flake8 plugin and the fixer
use it directly). ``check_files`` checks a whole project: every module is
analyzed on its own (in parallel workers, or from the cache), then modules
that traced code in other modules calls into are analyzed again with those
calls as seeds, until nothing new is reached.

``overlays`` stand in for files' contents on disk: an editor's unsaved
buffers (text), or source read from stdin (bytes, decoded as a file's bytes
are). A module's result depends only on its task (its contents, seeds and
the project's module list), so a cache of task results turns the next run
after an edit into analyzing the modules whose tasks changed.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jaxpure.analysis import jaxapi
from jaxpure.driver.cache import ResultStore, code_fingerprint, content_key
from jaxpure.config import Config
from jaxpure.files.discovery import SourceFile
from jaxpure.findings import Finding, Report
from jaxpure.driver.selection import Selection
from jaxpure.files.source import Unreadable, decode, read_bytes, read_source, source_lines
from jaxpure.driver.suppress import apply_noqa, skips_file
from jaxpure.driver.workers import Workers

# libcst, the analyzer and the rules are imported when a module is analyzed, not
# before: a warm run that finds every result in the cache never loads them.
if TYPE_CHECKING:
    from jaxpure.analysis.contexts import CallSeed


_MENTIONS_JAX = re.compile(r"\b(jax|flax|equinox|haiku)\b")
_MAX_ROUNDS = 8


@dataclass(slots=True)
class ModuleResult:
    findings: list[Finding] = field(default_factory=list)
    outgoing: list[CallSeed] = field(default_factory=list)
    internal_error: str | None = None
    # Functions other modules call (``incoming``) whose returns hold no traced value, by qualname.
    untraced_returns: frozenset[str] = frozenset()


def unanalyzable(path: str, reason: str, line: int = 1, column: int = 1) -> Finding:
    from jaxpure.analysis.rules import RULES

    return Finding(path, line, column, line, column, "JP000", RULES["JP000"].format_message(reason=reason))


def mentions_jax(text: str, extra_modules: Iterable[str] = ()) -> bool:
    """The cheap gate: most files of a repository never touch JAX (TorchFix's trick)."""
    if _MENTIONS_JAX.search(text):
        return True
    return any(module in text for module in extra_modules)


def _extra_transforms(config: Config) -> dict[str, jaxapi.Transform]:
    return {
        name: jaxapi.Transform(name, kind, compiling=kind == jaxapi.STAGING)
        for name, kind in config.extend_transforms
    }


def analyze_text(
    text: str,
    path: str,
    config: Config,
    module: str | None = None,
    is_package: bool = False,
    incoming: list[CallSeed] | None = None,
    project_modules: frozenset[str] = frozenset(),
    noqa: bool = True,
    tree: ast.Module | None = None,
    untraced_returns: frozenset[str] = frozenset(),
) -> ModuleResult:
    """Every finding in one module's text (before select/ignore; after noqa unless ``noqa=False``).

    ``tree`` is the text's ``ast`` when the caller already has it (flake8 does),
    to save parsing it again. ``untraced_returns``: functions of other project
    modules (``module:qualname``) known to return no traced value.
    """
    text = text.removeprefix("\ufeff")  # a BOM left in by the caller: the parser of a str rejects it
    arguments = (text, path, config, module, is_package, incoming, project_modules, noqa, tree, untraced_returns)
    try:
        return _analyze_text(*arguments)
    except Exception as error:
        if not _from_recursion(error):
            raise
    # Deeply nested code (a generated 1,000-term sum, a long implicit string
    # concatenation) overflows the default recursion limit in libcst: try once more
    # on a thread with a large stack and a higher limit.
    try:
        return _on_deep_stack(_analyze_text, arguments)
    except Exception as error:
        if not _from_recursion(error) and not isinstance(error, MemoryError):
            raise
    return ModuleResult([unanalyzable(path, "code too deeply nested to analyze")])


_DEEP_STACK_BYTES = 512 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 60_000
_DEEP_LOCK = threading.Lock()  # the recursion limit is per interpreter: one deep analysis at a time


def _from_recursion(error: BaseException) -> bool:
    """A RecursionError, or an error raised while handling one (libcst turns some into KeyError)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _on_deep_stack(function, arguments: tuple):
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, function(*arguments)))
        except BaseException as error:  # noqa: BLE001 - handed back to the caller's thread
            outcome.append((False, error))

    with _DEEP_LOCK:
        limit = sys.getrecursionlimit()
        try:
            size = threading.stack_size(_DEEP_STACK_BYTES)
        except (ValueError, RuntimeError):  # a platform that cannot size thread stacks
            raise RecursionError("no larger stack available") from None
        sys.setrecursionlimit(max(limit, _DEEP_RECURSION_LIMIT))  # before the thread starts
        try:
            thread = threading.Thread(target=target, name="jaxpure-deep", daemon=True)
            thread.start()
            thread.join()
        except RuntimeError:  # could not start a thread with that stack
            raise RecursionError("no larger stack available") from None
        finally:
            threading.stack_size(size)
            sys.setrecursionlimit(limit)
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _analyze_text(
    text: str,
    path: str,
    config: Config,
    module: str | None,
    is_package: bool,
    incoming: list[CallSeed] | None,
    project_modules: frozenset[str],
    noqa: bool,
    tree: ast.Module | None,
    untraced_returns: frozenset[str],
) -> ModuleResult:
    import libcst as cst

    from jaxpure.analysis.analyzer import ModuleAnalyzer
    from jaxpure.analysis.index import build_index
    from jaxpure.analysis.nesting import MAX_EXPRESSION_DEPTH, too_deeply_nested

    if skips_file(text):
        return ModuleResult()
    extra = _extra_transforms(config)
    try:
        if tree is None:
            with warnings.catch_warnings():  # "\d" must not become a syntax error under -W error
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        return ModuleResult([unanalyzable(path, _syntax_error(error, text), error.lineno or 1, error.offset or 1)])
    except MemoryError:
        return ModuleResult([unanalyzable(path, "code too deeply nested to analyze")])
    except ValueError as error:  # e.g. "source code string cannot contain null bytes"
        return ModuleResult([unanalyzable(path, f"cannot parse: {error}")])
    if not mentions_jax(text, (name.split(".")[0] for name in extra)):
        return ModuleResult()
    lines = source_lines(text)
    deep = too_deeply_nested(tree, lines)  # libcst's parser takes time quadratic in the depth: not handed to it
    if deep is not None:
        reason = f"code too deeply nested to analyze (an expression over {MAX_EXPRESSION_DEPTH:,} levels deep)"
        return ModuleResult([unanalyzable(path, reason, *deep)])
    try:
        index = build_index(tree, module, is_package, extra)
        analyzer = ModuleAnalyzer(
            path, lines, index, incoming, _project_lookup(project_modules), is_fixable=_fix_availability(),
            untraced_elsewhere=untraced_returns,
        )
        findings = analyzer.run()
    except cst.ParserSyntaxError as error:
        return ModuleResult([unanalyzable(path, f"syntax error (libcst): {error.message}", error.raw_line, error.raw_column + 1)])
    if noqa:
        findings = apply_noqa(findings, lines)
    return ModuleResult(findings, list(analyzer.outgoing.values()), untraced_returns=analyzer.untraced_returns())


# Statements only Python 3.12+ parses (PEP 695): `type X = ...`, `def f[T](...)`, `class C[T]:`.
_PEP_695 = re.compile(r"\s*(type\s+[A-Za-z_]\w*\s*[\[=]|(async\s+)?def\s+[A-Za-z_]\w*\s*\[|class\s+[A-Za-z_]\w*\s*\[)")


def _syntax_error(error: SyntaxError, text: str) -> str:
    """The parser's message; saying so when the line is valid for a newer Python than this one."""
    message = f"syntax error: {error.msg}"
    if sys.version_info < (3, 12) and error.lineno and error.msg.startswith(("invalid syntax", "expected '('")):
        lines = source_lines(text)
        if error.lineno <= len(lines) and _PEP_695.match(lines[error.lineno - 1]):
            running = f"{sys.version_info.major}.{sys.version_info.minor}"
            return f"{message} (PEP 695 syntax needs Python 3.12+, jaxpure runs on {running}: run it under your project's Python)"
    return message


def _project_lookup(modules: frozenset[str]):
    if not modules:
        return None

    def lookup(qualified: str) -> tuple[str, str] | None:
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if module in modules:
                return module, ".".join(parts[cut:])
        return None

    return lookup


def _fix_availability():
    try:
        from jaxpure.fixes import is_fixable
    except ImportError:
        return None
    return is_fixable


# -- whole runs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    file: SourceFile
    incoming: tuple[CallSeed, ...]
    project_modules: frozenset[str]
    config: Config
    noqa: bool
    untraced_returns: frozenset[str] = frozenset()  # ``module:qualname`` of other modules' functions
    overlay: str | bytes | None = None  # the contents to analyze instead of the file's on disk


Overlays = Mapping[Path, str | bytes]


def task_source(task: Task) -> str | Unreadable:
    """The text a task analyzes: its overlay (bytes decoded as a file's would be), else the file's."""
    if task.overlay is None:
        return read_source(task.file.path)
    if isinstance(task.overlay, bytes):
        return decode(task.overlay)
    return task.overlay


def run_task(task: Task) -> ModuleResult:
    """One module in a worker: never raises, so one bad file cannot stop the run."""
    file = task.file
    try:
        text = task_source(task)
        if isinstance(text, Unreadable):
            return ModuleResult([unanalyzable(file.display, text.reason, text.line, text.column)])
        if file.path.suffix == ".ipynb":
            return _run_notebook(task, text)
        return analyze_text(
            text, file.display, task.config, file.module, file.is_package,
            list(task.incoming), task.project_modules, task.noqa, untraced_returns=task.untraced_returns,
        )
    except Exception as error:  # noqa: BLE001 - reported per file, the run goes on
        return ModuleResult(internal_error=describe_internal_error(error))


def describe_internal_error(error: BaseException) -> str:
    """``KeyError: ... (at analyzer.py:227)``: one line, short, and never itself raising."""
    try:
        text = str(error)
    except BaseException:  # noqa: BLE001 - a str() that fails (or recurses) must not end the run
        text = "<message unavailable>"
    text = " ".join(text.split())
    if len(text) > 300:
        text = text[:300] + "..."
    try:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = f" (at {os.path.basename(frame.filename)}:{frame.lineno})"
    except (IndexError, TypeError):
        where = ""
    return f"{type(error).__name__}: {text}{where}"


def _run_notebook(task: Task, text: str) -> ModuleResult:
    from jaxpure.files import notebook

    try:
        source = notebook.extract(text)
    except notebook.NotebookError as error:
        return ModuleResult([unanalyzable(task.file.display, f"invalid notebook: {error}", error.line, error.column)])
    # Findings keep the lines of the extracted source; output formats map them to cells.
    return analyze_text(source.source, task.file.display, task.config, noqa=task.noqa)


def check_files(
    files: list[SourceFile],
    config: Config,
    selection: Selection | None = None,
    jobs: int = 1,
    cache: ResultStore | None = None,
    noqa: bool = True,
    overlays: Overlays | None = None,
) -> Report:
    results = analyze_files(files, config, jobs, cache, noqa, overlays)
    return build_report(files, results, selection or Selection(config))


def analyze_files(
    files: list[SourceFile],
    config: Config,
    jobs: int = 1,
    cache: ResultStore | None = None,
    noqa: bool = True,
    overlays: Overlays | None = None,
    digests: FileDigests | None = None,
) -> dict[SourceFile, ModuleResult]:
    """Every file's result (before select/ignore), the calls between modules followed to the end.

    ``digests``: kept by a caller that runs again and again (the server), so that a file unchanged
    on disk is not read and hashed again to make its cache key.
    """
    with fewer_collections():
        return _analyze_files(files, config, jobs, cache, noqa, overlays or {}, digests)


def build_report(files: list[SourceFile], results: dict[SourceFile, ModuleResult], selection: Selection) -> Report:
    report = Report(files=len(files))
    for file in files:
        result = results[file]
        if result.internal_error:
            report.internal_errors.append(f"{file.display}: {result.internal_error}")
        report.findings.extend(selected(result.findings, file, selection))
    report.findings.sort(key=lambda f: f.sort_key)
    return report


def selected(findings: list[Finding], file: SourceFile, selection: Selection) -> list[Finding]:
    return [f for f in findings if selection.enabled(f.code, str(file.path))]


# The analysis allocates millions of short-lived objects (libcst nodes), which makes
# Python's cyclic GC run thousands of young collections and a few dozen full ones with
# its default threshold of 700: 15% of a cold run. 10,000 cuts that to a third for the
# same peak memory (measured on the corpus; 5,000 and 20,000 are both slower).
GC_THRESHOLD = 10_000


@contextmanager
def fewer_collections():
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], GC_THRESHOLD), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _analyze_files(
    files: list[SourceFile],
    config: Config,
    jobs: int,
    cache: ResultStore | None,
    noqa: bool,
    overlays: Overlays,
    digests: FileDigests | None = None,
) -> dict[SourceFile, ModuleResult]:
    project_modules = frozenset(f.module for f in files if f.module)
    by_module = {f.module: f for f in files if f.module}
    incoming: dict[str, dict[str, CallSeed]] = {}
    untraced: dict[str, frozenset[str]] = {}  # module -> its functions, reached from others, that return no tracer
    results: dict[SourceFile, ModuleResult] = {}
    pending = list(files)
    keys = _Keys(project_modules, noqa, digests) if cache is not None else None
    first = [Task(f, (), project_modules, config, noqa, overlay=overlays.get(f.path)) for f in files]
    first_keys = [keys.key(task) for task in first] if keys is not None else None
    # A re-run with nothing changed: the whole run's results at once, without loading
    # each module's entry, its calls into other modules, or the analyzer.
    run_key = _run_key(first_keys) if first_keys is not None else None
    stored = cache.get_run(run_key) if run_key is not None else None
    if isinstance(stored, dict) and len(stored.get("results", ())) == len(files) and "catalog" in stored:
        results = dict(zip(files, stored["results"]))
        pending = []
        _output_catalog().preload_catalog(stored["catalog"])
    else:
        stored = None
    with Workers(jobs, len(files), (project_modules, config, noqa)) as workers:
        for round_number in range(_MAX_ROUNDS):
            if not pending:
                break
            if round_number == 0:
                tasks, known_keys = first, first_keys
            else:
                tasks = [
                    Task(
                        f, tuple(sorted(incoming.get(f.module, {}).values(), key=repr)), project_modules, config, noqa,
                        _untraced_callees(results.get(f), untraced), overlays.get(f.path),
                    )
                    for f in pending
                ]
                known_keys = None
            for task, result in zip(tasks, _run_cached(tasks, workers, cache, keys, known_keys)):
                results[task.file] = result
            seeded = _new_seeds(pending, results, incoming, by_module)
            informed = _callers_of_changed_returns(pending, results, untraced, files)
            pending = sorted(set(seeded) | informed, key=lambda f: f.display)
        workers.share_catalog()
    if cache is not None:
        if stored is None and run_key is not None and not any(r.internal_error for r in results.values()):
            record = {
                "results": [ModuleResult(results[f].findings) for f in files],
                "catalog": _output_catalog().load_catalog(),  # what the output needs, without the rules
            }
            cache.put_run(run_key, record)
        cache.save()
    return results


def _new_seeds(
    analyzed: list[SourceFile],
    results: dict[SourceFile, ModuleResult],
    incoming: dict[str, dict[str, CallSeed]],
    by_module: dict[str, SourceFile],
) -> list[SourceFile]:
    """Record the calls into other modules; return the modules that now have more to analyze."""
    changed: set[SourceFile] = set()
    for file in analyzed:
        for call in results[file].outgoing:
            target = by_module.get(call.module)
            if target is None:
                continue
            seeds = incoming.setdefault(call.module, {})
            known = seeds.get(call.function)
            merged = call if known is None else known.merged(call)
            if merged != known:
                seeds[call.function] = merged
                changed.add(target)
    return sorted(changed, key=lambda f: f.display)


def _callers_of_changed_returns(
    analyzed: list[SourceFile],
    results: dict[SourceFile, ModuleResult],
    untraced: dict[str, frozenset[str]],
    files: list[SourceFile],
) -> set[SourceFile]:
    """Record which functions reached from other modules return no traced value; return the
    modules calling one whose answer changed (they assumed "traced in, traced out")."""
    changed: set[tuple[str, str]] = set()
    for file in analyzed:
        if file.module is None:
            continue
        now = results[file].untraced_returns
        before = untraced.get(file.module, frozenset())
        if now != before:
            untraced[file.module] = now
            changed |= {(file.module, function) for function in now ^ before}
    if not changed:
        return set()
    return {
        file for file in files
        if file in results and any((call.module, call.function) in changed for call in results[file].outgoing)
    }


def _untraced_callees(result: ModuleResult | None, untraced: dict[str, frozenset[str]]) -> frozenset[str]:
    """The functions a module called last time that are known to return no traced value."""
    if result is None:
        return frozenset()
    return frozenset(
        f"{call.module}:{call.function}" for call in result.outgoing if call.function in untraced.get(call.module, ())
    )


def _output_catalog():
    from jaxpure.output import context

    return context


def _run_cached(
    tasks: list[Task],
    workers: Workers,
    cache: ResultStore | None,
    keys: _Keys | None,
    known_keys: list[str | None] | None = None,
) -> list[ModuleResult]:
    task_keys: list[str | None] = [None] * len(tasks)
    results: list[ModuleResult | None] = [None] * len(tasks)
    if cache is not None and keys is not None:
        task_keys = known_keys if known_keys is not None else [keys.key(task) for task in tasks]
        for position, key in enumerate(task_keys):
            if key is not None:
                results[position] = cache.get(key)
    missing = [i for i, r in enumerate(results) if r is None]
    for position, result in zip(missing, workers.map([tasks[i] for i in missing])):
        results[position] = result
        if cache is not None and task_keys[position] is not None and result.internal_error is None:
            cache.put(task_keys[position], result)
    return results  # type: ignore[return-value]


class _Keys:
    """Cache keys: a module's bytes and everything else its result depends on.

    That is its name and path, the calls other modules make into it (its
    seeds), the set of project modules (which calls count as project calls),
    and ``noqa``; the configuration and jaxpure's version and code are in the
    cache's namespace. The project's module list is hashed once per run, not
    once per module, and seeds are written out with their sets sorted (a
    frozenset's repr follows string hashing, which changes between processes).
    """

    def __init__(self, project_modules: frozenset[str], noqa: bool, digests: FileDigests | None = None) -> None:
        modules = "\n".join(sorted(project_modules)).encode()
        self.shared = f"{hashlib.blake2b(modules, digest_size=16).hexdigest()}-{noqa}"
        self.digests = digests

    def key(self, task: Task) -> str | None:
        if isinstance(task.overlay, str):
            data, kind = task.overlay.encode("utf-8", "surrogatepass"), "text"
        else:
            try:
                data, kind = task.overlay if task.overlay is not None else self._file_bytes(task.file.path), "bytes"
            except OSError:
                return None
        file = task.file
        seeds = sorted(repr(_stable(seed)) for seed in task.incoming)
        untraced = sorted(task.untraced_returns)
        return content_key(data, repr((file.display, file.module, file.is_package, seeds, untraced, kind, self.shared)))


    def _file_bytes(self, path: Path) -> bytes:
        """A digest of the file's bytes (remembered in ``digests``, when given): the same for the same content."""
        if self.digests is None:
            return file_digest(read_bytes(path))
        return self.digests.digest(path)


class FileDigests:
    """Digests of files' bytes, remembered by the file's identity and status (inode, size, times).

    ``forget()`` after being told files changed: a change that keeps the size within the file
    system's time resolution would otherwise go unseen.
    """

    def __init__(self) -> None:
        self._known: dict[Path, tuple[tuple[int, ...], bytes]] = {}

    def digest(self, path: Path) -> bytes:
        status = os.stat(path)
        identity = (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
        known = self._known.get(path)
        if known is not None and known[0] == identity:
            return known[1]
        digest = file_digest(read_bytes(path))
        self._known[path] = (identity, digest)
        return digest

    def forget(self) -> None:
        self._known.clear()


def file_digest(data: bytes) -> bytes:
    return b"file:" + hashlib.blake2b(data, digest_size=16).digest()


def _stable(value: object) -> object:
    """``value`` as plain tuples with every set sorted: a repr that is the same in every process."""
    if isinstance(value, frozenset | set):
        return tuple(sorted((_stable(item) for item in value), key=repr))
    if isinstance(value, tuple | list):
        return tuple(_stable(item) for item in value)
    fields = getattr(type(value), "__dataclass_fields__", None)
    if fields is not None:
        return (type(value).__name__, *((name, _stable(getattr(value, name))) for name in fields))
    return value


def _run_key(keys: list[str | None]) -> str | None:
    """The key of a whole run: every file's first-round key, in order."""
    if any(key is None for key in keys):
        return None
    return content_key("\n".join(keys).encode(), "run")  # type: ignore[arg-type]


def cache_namespace(config: Config) -> str:
    """The cache's namespace: jaxpure's version and code, and the configuration.

    The version is read when called (not at import), and the code's
    fingerprint (the size and time of jaxpure's own files) keeps a
    development checkout from reading results its previous code computed.
    """
    import jaxpure

    return f"{jaxpure.__version__}-{config.fingerprint()}-{code_fingerprint()}"
