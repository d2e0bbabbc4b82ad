"""The data every stage exchanges: findings, their runtime verdicts, rule metadata, a run's report.

Findings are plain, picklable values (they cross process boundaries for
``--jobs`` and the cache); the libcst nodes they came from are not kept.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class RuntimeResult:
    """What ``--runtime`` found when it ran the flagged function for real."""

    status: str  # "confirmed" | "not-reproduced" | "skipped"
    device: str
    evidence: str
    via: str | None = None  # where the evidence came from: "import", "pytest tests/t.py::test_x", "cell 3"

    def to_json(self) -> dict:
        data = {"status": self.status, "device": self.device, "evidence": self.evidence}
        if self.via is not None:
            data["via"] = self.via
        return data

    @property
    def source(self) -> str:
        """`` via pytest tests/t.py::test_x`` for the text formats; empty when unknown."""
        return f" via {self.via}" if self.via else ""


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """Where a finding sits with respect to tracing, for runtime confirmation.

    ``function`` and ``root`` are Python ``__qualname__`` strings within the
    module (``Model.__call__``, ``step.<locals>.body``). ``root`` is the
    outermost traced function that reaches ``function`` (itself for a root);
    it is ``None`` when the function is not reached from a named function
    (a lambda handed to a transform at module level, module-level code).
    """

    function: str | None
    transform: str | None = None  # qualified transform name, e.g. "jax.jit"
    kind: str | None = None  # "staging" | "differentiation" | None (untraced)
    root: str | None = None
    static_params: tuple[str, ...] = ()  # static parameters of ``root``


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int  # 1-based, exclusive
    code: str
    message: str
    trace: TraceInfo = field(default_factory=lambda: TraceInfo(None))
    fixable: bool = False
    runtime: RuntimeResult | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code)

    def with_runtime(self, result: RuntimeResult) -> Finding:
        return replace(self, runtime=result)

    def with_path(self, path: str) -> Finding:
        return replace(self, path=path)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's metadata as output formats show it."""

    code: str
    name: str  # kebab-case, e.g. "print-in-traced-function"
    severity: str  # "error" | "warning"
    summary: str  # one line
    message: str  # the finding message, which names the fix
    documentation: str  # markdown: what it does, why it is bad, example, use instead

    @classmethod
    def unknown(cls, code: str) -> RuleInfo:
        # A code missing from the registry is a bug elsewhere; output still names it rather than crash.
        return cls(code, code.lower(), "error", code, "", "")


@dataclass(slots=True)
class Report:
    """The outcome of one ``jaxpure check`` run."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0  # files examined
    internal_errors: list[str] = field(default_factory=list)  # "path: message", one per failed file
    # Every rule's metadata, for the output: carried with the results so that a run answered from
    # the cache needs neither libcst nor the rules.
    rules: dict[str, RuleInfo] = field(default_factory=dict)


ReadLine = Callable[[str, int], str]


class FindingKey(NamedTuple):
    """What a finding is, not where: it survives edits elsewhere in the file (baseline, SARIF)."""

    path: str  # "/"-separated, relative to a root folder
    code: str
    source: str  # the flagged line, stripped
    occurrence: int  # 0 for the first finding with this path, code and source


def finding_keys(findings: Sequence[Finding], read_line: ReadLine, root: Path) -> list[FindingKey]:
    """The key of each finding, in the order given; occurrences count in line order."""
    keys: dict[int, FindingKey] = {}
    seen: Counter[tuple[str, str, str]] = Counter()
    for index in sorted(range(len(findings)), key=lambda index: findings[index].sort_key):
        finding = findings[index]
        identity = (_relative_path(finding.path, root), finding.code, read_line(finding.path, finding.line).strip())
        keys[index] = FindingKey(*identity, seen[identity])
        seen[identity] += 1
    return [keys[index] for index in range(len(findings))]


def _relative_path(path: str, root: Path) -> str:
    try:
        return Path(os.path.relpath(os.path.abspath(path), root)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(os.path.abspath(path)).as_posix()
