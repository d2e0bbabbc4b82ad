"""One module's analysis: read → parse → index → traced contexts → rules → noqa.

``analyze_text`` checks one module's text (the flake8 plugin, the fixer and
the server use it directly); ``run_task`` does it for one file of a whole
run, in a worker or here, and never raises. ``jaxpure.driver.engine`` runs
these tasks over a project, round after round.
"""

from __future__ import annotations

import ast
import gc
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from jaxpure.analysis import jaxapi
from jaxpure.config import Config
from jaxpure.driver.suppress import apply_noqa, skips_file
from jaxpure.files.discovery import SourceFile
from jaxpure.files.notebook import is_notebook
from jaxpure.files.source import Unreadable, decode, read_source, source_lines
from jaxpure.findings import Finding

# libcst, the analyzer and the rules are imported when a module is analyzed, not
# before: a warm run that finds every result in the cache never loads them.
if TYPE_CHECKING:
    from jaxpure.analysis.analyzer import FixCandidate
    from jaxpure.analysis.contexts import CallSeed, ClassSummary
    from jaxpure.analysis.segments import SegmentCache

_MENTIONS_JAX = re.compile(r"\b(jax|flax|equinox|haiku)\b")


@dataclass(slots=True)
class ModuleResult:
    findings: list[Finding] = field(default_factory=list)
    outgoing: list[CallSeed] = field(default_factory=list)
    internal_error: str | None = None
    # Functions other modules call (``incoming``) whose returns hold no traced value, by qualname.
    untraced_returns: frozenset[str] = frozenset()
    classes: dict[str, ClassSummary] = field(default_factory=dict)  # its classes, by ``module.Class``
    wanted_classes: frozenset[str] = frozenset()  # other modules' classes whose summary it could use
    # Names it imports from another module, which others may import from it instead
    # (``e3nn_jax.IrrepsArray`` for ``e3nn_jax._src.irreps_array.IrrepsArray``).
    exports: dict[str, str] = field(default_factory=dict)
    # Its module-level functions annotated to return a Python value (``-> bool``), by name: what
    # callers reaching one through a package's re-export are told (``engine._static_exports``).
    static_functions: frozenset[str] = frozenset()


class ParsedModules:
    """The parses (``ast`` and libcst segments) of the modules of a run that are likely to be
    analyzed again in its later rounds, with more from other modules, on the same text: those
    that call into other modules or were given something by them. Keeping every module's would
    cost six times the memory (321 MB against 55 MB on the corpus)."""

    def __init__(self) -> None:
        self._by_path: dict[str, tuple[str, ast.Module, SegmentCache]] = {}

    def get(self, path: str, text: str) -> tuple[ast.Module, SegmentCache] | None:
        known = self._by_path.get(path)
        return (known[1], known[2]) if known is not None and known[0] == text else None

    def keep(self, path: str, text: str, tree: ast.Module, segments: SegmentCache) -> None:
        self._by_path[path] = (text, tree, segments)


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
        name: jaxapi.Transform(name, kind, compiling=kind == jaxapi.STAGING) for name, kind in config.extend_transforms
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
    project_classes: tuple[tuple[str, ClassSummary], ...] = (),
    parsed: ParsedModules | None = None,
) -> ModuleResult:
    """Every finding in one module's text (before select/ignore; after noqa unless ``noqa=False``).

    ``tree`` is the text's ``ast`` when the caller already has it (flake8 does),
    to save parsing it again. ``untraced_returns``: functions of other project
    modules (``module:qualname``) known to return no traced value. ``project_classes``:
    classes of other project modules it names, summarized (Modules, non-array fields).
    ``parsed``: the run's parses, reused where this text was analyzed before, and kept.
    """
    text = text.removeprefix("\ufeff")  # a BOM left in by the caller: the parser of a str rejects it
    with _collected_after():
        return _analyze_guarded(
            (
                text,
                path,
                config,
                module,
                is_package,
                incoming,
                project_modules,
                noqa,
                tree,
                untraced_returns,
                project_classes,
                parsed,
            ),
            path,
        )


@contextmanager
def _collected_after():
    """No cyclic garbage collection while one module is analyzed; one young collection after it.

    The analysis allocates a module's libcst trees and keeps them until it is done: with
    automatic collections every 10,000 allocations, each young collection walks the live trees
    again (and the middle generation walks them once more), for nothing, since they die by
    reference counting when the module is done. Collecting once after the module walks only what
    survived it and its cyclic garbage (walkers and their rule contexts): corpus, one process,
    0.45-0.78 s of collections before, 0.22-0.29 s after, the same peak memory.
    """
    if not gc.isenabled():  # the caller manages collections (or a collection is running)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _analyze_guarded(arguments: tuple, path: str) -> ModuleResult:
    """``_analyze_text``, on a larger stack where the default one is too small."""
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
        except BaseException as error:  # handed back to the caller's thread
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
    project_classes: tuple[tuple[str, ClassSummary], ...],
    parsed: ParsedModules | None,
) -> ModuleResult:
    import libcst as cst

    from jaxpure.analysis.analyzer import ModuleAnalyzer
    from jaxpure.analysis.index import build_index
    from jaxpure.analysis.names import build_import_map
    from jaxpure.analysis.nesting import MAX_EXPRESSION_DEPTH, too_deeply_nested

    if skips_file(text):
        return ModuleResult()
    extra = _extra_transforms(config)
    earlier = parsed.get(path, text) if parsed is not None else None
    if earlier is not None:
        tree = earlier[0]
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
        # Nothing to check here; a package's ``__init__`` may still re-export classes others name.
        return ModuleResult(exports=build_import_map(tree, module, is_package).exports() if is_package else {})
    lines = source_lines(text)
    deep = too_deeply_nested(tree, lines)  # libcst's parser takes time quadratic in the depth: not handed to it
    if deep is not None:
        reason = f"code too deeply nested to analyze (an expression over {MAX_EXPRESSION_DEPTH:,} levels deep)"
        return ModuleResult([unanalyzable(path, reason, *deep)])
    try:
        index = build_index(tree, module, is_package, extra, _class_infos(project_classes), is_notebook(path))
        analyzer = ModuleAnalyzer(
            path,
            lines,
            index,
            incoming,
            _project_lookup(project_modules),
            untraced_returns=untraced_returns,
            segments=earlier[1] if earlier is not None else None,
        )
        findings = _mark_fixable(analyzer.run(), analyzer.fix_candidates)
        if parsed is not None and (incoming or untraced_returns or project_classes or analyzer.outgoing):
            parsed.keep(path, text, tree, analyzer.segments)  # a module other modules' analysis involves
    except cst.ParserSyntaxError as error:
        return ModuleResult(
            [unanalyzable(path, f"syntax error (libcst): {error.message}", error.raw_line, error.raw_column + 1)]
        )
    if noqa:
        findings = apply_noqa(findings, lines)
    return ModuleResult(
        findings,
        list(analyzer.outgoing.values()),
        untraced_returns=analyzer.own_untraced_returns(),
        classes=analyzer.class_summaries(),
        wanted_classes=analyzer.classes_wanted(),
        exports=index.imports.exports(),
        static_functions=frozenset(
            f.name for f in index.functions.values() if f.returns_static and f.qualname == f.name
        ),
    )


def _class_infos(summaries: tuple[tuple[str, ClassSummary], ...]) -> dict:
    from jaxpure.analysis.index import ClassInfo

    return {
        name: ClassInfo(
            name,
            summary.framework,
            set(summary.array_fields),
            fields=set(summary.fields),
            non_array_fields=set(summary.non_array_fields),
            declared_static=set(summary.declared_static),
            is_enum=summary.is_enum,
            properties=set(summary.properties),
            self_returning=set(summary.self_returning),
            fresh_keys=set(summary.fresh_keys),
        )
        for name, summary in summaries
    }


# Statements only Python 3.12+ parses (PEP 695): `type X = ...`, `def f[T](...)`, `class C[T]:`.
_PEP_695 = re.compile(r"\s*(type\s+[A-Za-z_]\w*\s*[\[=]|(async\s+)?def\s+[A-Za-z_]\w*\s*\[|class\s+[A-Za-z_]\w*\s*\[)")


def _syntax_error(error: SyntaxError, text: str) -> str:
    """The parser's message; saying so when the line is valid for a newer Python than this one."""
    message = f"syntax error: {error.msg}"
    if sys.version_info < (3, 12) and error.lineno and error.msg.startswith(("invalid syntax", "expected '('")):
        lines = source_lines(text)
        if error.lineno <= len(lines) and _PEP_695.match(lines[error.lineno - 1]):
            running = f"{sys.version_info.major}.{sys.version_info.minor}"
            return (
                f"{message} (PEP 695 syntax needs Python 3.12+, jaxpure runs on {running}:"
                " run it under your project's Python)"
            )
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


def _mark_fixable(findings: list[Finding], candidates: dict[tuple[int, int, str], FixCandidate]) -> list[Finding]:
    """Ask the fixers which findings ``--fix`` can rewrite, from each flagged node and its transform."""
    if not candidates:
        return findings
    try:
        from jaxpure.fixes import is_fixable
    except ImportError:  # a trimmed install without the fixers: nothing is fixable
        return findings
    marked = []
    for finding in findings:
        candidate = candidates.get((finding.line, finding.column, finding.code))
        if candidate is not None and is_fixable(finding.code, candidate.node, candidate.transform):
            finding = replace(finding, fixable=True)
        marked.append(finding)
    return marked


# -- whole runs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    file: SourceFile
    incoming: tuple[CallSeed, ...]
    project_modules: frozenset[str]
    config: Config
    noqa: bool
    untraced_returns: frozenset[str] = frozenset()  # ``module:qualname`` of other modules' functions
    project_classes: tuple[tuple[str, ClassSummary], ...] = ()  # other modules' classes it names
    overlay: str | bytes | None = None  # the contents to analyze instead of the file's on disk


Overlays = Mapping[Path, str | bytes]


def task_source(task: Task) -> str | Unreadable:
    """The text a task analyzes: its overlay (bytes decoded as a file's would be), else the file's."""
    if task.overlay is None:
        return read_source(task.file.path)
    if isinstance(task.overlay, bytes):
        return decode(task.overlay)
    return task.overlay


def run_task(task: Task, parsed: ParsedModules | None = None) -> ModuleResult:
    """One module in a worker: never raises, so one bad file cannot stop the run.

    ``parsed``: the run's parses so far (``ParsedModules``), reused and added to."""
    file = task.file
    try:
        text = task_source(task)
        if isinstance(text, Unreadable):
            return ModuleResult([unanalyzable(file.display, text.reason, text.line, text.column)])
        if file.path.suffix == ".ipynb":
            return _run_notebook(task, text)
        return analyze_text(
            text,
            file.display,
            task.config,
            file.module,
            file.is_package,
            list(task.incoming),
            task.project_modules,
            task.noqa,
            untraced_returns=task.untraced_returns,
            project_classes=task.project_classes,
            parsed=parsed,
        )
    except Exception as error:  # reported per file, the run goes on
        return ModuleResult(internal_error=describe_internal_error(error))


def describe_internal_error(error: BaseException) -> str:
    """``KeyError: ... (at analyzer.py:227)``: one line, short, and never itself raising."""
    try:
        text = str(error)
    except BaseException:  # a str() that fails (or recurses) must not end the run
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
