"""The pipeline: discover → read → index → traced contexts → rules → suppress → report.

``analyze_text`` checks one module's text (the flake8 plugin and the fixer
use it directly). ``check_files`` checks a whole project: every module is
analyzed on its own (in parallel workers, or from the cache), then modules
that traced code in other modules calls into are analyzed again with those
calls as seeds, until nothing new is reached.
"""

from __future__ import annotations

import ast
import os
import re
import traceback
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import libcst as cst

from jaxpure import __version__, catalog
from jaxpure.analyzer import CallSeed, ModuleAnalyzer
from jaxpure.cache import ResultCache, content_key
from jaxpure.config import Config
from jaxpure.discovery import SourceFile
from jaxpure.findings import Finding, Report
from jaxpure.index import build_index
from jaxpure.rules import RULES
from jaxpure.selection import Selection
from jaxpure.source import Unreadable, read_source, source_lines
from jaxpure.suppress import apply_noqa, skips_file

_MENTIONS_JAX = re.compile(r"\b(jax|flax|equinox|haiku)\b")
_MAX_ROUNDS = 8


@dataclass(slots=True)
class ModuleResult:
    findings: list[Finding] = field(default_factory=list)
    outgoing: list[CallSeed] = field(default_factory=list)
    internal_error: str | None = None


def unanalyzable(path: str, reason: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(path, line, column, line, column, "JP000", RULES["JP000"].format_message(reason=reason))


def mentions_jax(text: str, extra_modules: Iterable[str] = ()) -> bool:
    """The cheap gate: most files of a repository never touch JAX (TorchFix's trick)."""
    if _MENTIONS_JAX.search(text):
        return True
    return any(module in text for module in extra_modules)


def _extra_transforms(config: Config) -> dict[str, catalog.Transform]:
    return {
        name: catalog.Transform(name, kind, compiling=kind == catalog.STAGING)
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
) -> ModuleResult:
    """Every finding in one module's text (before select/ignore; after noqa unless ``noqa=False``)."""
    if skips_file(text):
        return ModuleResult()
    extra = _extra_transforms(config)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        return ModuleResult([unanalyzable(path, f"syntax error: {error.msg}", error.lineno or 1, error.offset or 1)])
    except (RecursionError, MemoryError):
        return ModuleResult([unanalyzable(path, "code too deeply nested to analyze")])
    except ValueError as error:  # e.g. "source code string cannot contain null bytes"
        return ModuleResult([unanalyzable(path, f"cannot parse: {error}")])
    if not mentions_jax(text, (name.split(".")[0] for name in extra)):
        return ModuleResult()
    try:
        index = build_index(tree, module, is_package, extra)
        lines = source_lines(text)
        analyzer = ModuleAnalyzer(
            path, lines, index, incoming, _project_lookup(project_modules), is_fixable=_fix_availability()
        )
        findings = analyzer.run()
    except cst.ParserSyntaxError as error:
        return ModuleResult([unanalyzable(path, f"syntax error (libcst): {error.message}", error.raw_line, error.raw_column + 1)])
    except RecursionError:
        return ModuleResult([unanalyzable(path, "code too deeply nested to analyze")])
    if noqa:
        findings = apply_noqa(findings, lines)
    return ModuleResult(findings, list(analyzer.outgoing.values()))


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
class _Task:
    file: SourceFile
    incoming: tuple[CallSeed, ...]
    project_modules: frozenset[str]
    config: Config
    noqa: bool


def _run_task(task: _Task) -> ModuleResult:
    """One module in a worker: never raises, so one bad file cannot stop the run."""
    file = task.file
    try:
        text = read_source(file.path)
        if isinstance(text, Unreadable):
            return ModuleResult([unanalyzable(file.display, text.reason, text.line, text.column)])
        if file.path.suffix == ".ipynb":
            return _run_notebook(task, text)
        return analyze_text(
            text, file.display, task.config, file.module, file.is_package,
            list(task.incoming), task.project_modules, task.noqa,
        )
    except Exception as error:  # noqa: BLE001 - reported per file, the run goes on
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
        return ModuleResult(internal_error=f"{type(error).__name__}: {error} (at {where})")


def _run_notebook(task: _Task, text: str) -> ModuleResult:
    from jaxpure import notebook

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
    cache: ResultCache | None = None,
    noqa: bool = True,
) -> Report:
    selection = selection or Selection(config)
    project_modules = frozenset(f.module for f in files if f.module)
    by_module = {f.module: f for f in files if f.module}
    incoming: dict[str, dict[str, CallSeed]] = {}
    results: dict[SourceFile, ModuleResult] = {}
    pending = list(files)
    with _Workers(jobs, len(files)) as workers:
        for _ in range(_MAX_ROUNDS):
            if not pending:
                break
            tasks = [
                _Task(f, tuple(sorted(incoming.get(f.module, {}).values(), key=repr)), project_modules, config, noqa)
                for f in pending
            ]
            for task, result in zip(tasks, _run_cached(tasks, workers, cache)):
                results[task.file] = result
            pending = _new_seeds(pending, results, incoming, by_module)
    if cache is not None:
        cache.save()
    report = Report(files=len(files))
    for file in files:
        result = results[file]
        if result.internal_error:
            report.internal_errors.append(f"{file.display}: {result.internal_error}")
        report.findings.extend(f for f in result.findings if selection.enabled(f.code, str(file.path)))
    report.findings.sort(key=lambda f: f.sort_key)
    return report


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


def _run_cached(tasks: list[_Task], workers: _Workers, cache: ResultCache | None) -> list[ModuleResult]:
    keys: list[str | None] = [None] * len(tasks)
    results: list[ModuleResult | None] = [None] * len(tasks)
    if cache is not None:
        for position, task in enumerate(tasks):
            key = _cache_key(task)
            keys[position] = key
            if key is not None:
                results[position] = cache.get(key)
    missing = [i for i, r in enumerate(results) if r is None]
    for position, result in zip(missing, workers.map(_run_task, [tasks[i] for i in missing])):
        results[position] = result
        if cache is not None and keys[position] is not None and result.internal_error is None:
            cache.put(keys[position], result)
    return results  # type: ignore[return-value]


def _cache_key(task: _Task) -> str | None:
    try:
        data = task.file.path.read_bytes()
    except OSError:
        return None
    context = repr((task.file.display, task.file.module, task.file.is_package, task.incoming,
                    sorted(task.project_modules), task.noqa))
    return content_key(data, context)


class _Workers:
    """A process pool when it pays (several jobs and enough files), otherwise in-process."""

    def __init__(self, jobs: int, files: int) -> None:
        self.jobs = max(1, min(jobs, files // 4 or 1))
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def map(self, function, items: list):
        if self.jobs == 1 or len(items) < 8:
            return [function(item) for item in items]
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.jobs)
        chunk = max(1, len(items) // (self.jobs * 8))
        return list(self.pool.map(function, items, chunksize=chunk))


def cache_namespace(config: Config) -> str:
    return f"{__version__}-{config.fingerprint()}"
