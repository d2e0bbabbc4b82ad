"""Guards the child puts up before running user code: one reporter, an output cap, a fork watch."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

from jaxpure.runtime.protocol import ABORT, PHASE

FLOOD_EXIT_STATUS = 3


class Reporter:
    """Appends events to the results file; only the original child process may write."""

    def __init__(self, path: Path):
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the child's lifetime
        self._pid = os.getpid()
        self.doing = "starting"

    def emit(self, event: str, **fields) -> None:
        if os.getpid() != self._pid:
            os._exit(0)  # a copy made by os.fork() in user code: it must not report, nor run on
        self._file.write(json.dumps({"event": event, **fields}) + "\n")
        self._file.flush()

    def phase(self, doing: str) -> None:
        self.doing = doing
        self.emit(PHASE, phase=doing)


class CappedOutput(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: discards text, and stops the child past a limit.

    Python-level floods are caught here, deterministically; floods written
    straight to the file descriptors are caught by the parent watching the file.
    """

    def __init__(self, reporter: Reporter, limit: int, shared: list[int]):
        self._reporter = reporter
        self._limit = limit
        self._written = shared  # one counter for stdout and stderr together

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._written[0] += len(text)
        if self._written[0] > self._limit:
            self._reporter.emit(
                ABORT,
                reason=f"the module wrote more than {self._limit / (1 << 20):g} MiB of output while "
                f"{self._reporter.doing}; jaxpure stopped it",
            )
            os._exit(FLOOD_EXIT_STATUS)
        return len(text)


class ForkWatch:
    """Counts os.fork() calls made in this process (user code must not start copies of it)."""

    def __init__(self):
        self.forks = 0
        if hasattr(os, "register_at_fork"):  # POSIX only; elsewhere there is no os.fork to watch
            os.register_at_fork(after_in_parent=self._count)

    def _count(self) -> None:
        self.forks += 1


def install_output_cap(reporter: Reporter, limit: int) -> None:
    shared = [0]
    sys.stdout = CappedOutput(reporter, limit, shared)
    sys.stderr = CappedOutput(reporter, limit, shared)
