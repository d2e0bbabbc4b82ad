"""What the parent and the child process exchange, as JSON.

The parent writes one ``ModuleRequest`` to a file; the child appends one JSON
event per line to another file, flushing after each, so that whatever it
reported before a crash or a hang survives it. User code never sees either
file: its output goes to stdout/stderr, which the parent only watches.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jaxpure.findings import Finding

# Event kinds, in the order a healthy child emits them.
PHASE = "phase"  # {"phase": "..."}: what the child is doing now, for crash reports
BEGIN = "begin"  # {"id"}: an experiment starts
RESULT = "result"  # {"id", "status", "evidence", "seconds"}
ABORT = "abort"  # {"reason"}: every finding without a result is skipped for this reason
TIMING = "timing"  # {"name", "seconds"}: start-up costs, for docs/runtime.md


@dataclass(frozen=True)
class FindingTask:
    """The part of a finding that the child needs to run its experiment."""

    id: int
    code: str
    line: int
    end_line: int
    column: int
    end_column: int
    function: str | None
    root: str | None
    transform: str | None
    kind: str | None
    static_params: tuple[str, ...] = ()

    @classmethod
    def from_finding(cls, id: int, finding: Finding) -> FindingTask:
        trace = finding.trace
        return cls(
            id=id,
            code=finding.code,
            line=finding.line,
            end_line=finding.end_line,
            column=finding.column,
            end_column=finding.end_column,
            function=trace.function,
            root=trace.root,
            transform=trace.transform,
            kind=trace.kind,
            static_params=tuple(trace.static_params),
        )

    @property
    def where(self) -> str:
        return f"the {self.code} experiment for line {self.line}"


@dataclass(frozen=True)
class ModuleRequest:
    module: str
    search_path: str
    file: str
    device: str
    examples: str | None
    timeout: float = 60.0  # seconds the parent gives the child
    tasks: list[FindingTask] = field(default_factory=list)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ModuleRequest:
        data = json.loads(path.read_text(encoding="utf-8"))
        tasks = [FindingTask(**{**task, "static_params": tuple(task["static_params"])}) for task in data.pop("tasks")]
        return cls(**data, tasks=tasks)


def read_events(path: Path) -> list[dict]:
    """The events a child wrote; a torn last line (the child died mid-write) is dropped."""
    events: list[dict] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return events
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events
