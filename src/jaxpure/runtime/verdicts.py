"""Turning what a child process reported, and how it ended, into one ``RuntimeResult`` per finding."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from jaxpure.findings import RuntimeResult
from jaxpure.runtime.isolation import ChildRun
from jaxpure.runtime.protocol import ABORT, BEGIN, PHASE, RESULT, FindingTask, ModuleRequest

SKIPPED = "skipped"


def module_results(request: ModuleRequest, run: ChildRun, output_limit: int) -> dict[int, RuntimeResult]:
    """A result for every task: the child's own verdict, else why it has none."""
    tasks, device = request.tasks, request.device
    results: dict[int, RuntimeResult] = {}
    running: FindingTask | None = None
    phase = "starting"
    abort_reason: str | None = None
    by_id = {task.id: task for task in tasks}
    for event in run.events:
        kind = event["event"]
        if kind == PHASE:
            phase = event["phase"]
        elif kind == BEGIN:
            running = by_id.get(event["id"])
        elif kind == RESULT:
            results[event["id"]] = RuntimeResult(event["status"], device, event["evidence"])
            running = None
        elif kind == ABORT:
            abort_reason = event["reason"]
    if run.flooded:  # whatever finished, a flood skips the module: the same verdict on every run
        results.clear()
        running = None
    if abort_reason is None and len(results) < len(tasks):
        abort_reason = _ending(run, f"running {running.where}" if running else phase, request, output_limit)
    for task in tasks:
        if task.id not in results:
            reason = abort_reason if task is running or running is None else f"not run: {abort_reason}"
            results[task.id] = RuntimeResult(SKIPPED, device, reason or "the child process reported nothing")
    return results


def _ending(run: ChildRun, doing: str, request: ModuleRequest, output_limit: int) -> str:
    """Why a child stopped before reporting everything, in words a user can act on."""
    if run.timed_out:
        where = _user_frame(run.output_tail, request.file)
        where = f" ({where})" if where else ""
        return (
            f"timed out after {request.timeout:g} s while {doing}{where}; "
            "raise [tool.jaxpure.runtime] timeout if it is just slow"
        )
    if run.flooded:
        return (
            f"the module wrote more than {output_limit / (1 << 20):g} MiB of output while {doing}; jaxpure stopped it"
        )
    code, tail = run.returncode, run.output_tail
    if code is not None and code < 0:
        return f"the child process crashed with {_signal_name(-code)} while {doing}{_fatal_error(tail, request.file)}"
    if code:
        how = "os._exit, or a crash in native code"
        return f"the process exited with status {code} while {doing} ({how}){_last_line(tail)}"
    return f"the child process stopped without reporting while {doing}{_last_line(tail)}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_FAULT_LINE = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')
_LIBRARY_PATH = re.compile(r"site-packages|/lib/python|/jaxpure/|^<")


def _fatal_error(tail: str, file: str) -> str:
    """faulthandler's verdict and where the user's code was, if it printed them."""
    fatal = next((line.strip() for line in tail.splitlines() if line.startswith("Fatal Python error")), "")
    where = _user_frame(tail, file)
    return f" ({'; '.join(filter(None, [fatal, where]))})" if fatal or where else ""


def _user_frame(tail: str, file: str) -> str:
    """``at mod.py:12 in step``: in a faulthandler dump, the innermost frame of the main thread
    (the one that ran the child's bootstrap) in the user's module, else outside any library."""
    blocks = re.split(r"^(?:Current thread|Thread) 0x[0-9a-f]+ \(most recent call first\):$", tail, flags=re.M)[1:]
    main = next((block for block in blocks if '"<string>", line 1 in <module>' in block), blocks[-1] if blocks else "")
    frames = _FAULT_LINE.findall(main)  # innermost first
    mine = [f for f in frames if f[0] == file] or [f for f in frames if not _LIBRARY_PATH.search(f[0])]
    return f"at {Path(mine[0][0]).name}:{mine[0][1]} in {mine[0][2]}" if mine else ""


def _last_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return f"; last output: {lines[-1][:200]!r}" if lines else ""
