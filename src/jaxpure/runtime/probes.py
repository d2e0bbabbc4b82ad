"""Watching a line of user code while it runs: how often it ran, and what it printed, logged or warned.

A ``LineProbe`` uses ``sys.settrace`` with a local tracer only for frames
of the user's file, so JAX's own frames cost one cheap check each.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field

from jaxpure.runtime.compare import snapshot

KEEP_CHARACTERS = 2000  # of captured output, enough for the evidence


class _Capture(io.TextIOBase):
    """Keeps the first characters written, and passes everything on (so the output cap still counts it)."""

    def __init__(self, downstream):
        self.text = ""
        self._downstream = downstream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if len(self.text) < KEEP_CHARACTERS:
            self.text += text[: KEEP_CHARACTERS - len(self.text)]
        self._downstream.write(text)
        return len(text)


class _Records(logging.Handler):
    def __init__(self, probe: LineProbe):
        super().__init__(level=1)
        self._probe = probe

    def emit(self, record: logging.LogRecord) -> None:
        if self._probe.covers(record.pathname, record.lineno):
            self._probe.log_records.append(f"{record.levelname}:{record.name}:{record.getMessage()}")


@dataclass
class LineProbe:
    """Counts runs of ``line`` in ``file`` and collects the effects that happened while it ran."""

    file: str
    line: int
    end_line: int
    watch: str | None = None  # an expression (``x`` of ``x.sort()``) to read before and after the line
    function: str | None = None  # qualname of the function holding the line, when known
    printed: list[str] = field(default_factory=list)  # text written while the line ran
    log_records: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    watched: list[tuple] = field(default_factory=list)  # (before, after) snapshots of ``watch``

    def covers(self, filename: str, lineno: int) -> bool:
        return self.line <= lineno <= self.end_line and _same_file(filename, self.file)

    @property
    def runs(self) -> int:
        """Runs of the line in its own function: a lambda written on the same line
        (``jax.jit(lambda y: y)(x)``) runs there too, but is not the statement."""
        return self._runs_in_function if self._function_seen else self._runs_anywhere

    def __enter__(self) -> LineProbe:
        self._runs_in_function = self._runs_anywhere = 0
        self._function_seen = False
        self._own_code: dict = {}
        self._open: tuple | None = None  # (frame, offset in the captured text) while the line runs
        self._saved_streams = (sys.stdout, sys.stderr)
        self._saved_level, self._saved_trace = logging.root.level, sys.gettrace()
        self._output = _Capture(sys.stdout)
        sys.stdout = sys.stderr = self._output
        self._handler = _Records(self)
        logging.root.addHandler(self._handler)
        logging.root.setLevel(1)  # a logger.info() at trace time counts even if nobody shows it
        self._warnings = warnings.catch_warnings(record=True)
        self._caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc_info) -> None:
        sys.settrace(self._saved_trace)
        self._close_open_line()
        self._warnings.__exit__(*exc_info)
        self.warned += [
            f"{w.category.__name__}: {w.message}" for w in self._caught if self.covers(w.filename, w.lineno)
        ]
        logging.root.removeHandler(self._handler)
        sys.stdout, sys.stderr = self._saved_streams
        logging.root.setLevel(self._saved_level)

    @property
    def effects(self) -> list[str]:
        """Every effect seen, as short quotes."""
        return [*(repr(text.strip()) for text in self.printed if text.strip()), *self.log_records, *self.warned]

    def _on_call(self, frame, event, arg):
        code = frame.f_code
        if code not in self._own_code:
            self._own_code[code] = _same_file(code.co_filename, self.file)
        if not self._own_code[code]:
            return None
        self._function_seen = self._function_seen or code.co_qualname == self.function
        return self._on_line

    def _on_line(self, frame, event, arg):
        if self._open is not None and self._open[0] is frame:
            self._close_open_line()
        if event == "line" and frame.f_lineno == self.line:
            self._runs_anywhere += 1
            self._runs_in_function += frame.f_code.co_qualname == self.function
            self._open = (frame, len(self._output.text), self._read_watched(frame))
        return self._on_line

    def _close_open_line(self) -> None:
        if self._open is not None:
            frame, offset, before = self._open
            self.printed.append(self._output.text[offset:])
            if self.watch is not None:
                self.watched.append((before, self._read_watched(frame)))
            self._open = None

    def _read_watched(self, frame):
        if self.watch is None:
            return None
        try:
            return snapshot(eval(self.watch, frame.f_globals, frame.f_locals))  # a name or attribute chain
        except Exception:
            return None


_SAME: dict[tuple[str, str], bool] = {}


def _same_file(a: str, b: str) -> bool:
    if (a, b) not in _SAME:
        _SAME[a, b] = os.path.realpath(a) == os.path.realpath(b)
    return _SAME[a, b]
