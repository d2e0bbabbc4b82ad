"""The data every stage after analysis exchanges: findings and their runtime verdicts.

Findings are plain, picklable values (they cross process boundaries for
``--jobs`` and the cache); the libcst nodes they came from are not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


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


@dataclass(slots=True)
class Report:
    """The outcome of one ``jaxpure check`` run."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0  # files examined
    internal_errors: list[str] = field(default_factory=list)  # "path: message", one per failed file
