"""Runtime confirmation (``jaxpure check --runtime``): run each flagged function for real.

The main process never imports JAX: every module's experiments run in a
child process of their own (``jaxpure.runtime.child``), which is the only
place that imports JAX and the user's code. See docs/runtime.md.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from jaxpure.findings import Finding, RuntimeResult
from jaxpure.runtime.device import CANDIDATES
from jaxpure.runtime.isolation import OUTPUT_LIMIT, ChildRun, run_child
from jaxpure.runtime.modules import locate_module
from jaxpure.runtime.protocol import TIMING, FindingTask, ModuleRequest
from jaxpure.runtime.rules import RULE_EXPERIMENTS
from jaxpure.runtime.verdicts import SKIPPED, module_results

__all__ = ["RULE_EXPERIMENTS", "ModuleRun", "confirm", "run_modules"]


@dataclass
class ModuleRun:
    """One child process: the module it ran, its findings' results, and what it cost."""

    request: ModuleRequest
    child: ChildRun
    results: dict[int, RuntimeResult]

    @property
    def timings(self) -> dict[str, float]:
        """Start-up costs the child measured (``jax_import``, ``module_import``, ...) and per-finding seconds."""
        found = {event["name"]: event["seconds"] for event in self.child.events if event["event"] == TIMING}
        found.update({f"finding {e['id']}": e["seconds"] for e in self.child.events if e["event"] == "result"})
        found["child_wall"] = self.child.seconds
        return found


def confirm(
    findings: list[Finding],
    *,
    device: str = "cpu",
    timeout: float = 60.0,
    examples: str | None = None,
    run: tuple[str, ...] | list[str] = (),
) -> list[Finding]:
    """The same findings, in the same order, each with ``.runtime`` set.

    ``timeout`` bounds each module's child process (and each ``run`` command) in
    seconds; ``examples`` is the path of a runtime examples file; ``run`` holds
    the user's commands (``pytest tests/``) whose processes are watched (SPEC §9).
    Notebooks run cell by cell. What no run judged goes through the import path (§5).
    """
    if device not in CANDIDATES:
        raise ValueError(f"unknown device {device!r}; use one of {', '.join(CANDIDATES)}")
    from jaxpure.runtime.watch import confirm_through_runs

    results = confirm_through_runs(findings, list(run), device=device, timeout=timeout)
    rest = [index for index in range(len(findings)) if index not in results]
    if rest:
        imported = _confirm_by_import([findings[i] for i in rest], device, timeout, examples)
        for index, result in zip(rest, imported, strict=True):
            results[index] = dataclasses.replace(result, via="import")
    return [finding.with_runtime(results[index]) for index, finding in enumerate(findings)]


def _confirm_by_import(
    findings: list[Finding], device: str, timeout: float, examples: str | None
) -> list[RuntimeResult]:
    results: dict[int, RuntimeResult] = {}
    tasks_by_file: dict[str, list[FindingTask]] = defaultdict(list)
    for index, finding in enumerate(findings):
        reason = _not_runnable(finding)
        if reason:
            results[index] = RuntimeResult(SKIPPED, device, reason)
        else:
            tasks_by_file[os.path.abspath(finding.path)].append(FindingTask.from_finding(index, finding))
    requests = [_request(file, tasks, device, examples, timeout) for file, tasks in tasks_by_file.items()]
    for module_run in run_modules(requests):
        results.update(module_run.results)
    return [results[index] for index in range(len(findings))]


def run_modules(requests: list[ModuleRequest], jobs: int | None = None) -> list[ModuleRun]:
    """Run every module's child, ``jobs`` at a time (default: one per core); one module's failure
    never stops the others."""

    def run_one(request: ModuleRequest) -> ModuleRun:
        child = run_child(request)
        return ModuleRun(request, child, module_results(request, child, OUTPUT_LIMIT))

    workers = max(1, min(len(requests), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_one, requests))


def _request(file: str, tasks: list[FindingTask], device: str, examples: str | None, timeout: float) -> ModuleRequest:
    location = locate_module(file)
    return ModuleRequest(
        module=location.name,
        search_path=location.search_path,
        file=location.file,
        device=device,
        examples=os.path.abspath(examples) if examples else None,
        timeout=timeout,
        tasks=tasks,
    )


def _not_runnable(finding: Finding) -> str | None:
    """Why no experiment can run for this finding, before starting any process."""
    if finding.code not in RULE_EXPERIMENTS:
        return f"no runtime experiment confirms {finding.code}"
    if not os.path.isfile(finding.path):
        return f"{finding.path} is not a file that can be imported"
    if finding.path.endswith(".ipynb"):
        return "no cell of the notebook reached this line when its cells ran in order"
    if finding.trace.function is None:
        return "module-level code: --runtime runs functions, not the module body"
    return None
