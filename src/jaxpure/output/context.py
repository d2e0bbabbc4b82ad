"""What every output format needs beyond the findings: options, source lines, rule metadata."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jaxpure.files.notebook import CellLine
from jaxpure.findings import Finding, RuleInfo
from jaxpure.output.sources import SourceReader


def load_rule_infos() -> dict[str, RuleInfo]:
    """Every rule's metadata, from the registry (which imports libcst with the rules).

    A run's ``Report.rules`` already has it; this is for output made without a run.
    """
    from jaxpure.analysis.rules import rule_infos

    return rule_infos()


@dataclass(frozen=True)
class OutputContext:
    """Options and lookups shared by the formats in ``FORMATS``.

    ``color``: the CLI sets it for a terminal without ``NO_COLOR``.
    ``cwd``: the folder paths are made relative to (SARIF, GitHub annotations).
    """

    show_source: bool = False
    color: bool = False
    sources: SourceReader = field(default_factory=SourceReader)
    rules: Mapping[str, RuleInfo] = field(default_factory=load_rule_infos)
    cwd: Path = field(default_factory=Path.cwd)

    @property
    def read_line(self) -> Callable[[str, int], str]:
        return self.sources.line

    def rule(self, code: str) -> RuleInfo:
        return self.rules.get(code) or RuleInfo.unknown(code)

    def severity(self, code: str) -> str:
        return self.rule(code).severity

    def cell(self, finding: Finding) -> CellLine | None:
        """Where a notebook finding is (cell, line in cell); ``None`` for a Python file."""
        return self.sources.cell(finding.path, finding.line)

    def relative_path(self, path: str) -> str:
        """``path`` relative to ``cwd`` in ``/`` form when it lies below it, else absolute."""
        absolute = Path(os.path.abspath(os.path.join(self.cwd, path)))
        try:
            return absolute.relative_to(Path(os.path.abspath(self.cwd))).as_posix()
        except ValueError:
            return absolute.as_posix()
