"""What the parent tells every watched process, and what those processes report back (JSON files).

The parent writes one ``WatchPlan``; every Python process the user's command
starts reads it (its path is in ``JAXPURE_WATCH_PLAN``) and appends events,
one JSON object per line, to the plan's events file. Events carry the
process id, so a crash of one process can be told from the others.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jaxpure.runtime.protocol import FindingTask

PLAN_VARIABLE = "JAXPURE_WATCH_PLAN"
ROOT_VARIABLE = "JAXPURE_WATCH_ROOT"  # the folder holding the jaxpure package the agent imports

# Event kinds.
STARTED = "started"  # {"pid"}: a watched process began
REACHED = "reached"  # {"id", "via", "traced"}: a flagged line ran (first time in this process)
BEGIN = "begin"  # {"id", "via"}: an experiment starts
RESULT = "result"  # {"id", "status", "evidence", "via"}
NOTE = "note"  # {"text"}: something the user should know (a skipped magic, an agent failure)
FINISHED = "finished"  # {"pid"}: a watched process ended normally (its verdicts are all written)


@dataclass(frozen=True)
class WatchedFinding:
    """A finding as the watched process needs it: the task, and the file it sits in (a real path)."""

    file: str
    task: FindingTask


@dataclass(frozen=True)
class WatchPlan:
    events: str  # path of the events file
    device: str
    command: str  # the user's command, the ``via`` of anything not inside a pytest test
    findings: list[WatchedFinding] = field(default_factory=list)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> WatchPlan:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        findings = [
            WatchedFinding(
                item["file"],
                FindingTask(
                    **{
                        **item["task"],
                        "static_params": tuple(item["task"]["static_params"]),
                    }
                ),
            )
            for item in data.pop("findings")
        ]
        return cls(**data, findings=findings)

    def files(self) -> set[str]:
        return {finding.file for finding in self.findings}
