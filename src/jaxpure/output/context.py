"""What every output format needs beyond the findings: options, source lines, rule metadata."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jaxpure.findings import Finding
from jaxpure.files.notebook import CellLine
from jaxpure.output.sources import SourceReader

SEVERITIES = ("error", "warning")


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
    def from_rule(cls, rule: object) -> RuleInfo:
        """From a registry entry (a rule class or instance)."""
        return cls(
            code=rule.code,
            name=rule.name,
            severity=rule.severity,
            summary=_text(rule, "summary"),
            message=rule.message,
            documentation=_text(rule, "documentation") or inspect.cleandoc(rule.__doc__ or ""),
        )

    @classmethod
    def unknown(cls, code: str) -> RuleInfo:
        # A code missing from the catalog is a bug elsewhere; output still names it rather than crash.
        return cls(code, code.lower(), "error", code, "", "")


def _text(rule: object, attribute: str) -> str:
    """A rule's text attribute, whether a plain string or a classmethod that returns it."""
    value = getattr(rule, attribute, "")
    return value() if callable(value) else value


_PRELOADED: dict[str, RuleInfo] | None = None


def preload_catalog(catalog: dict[str, RuleInfo]) -> None:
    """Use ``catalog`` instead of importing the registry (which imports libcst with the rules).

    A warm run whose results all come from the cache uses the catalog the
    run that computed them saved, with them (the cache's namespace includes
    jaxpure's code, so it is this catalog); a parallel run, the one a worker
    built.
    """
    global _PRELOADED
    _PRELOADED = dict(catalog)


@functools.cache
def load_catalog() -> dict[str, RuleInfo]:
    """The rule registry (``jaxpure.analysis.rules.RULES``) as ``RuleInfo``, by code."""
    if _PRELOADED is not None:
        return _PRELOADED
    from jaxpure.analysis.rules import RULES  # imported late: the registry imports every rule module

    return {code: RuleInfo.from_rule(rule) for code, rule in sorted(RULES.items())}


@dataclass(frozen=True)
class OutputContext:
    """Options and lookups shared by the formats in ``FORMATS``.

    ``color``: the CLI sets it for a terminal without ``NO_COLOR``.
    ``cwd``: the folder paths are made relative to (SARIF, GitHub annotations).
    """

    show_source: bool = False
    color: bool = False
    sources: SourceReader = field(default_factory=SourceReader)
    catalog: Mapping[str, RuleInfo] = field(default_factory=load_catalog)
    cwd: Path = field(default_factory=Path.cwd)

    @property
    def read_line(self) -> Callable[[str, int], str]:
        return self.sources.line

    def rule(self, code: str) -> RuleInfo:
        return self.catalog.get(code) or RuleInfo.unknown(code)

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
