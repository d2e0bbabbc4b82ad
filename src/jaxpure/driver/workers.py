"""Parallel runs: the analysis of many modules spread over worker processes.

A process pool only when it pays; otherwise the tasks run here. A worker that
dies (killed for memory, a crash in native code) costs its files an internal
error each, not the run.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from jaxpure.config import Config
from jaxpure.driver.modules import GC_THRESHOLD, ModuleResult, ParsedModules, Task, run_task
from jaxpure.files.discovery import SourceFile
from jaxpure.findings import RuleInfo

if TYPE_CHECKING:
    from jaxpure.analysis.contexts import CallSeed, ClassSummary

    # A task without what every task shares: file, seeds, untraced returns, other modules' classes, overlay.
    _WorkItem = tuple[
        SourceFile, tuple[CallSeed, ...], frozenset[str], tuple[tuple[str, ClassSummary], ...], str | bytes | None
    ]


class Workers:
    """A process pool when it pays (several jobs and enough files), otherwise in-process.

    Workers get what every task of the run shares (project modules, config,
    noqa) once, when they start, and then each task as a file and what other
    modules tell it. Tasks go out largest file first (small files in batches),
    so that no worker is left with a long tail of big modules while the other
    is idle.
    """

    def __init__(self, jobs: int, files: int, shared: tuple[frozenset[str], Config, bool]) -> None:
        self.jobs = max(1, min(jobs, files // 4 or 1))
        self.shared = shared
        self.pool: ProcessPoolExecutor | None = None
        # The rules' metadata for the output, built by a worker (which has the rules imported anyway):
        # here it would cost importing libcst and every rule at the end of the run, with no worker busy.
        self.rule_metadata: Future | None = None
        self.parsed = ParsedModules()  # for the tasks run here (each worker keeps its own)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def map(self, tasks: list[Task]) -> list[ModuleResult]:
        # Starting workers pays for a few modules' worth of work; once they run, every task goes to
        # them (one analyzed here would import libcst and the analyzer into this process).
        if self.jobs == 1 or (self.pool is None and len(tasks) < 8):
            return [run_task(task, self.parsed) for task in tasks]
        assert all((t.project_modules, t.config, t.noqa) == self.shared for t in tasks)
        if self.pool is None:
            # The analyzer (and libcst) is imported by each worker, at the same time, not first here.
            self.pool = ProcessPoolExecutor(
                self.jobs, mp_context=_safe_context(), initializer=_start_worker, initargs=self.shared
            )
            self.rule_metadata = self.pool.submit(_rule_infos)
        order = sorted(range(len(tasks)), key=lambda i: -_size(tasks[i].file))
        results: list[ModuleResult | None] = [None] * len(tasks)
        batches = _batches(order, tasks)
        items = [[_work_item(tasks[i]) for i in batch] for batch in batches]
        try:
            for batch, batch_results in zip(batches, self.pool.map(_run_batch_in_worker, items), strict=True):
                for position, result in zip(batch, batch_results, strict=True):
                    results[position] = result
        except BrokenProcessPool:  # a worker died (killed for memory, a crash in native code)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
            for position in order:
                if results[position] is None:
                    results[position] = self._isolated(tasks[position])
        return results  # type: ignore[return-value]

    def rule_infos(self) -> dict[str, RuleInfo]:
        """Every rule's metadata: the one a worker built, if one did."""
        if self.rule_metadata is not None:
            try:
                return self.rule_metadata.result()
            except Exception:  # a broken pool: import the rules here
                pass
        return _rule_infos()

    def _isolated(self, task: Task) -> ModuleResult:
        """One task in a worker of its own: a file that kills its worker is reported, not fatal."""
        try:
            with ProcessPoolExecutor(
                1, mp_context=_safe_context(), initializer=_start_worker, initargs=self.shared
            ) as pool:
                return pool.submit(_run_in_worker, _work_item(task)).result()
        except BrokenProcessPool:
            return ModuleResult(
                internal_error="the worker process analyzing this file died (out of memory, or a crash)"
            )


def _safe_context():
    """The platform's default start method, except off the main thread (the language server's analysis
    thread): forking a process with other threads running can copy a lock one of them holds, and the
    worker then waits on it forever. There, workers come from a fork server (a clean process that
    ``prepare_fork_server`` can start early, with the analyzer imported), or are spawned."""
    if threading.current_thread() is threading.main_thread():
        return None
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def prepare_fork_server() -> None:
    """Start the fork server now, with the analyzer imported: workers forked from it later start at once.

    For a long-lived process whose runs happen off the main thread (the language server), called on
    its main thread before any other thread starts.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(
        ["jaxpure.driver.modules", "jaxpure.analysis.analyzer", "jaxpure.analysis.rules", "jaxpure.fixes"]
    )
    forkserver.ensure_running()


_SHARED: tuple[frozenset[str], Config, bool] | None = None
_PARSED = ParsedModules()  # a worker's parses, for its later tasks of the run (it ends with the run)


def _start_worker(project_modules: frozenset[str], config: Config, noqa: bool) -> None:
    global _SHARED
    _SHARED = (project_modules, config, noqa)
    gc.set_threshold(max(gc.get_threshold()[0], GC_THRESHOLD), *gc.get_threshold()[1:])


# Small files go to the workers several at a time: one round trip per file costs the
# parent's CPU and leaves a worker waiting for its next file (measured on the corpus).
_BATCH_BYTES = 32 * 1024


def _batches(order: list[int], tasks: list[Task]) -> list[list[int]]:
    """``order``'s positions cut into runs of at least ``_BATCH_BYTES`` of source (a large file alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for position in order:
        current.append(position)
        size += _size(tasks[position].file)
        if size >= _BATCH_BYTES:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


def _run_batch_in_worker(items: list[_WorkItem]) -> list[ModuleResult]:
    return [_run_in_worker(item) for item in items]


def _rule_infos() -> dict[str, RuleInfo]:
    from jaxpure.analysis.rules import rule_infos

    return rule_infos()


def _work_item(task: Task) -> _WorkItem:
    return task.file, task.incoming, task.untraced_returns, task.project_classes, task.overlay


def _run_in_worker(item: _WorkItem) -> ModuleResult:
    file, incoming, untraced_returns, project_classes, overlay = item
    assert _SHARED is not None
    return run_task(Task(file, incoming, *_SHARED, untraced_returns, project_classes, overlay), _PARSED)


def _size(file: SourceFile) -> int:
    try:
        return file.path.stat().st_size
    except OSError:
        return 0
