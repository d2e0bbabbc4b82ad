"""Turning what a child process reported, and how it ended, into one ``RuntimeResult`` per finding."""

from __future__ import annotations

import re
import signal

from jaxpure.findings import RuntimeResult
from jaxpure.runtime.isolation import ChildRun
from jaxpure.runtime.protocol import ABORT, BEGIN, DEVICE, PHASE, RESULT, FindingTask

SKIPPED = "skipped"


def module_results(tasks: list[FindingTask], run: ChildRun, device: str, timeout: float, output_limit: int) -> dict[int, RuntimeResult]:
    """A result for every task: the child's own verdict, else why it has none."""
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
        elif kind == DEVICE:
            phase = "running experiments"
    if abort_reason is None and len(results) < len(tasks):
        abort_reason = _ending(run, running.where if running else phase, timeout, output_limit)
    for task in tasks:
        if task.id not in results:
            reason = abort_reason if task is running or running is None else f"not run: {abort_reason}"
            results[task.id] = RuntimeResult(SKIPPED, device, reason or "the child process reported nothing")
    return results


def _ending(run: ChildRun, doing: str, timeout: float, output_limit: int) -> str:
    """Why a child stopped before reporting everything, in words a user can act on."""
    if run.timed_out:
        return f"timed out after {timeout:g} s while {doing} (raise [tool.jaxpure.runtime] timeout if it is just slow)"
    if run.flooded:
        return f"the module wrote more than {output_limit / (1 << 20):g} MiB of output while {doing}; jaxpure stopped it"
    code = run.returncode
    if code is not None and code < 0:
        return f"the child process crashed with {_signal_name(-code)} while {doing}{_fatal_error(run.output_tail)}"
    if code:
        return f"the process exited with status {code} while {doing} (os._exit or a crash in native code){_last_line(run.output_tail)}"
    return f"the child process stopped without reporting while {doing}{_last_line(run.output_tail)}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_FAULT_LINE = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def _fatal_error(tail: str) -> str:
    """faulthandler's verdict and the innermost Python frame it printed, if any."""
    fatal = next((line.strip() for line in tail.splitlines() if line.startswith("Fatal Python error")), "")
    frames = _FAULT_LINE.findall(tail.split("Current thread", 1)[-1])  # innermost first
    # The user's own frame says more than the library function that did the crashing.
    own = [frame for frame in frames if "site-packages" not in frame[0] and "/lib/python" not in frame[0]]
    frame = (own or frames or [None])[0]
    where = f" at {frame[0]}:{frame[1]} in {frame[2]}" if frame else ""
    return f" ({fatal}{where})" if fatal else (f" ({where.strip()})" if where else "")


def _last_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return f"; last output: {lines[-1][:200]!r}" if lines else ""
