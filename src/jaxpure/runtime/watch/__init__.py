"""Confirmation through the user's own runs (``--run``, and notebooks): SPEC §9, docs/runtime.md.

``parent.py`` runs each command (and each notebook, cell by cell) with the
``bootstrap/`` agent in every Python process; ``agent.py`` puts probes into
the flagged files and wraps JAX's transforms (``transforms.py``);
``observer.py`` and ``verdicts.py`` judge each finding, once, in the process
that reached it. Only the parent part is imported by jaxpure itself, and it
imports no JAX.
"""

from __future__ import annotations

import dataclasses
import os
import re
from concurrent.futures import ThreadPoolExecutor

from jaxpure.files.notebook import NotebookSource, extract, is_notebook
from jaxpure.findings import Finding, RuntimeResult
from jaxpure.runtime.protocol import FindingTask
from jaxpure.runtime.rules import RULE_EXPERIMENTS
from jaxpure.runtime.watch.parent import (
    CommandRun,
    merge,
    notebook_command,
    run_watched,
)
from jaxpure.runtime.watch.plan import WatchedFinding

__all__ = ["CommandRun", "confirm_through_runs", "watched_findings"]


def confirm_through_runs(
    findings: list[Finding], commands: list[str], *, device: str, timeout: float
) -> dict[int, RuntimeResult]:
    """Verdicts (by index in ``findings``) that the commands and the notebooks' own runs gave."""
    watched = watched_findings(findings)
    if not watched:
        return {}
    runs = [run_watched(command, watched, device=device, timeout=timeout) for command in commands]
    notebooks = sorted({w.file for w in watched if is_notebook(w.file)})

    def run_notebook(notebook: str) -> CommandRun:
        own = [w for w in watched if w.file == notebook]
        label = f"cell run of {os.path.basename(notebook)}"
        run = run_watched(notebook_command(notebook), own, device=device, timeout=timeout, label=label)
        run.file = notebook
        return run

    if notebooks:  # independent of each other: one per core, as modules are on the import path
        with ThreadPoolExecutor(max_workers=max(1, min(len(notebooks), os.cpu_count() or 1))) as pool:
            runs.extend(pool.map(run_notebook, notebooks))
    results = {
        index: dataclasses.replace(result, device=result.device or device) for index, result in merge(runs).items()
    }
    sources = {notebook: _cells_of(notebook) for notebook in notebooks}
    for item in watched:
        source, result = sources.get(item.file), results.get(item.task.id)
        if source is not None and result is not None:
            results[item.task.id] = dataclasses.replace(result, evidence=_in_cells(result.evidence, source))
    for run in runs[len(commands) :]:  # what no cell reached: say which cells raised, or the time ran out
        raised = [note for note in run.notes if note.startswith("cell ") and " raised " in note]
        stop = "; ".join(raised[:3]) + (f"; {len(raised) - 3} more cells raised" if len(raised) > 3 else "")
        if run.timed_out:
            stop = f"the cells did not finish within {timeout:g} s" + (f" ({stop})" if stop else "")
        for item in watched:
            if stop and item.task.id not in results and item.file == run.file:
                results[item.task.id] = RuntimeResult(
                    "skipped", device, f"no cell ran this line: {stop}", via=run.command
                )
    return results


_LINE = re.compile(r'(?<!", )\bline (\d+)\b')  # not a traceback's `File "x.py", line 3`


def _cells_of(notebook: str) -> NotebookSource | None:
    try:
        with open(notebook, encoding="utf-8") as file:
            return extract(file.read())
    except (OSError, ValueError):
        return None


def _in_cells(evidence: str, source: NotebookSource) -> str:
    """Evidence about a notebook with its lines as users see them (``cell 8, line 1``), not as
    lines of the cells' code joined into one module."""

    def in_cell(match: re.Match) -> str:
        where = source.locate(int(match.group(1)))
        return match.group(0) if where is None else f"cell {where.cell_number}, line {where.line}"

    return _LINE.sub(in_cell, evidence)


def watched_findings(findings: list[Finding]) -> list[WatchedFinding]:
    """The findings a run can judge: a rule with an experiment, in a file that exists."""
    return [
        WatchedFinding(os.path.realpath(finding.path), FindingTask.from_finding(index, finding))
        for index, finding in enumerate(findings)
        if finding.code in RULE_EXPERIMENTS and os.path.isfile(finding.path)
    ]
