"""``jaxpure check --runtime --run CMD``: the user's command, and notebooks, run under the watch.

The jaxpure process never imports JAX. For each command it writes a plan
(``plan.py``), starts the command in a shell, in its own process group, with
``bootstrap/`` first on ``PYTHONPATH`` (every Python process of the command
starts the agent), sends the command's output to jaxpure's stderr, and reads
the events file when the command ends or its ``timeout`` passes. A finding
gets the best verdict any process gave it (confirmed, then not-reproduced,
then skipped); a finding that a process reached but never judged because it
crashed or hung is skipped with that reason. Findings no run reached are
left to the import path (SPEC §5).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from jaxpure.findings import RuntimeResult
from jaxpure.runtime.device import CANDIDATES
from jaxpure.runtime.watch.plan import (
    BEGIN,
    FINISHED,
    NOTE,
    PLAN_VARIABLE,
    REACHED,
    RESULT,
    ROOT_VARIABLE,
    STARTED,
    WatchedFinding,
    WatchPlan,
)  # fmt: skip

BOOTSTRAP = str(Path(__file__).resolve().parent / "bootstrap")
PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
_RANK = {"confirmed": 0, "not-reproduced": 1, "skipped": 2}


@dataclass
class CommandRun:
    """What one command's processes reported."""

    command: str
    results: dict[int, RuntimeResult] = field(default_factory=dict)
    reached: dict[int, str] = field(default_factory=dict)  # id -> via
    unfinished: dict[int, str] = field(default_factory=dict)  # id -> why it got no verdict
    notes: list[str] = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    file: str | None = None  # the notebook it ran, for a notebook's run


def run_watched(
    command: str,
    findings: list[WatchedFinding],
    *,
    device: str,
    timeout: float,
    cwd: str | None = None,
    label: str | None = None,
) -> CommandRun:
    """Run ``command`` (a shell command line) under the watch; the verdicts its processes gave."""
    label = label or command
    with tempfile.TemporaryDirectory(prefix="jaxpure-run-") as folder:
        events = Path(folder, "events.jsonl")
        plan_path = Path(folder, "plan.json")
        WatchPlan(str(events), device, label, findings).write(plan_path)
        started = time.monotonic()
        process = subprocess.Popen(
            command, shell=True, cwd=cwd, env=_environment(plan_path, device), stdin=subprocess.DEVNULL,
            stdout=_error_stream(), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        run = CommandRun(label)
        try:
            run.returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.timed_out = True
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        run.seconds = time.monotonic() - started
        if run.returncode is None:
            run.returncode = process.returncode
        _read_events(run, events, timeout)
        return run


def notebook_command(path: str) -> str:
    """The command that runs a notebook's cells under the watch."""
    return f"{_quote(sys.executable)} -m jaxpure.runtime.watch.notebook {_quote(os.path.abspath(path))}"


def merge(runs: list[CommandRun]) -> dict[int, RuntimeResult]:
    """The best verdict per finding over every run; findings reached but unjudged are skipped with why."""
    best: dict[int, RuntimeResult] = {}
    for run in runs:
        for id, result in run.results.items():
            if id not in best or _RANK[result.status] < _RANK[best[id].status]:
                best[id] = result
    for run in runs:
        for id, why in run.unfinished.items():
            best.setdefault(
                id,
                RuntimeResult("skipped", "", why, via=run.reached.get(id, run.command)),
            )
    return best


def _environment(plan: Path, device: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [BOOTSTRAP, env.get("PYTHONPATH")]))
    env[PLAN_VARIABLE] = str(plan)
    env[ROOT_VARIABLE] = PACKAGE_ROOT
    env["JAX_PLATFORMS"] = CANDIDATES[device][0]
    return env


def _error_stream():
    """jaxpure's stderr, where the command's output goes (never jaxpure's stdout)."""
    try:
        return sys.stderr.fileno()
    except (
        AttributeError,
        OSError,
        ValueError,
    ):  # stderr replaced (tests): drop the command's output
        return subprocess.DEVNULL


def _read_events(run: CommandRun, path: Path, timeout: float) -> None:
    started, finished = set(), set()
    begun: dict[int, int] = {}  # id -> pid of the experiment in progress
    reached_by: dict[int, int] = {}
    with contextlib.suppress(FileNotFoundError):
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(text)
            except json.JSONDecodeError:
                continue
            kind, pid = event.get("event"), event.get("pid")
            if kind == STARTED:
                started.add(pid)
            elif kind == FINISHED:
                finished.add(pid)
            elif kind == REACHED:
                run.reached.setdefault(event["id"], event["via"])
                reached_by.setdefault(event["id"], pid)
            elif kind == BEGIN:
                begun[event["id"]] = pid
            elif kind == RESULT:
                run.results.setdefault(
                    event["id"],
                    RuntimeResult(event["status"], "", event["evidence"], via=event["via"]),
                )
            elif kind == NOTE:
                run.notes.append(event["text"])
    for id in run.reached:
        if id in run.results:
            continue
        pid = begun.get(id, reached_by.get(id))
        if pid in finished:
            continue  # the process ended normally without a verdict: the import path may give one
        doing = "while running the experiment" if id in begun else "after this line ran"
        hint = "; raise [tool.jaxpure.runtime] timeout if it is just slow" if run.timed_out else ""
        run.unfinished[id] = f"{_ending(run, timeout)} {doing}{hint}"


def _ending(run: CommandRun, timeout: float) -> str:
    if run.timed_out:
        return f"`{run.command}` timed out after {timeout:g} s"
    code = run.returncode
    number = -code if code is not None and code < 0 else (code - 128 if code and code > 128 else None)
    if number is not None:  # killed by a signal: the command itself, or the program its shell ran
        with contextlib.suppress(ValueError):
            return f"`{run.command}` crashed with {signal.Signals(number).name}"
    return f"a process of `{run.command}` ended without reporting (a crash, or os._exit)"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
