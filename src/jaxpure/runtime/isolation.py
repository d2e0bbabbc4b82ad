"""Running one module's experiments in a child process that cannot take jaxpure down with it.

The child gets its own session (process group), so a hang, a fork or a flood
of output is ended by killing the whole group; its stdout and stderr go to a
file that the parent only measures and reads the tail of (for a crash
report), never to jaxpure's own output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from jaxpure.runtime.device import CANDIDATES
from jaxpure.runtime.protocol import ModuleRequest, read_events

OUTPUT_LIMIT = 1 << 20  # bytes of stdout+stderr a module may write before it is stopped
POLL_SECONDS = 0.02
TAIL_BYTES = 4096


@dataclass
class ChildRun:
    """How a child process ended, and what it reported before that."""

    events: list[dict] = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    flooded: bool = False
    output_tail: str = ""
    seconds: float = 0.0


def run_child(request: ModuleRequest, output_limit: int = OUTPUT_LIMIT) -> ChildRun:
    """Run the child for ``request``, stopping it after ``request.timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="jaxpure-runtime-") as folder:
        request_path = Path(folder, "request.json")
        events_path = Path(folder, "events.jsonl")
        output_path = Path(folder, "output.txt")
        request.write(request_path)
        run = ChildRun()
        started = time.monotonic()
        with open(output_path, "wb") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-X",
                    "faulthandler",
                    "-c",
                    _BOOTSTRAP,
                    _package_root(),
                    str(request_path),
                    str(events_path),
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=_child_environment(request.device),
                start_new_session=True,  # its own process group: forks die with it
            )
            try:
                _watch(process, output_path, started + request.timeout, output_limit, run)
            finally:
                _kill_group(process)
        run.seconds = time.monotonic() - started
        run.returncode = process.returncode
        run.events = read_events(events_path)
        run.output_tail = _tail(output_path)
        return run


def _watch(process: subprocess.Popen, output_path: Path, deadline: float, limit: int, run: ChildRun) -> None:
    """Wait for the child, stopping it at the deadline or once its output passes ``limit``."""
    while True:
        try:
            process.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        else:
            run.flooded = output_path.stat().st_size > limit
            return
        if output_path.stat().st_size > limit:
            run.flooded = True
            return
        if time.monotonic() > deadline:
            run.timed_out = True
            return


def _kill_group(process: subprocess.Popen) -> None:
    """End the child and anything it forked; the group id is the child's pid."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # Windows: no process groups, and no fork either
            process.kill()
    process.wait()


def _child_environment(device: str) -> dict[str, str]:
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = CANDIDATES[device][0]  # the child tries the others (ROCm after CUDA) itself
    env["PYTHONIOENCODING"] = "utf-8"
    return env


# The child imports this very jaxpure (whatever the user's folders hold), then takes its
# folder off sys.path again so that it shadows nothing the user's code imports. Its results
# are on disk when main returns: os._exit skips JAX's teardown (a quarter second) and user atexit hooks.
_BOOTSTRAP = (
    "import os, sys; root = sys.argv[1]; sys.path.insert(0, root); import jaxpure; sys.path.remove(root); "
    "from jaxpure.runtime.child import main; os._exit(main(sys.argv[2:]))"
)


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _tail(path: Path) -> str:
    with open(path, "rb") as file:
        file.seek(max(0, file.seek(0, os.SEEK_END) - TAIL_BYTES))
        return file.read().decode("utf-8", errors="replace")
