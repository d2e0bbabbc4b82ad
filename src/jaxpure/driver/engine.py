"""Whole runs: every module of a project analyzed, round after round, through the cache.

``check_files`` analyzes every module on its own (in parallel workers, or
from the cache), then analyzes again the modules that traced code in other
modules calls into, with those calls as seeds, until nothing new is reached.
One module's analysis is ``jaxpure.driver.modules``.

``overlays`` stand in for files' contents on disk: an editor's unsaved
buffers (text), or source read from stdin (bytes, decoded as a file's bytes
are). A module's result depends only on its task (its contents, seeds and
the project's module list), so a cache of task results turns the next run
after an edit into analyzing the modules whose tasks changed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jaxpure.config import Config
from jaxpure.driver.cache import ResultStore, code_fingerprint, content_key
from jaxpure.driver.modules import ModuleResult, Overlays, Task, fewer_collections
from jaxpure.driver.selection import Selection
from jaxpure.driver.workers import Workers
from jaxpure.files.discovery import SourceFile
from jaxpure.files.source import read_bytes
from jaxpure.findings import Finding, Report, RuleInfo

if TYPE_CHECKING:
    from jaxpure.analysis.contexts import CallSeed

_MAX_ROUNDS = 8


def check_files(
    files: list[SourceFile],
    config: Config,
    selection: Selection | None = None,
    jobs: int = 1,
    cache: ResultStore | None = None,
    noqa: bool = True,
    overlays: Overlays | None = None,
) -> Report:
    analysis = analyze_files(files, config, jobs, cache, noqa, overlays)
    return build_report(files, analysis, selection or Selection(config))


@dataclass(frozen=True, slots=True)
class Analysis:
    """A whole run's results, before select/ignore."""

    results: dict[SourceFile, ModuleResult]
    rules: dict[str, RuleInfo]  # every rule's metadata, for the output


def analyze_files(
    files: list[SourceFile],
    config: Config,
    jobs: int = 1,
    cache: ResultStore | None = None,
    noqa: bool = True,
    overlays: Overlays | None = None,
    digests: FileDigests | None = None,
) -> Analysis:
    """Every file's result (before select/ignore), the calls between modules followed to the end.

    ``digests``: kept by a caller that runs again and again (the server), so that a file unchanged
    on disk is not read and hashed again to make its cache key.
    """
    with fewer_collections():
        return _analyze_files(files, config, jobs, cache, noqa, overlays or {}, digests)


def build_report(files: list[SourceFile], analysis: Analysis, selection: Selection) -> Report:
    report = Report(files=len(files), rules=analysis.rules)
    for file in files:
        result = analysis.results[file]
        if result.internal_error:
            report.internal_errors.append(f"{file.display}: {result.internal_error}")
        report.findings.extend(selected(result.findings, file, selection))
    report.findings.sort(key=lambda f: f.sort_key)
    return report


def selected(findings: list[Finding], file: SourceFile, selection: Selection) -> list[Finding]:
    return [f for f in findings if selection.enabled(f.code, str(file.path))]


def _analyze_files(
    files: list[SourceFile],
    config: Config,
    jobs: int,
    cache: ResultStore | None,
    noqa: bool,
    overlays: Overlays,
    digests: FileDigests | None = None,
) -> Analysis:
    project_modules = frozenset(f.module for f in files if f.module)
    by_module = {f.module: f for f in files if f.module}
    incoming: dict[str, dict[str, CallSeed]] = {}
    # module -> its functions, reached from other modules, that return no traced value
    untraced_returns: dict[str, frozenset[str]] = {}
    static_exports: dict[str, frozenset[str]] = {}  # the same, for functions a package re-exports
    results: dict[SourceFile, ModuleResult] = {}
    given_classes: dict[SourceFile, tuple] = {}  # the other modules' classes each file was last analyzed with
    pending = list(files)
    keys = _Keys(project_modules, noqa, digests) if cache is not None else None
    first = [Task(f, (), project_modules, config, noqa, overlay=overlays.get(f.path)) for f in files]
    first_keys = [keys.key(task) for task in first] if keys is not None else None
    # A re-run with nothing changed: the whole run's results at once, without loading
    # each module's entry, its calls into other modules, or the analyzer.
    run_key = _run_key(first_keys) if first_keys is not None else None
    stored = cache.get_run(run_key) if cache is not None and run_key is not None else None
    rules: dict[str, RuleInfo] | None = None
    if isinstance(stored, dict) and len(stored.get("results", ())) == len(files) and "rules" in stored:
        results = dict(zip(files, stored["results"], strict=True))
        pending = []
        rules = stored["rules"]
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
                        f,
                        tuple(sorted(incoming.get(f.module or "", {}).values(), key=repr)),
                        project_modules,
                        config,
                        noqa,
                        _untraced_callees(results.get(f), untraced_returns, static_exports),
                        given_classes.get(f, ()),
                        overlay=overlays.get(f.path),
                    )
                    for f in pending
                ]
                known_keys = None
            for task, result in zip(tasks, _run_cached(tasks, workers, cache, keys, known_keys), strict=True):
                results[task.file] = result
            seeded = _new_seeds(pending, results, incoming, by_module)
            informed = _callers_of_changed_returns(pending, results, untraced_returns, files)
            if round_number == 0:  # every module's annotations and re-exports are known from the first round
                static_exports = _static_exports(results)
                exported = {(module, name) for module, names in static_exports.items() for name in names}
                informed |= _callers_of(exported, results, files)
            subclassing = _users_of_changed_classes(results, given_classes)
            pending = sorted(set(seeded) | informed | subclassing, key=lambda f: f.display)
        rules = rules or workers.rule_infos()
    if cache is not None:
        if stored is None and run_key is not None and not any(r.internal_error for r in results.values()):
            record = {
                "results": [ModuleResult(results[f].findings) for f in files],
                "rules": rules,  # what the output needs, without importing the rules
            }
            cache.put_run(run_key, record)
        cache.save()
    return Analysis(results, rules)


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
    untraced_returns: dict[str, frozenset[str]],
    files: list[SourceFile],
) -> set[SourceFile]:
    """Record which functions reached from other modules return no traced value; return the
    modules calling one whose answer changed (they assumed "traced in, traced out")."""
    changed: set[tuple[str, str]] = set()
    for file in analyzed:
        if file.module is None:
            continue
        now = results[file].untraced_returns
        before = untraced_returns.get(file.module, frozenset())
        if now != before:
            untraced_returns[file.module] = now
            changed |= {(file.module, function) for function in now ^ before}
    return _callers_of(changed, results, files)


def _callers_of(
    functions: set[tuple[str, str]], results: dict[SourceFile, ModuleResult], files: list[SourceFile]
) -> set[SourceFile]:
    """The modules that call one of ``functions``, ``(module, function)`` pairs."""
    if not functions:
        return set()
    return {
        file
        for file in files
        if file in results and any((call.module, call.function) in functions for call in results[file].outgoing)
    }


def _static_exports(results: dict[SourceFile, ModuleResult]) -> dict[str, frozenset[str]]:
    """The functions annotated to return a Python value (``-> bool``) that a package re-exports
    (``netket.jax.tree_leaf_isreal`` for ``netket.jax._utils_tree``'s), by the re-exporting module:
    a call through the re-export returns no tracer either. Only the annotation travels: the
    function is not analyzed for such callers, as a traced callee would be."""
    annotated = {
        f"{file.module}.{name}" for file, result in results.items() if file.module for name in result.static_functions
    }
    exports = {name: target for result in results.values() for name, target in result.exports.items()}
    found: dict[str, set[str]] = {}
    for name in exports:
        if _followed(name, exports, annotated) in annotated:
            module, _, function = name.rpartition(".")
            found.setdefault(module, set()).add(function)
    return {module: frozenset(names) for module, names in found.items()}


def _followed(name: str, exports: dict[str, str], defined: set[str] | dict) -> str:
    """What a re-exported name stands for: its target, through re-exports of re-exports."""
    target, hops = exports[name], 0
    while target not in defined and target in exports and hops < 8:
        target, hops = exports[target], hops + 1
    return target


def _users_of_changed_classes(
    results: dict[SourceFile, ModuleResult], given: dict[SourceFile, tuple]
) -> set[SourceFile]:
    """The modules that name a class of another module whose summary they have not seen yet:
    a base class that turns out to be a Module, an annotation of a Module or an Enum."""
    from jaxpure.analysis.contexts import resolve_frameworks

    wanting = [file for file, result in results.items() if result.wanted_classes]
    if not wanting:
        return set()
    defined = {name: summary for result in results.values() for name, summary in result.classes.items()}
    exports = {name: target for result in results.values() for name, target in result.exports.items()}
    for name in exports:
        target = _followed(name, exports, defined)
        if target in defined and name not in defined:
            defined[name] = defined[target]
    table = resolve_frameworks(defined)
    changed = set()
    for file in wanting:
        # What a module was given stays given: what it wants depends on what it knows (a base class
        # found to be a Module is no longer asked about), and dropping it would undo that.
        merged = dict(given.get(file, ()))
        merged.update(
            (name, table[name]) for name in results[file].wanted_classes if name in table and table[name].informative
        )
        known = tuple(sorted(merged.items()))
        if known != given.get(file, ()):
            given[file] = known
            changed.add(file)
    return changed


def _untraced_callees(
    result: ModuleResult | None, untraced_returns: dict[str, frozenset[str]], static_exports: dict[str, frozenset[str]]
) -> frozenset[str]:
    """The functions a module called last time that are known to return no traced value."""
    if result is None:
        return frozenset()
    return frozenset(
        f"{call.module}:{call.function}"
        for call in result.outgoing
        if call.function in untraced_returns.get(call.module, ())
        or call.function in static_exports.get(call.module, ())
    )


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
    for position, result in zip(missing, workers.map([tasks[i] for i in missing]), strict=True):
        results[position] = result
        key = task_keys[position]
        if cache is not None and key is not None and result.internal_error is None:
            cache.put(key, result)
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
        untraced_returns = sorted(task.untraced_returns)
        classes = repr(_stable(task.project_classes))
        identity = (file.display, file.module, file.is_package, seeds, untraced_returns, classes, kind, self.shared)
        return content_key(data, repr(identity))

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
