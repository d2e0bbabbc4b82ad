"""Findings as LSP diagnostics: 0-based lines, columns in the client's position encoding.

A finding's columns count code points (libcst's), 1-based, the end exclusive;
``PositionCodec`` turns them into the UTF-16 (or UTF-8/32) units the client
negotiated. Each diagnostic carries the finding's code, its severity, the
link to the rule's documentation (``codeDescription``) and in ``data`` what
code actions need to recognize it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from jaxpure.findings import Finding, RuleInfo
from jaxpure.output.context import load_rule_infos
from jaxpure.output.reference import rule_url

SOURCE = "jaxpure"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def rule_info(code: str) -> RuleInfo:
    return load_rule_infos().get(code) or RuleInfo.unknown(code)


def finding_range(finding: Finding, lines: Sequence[str], codec: PositionCodec, line_offset: int = 0) -> types.Range:
    """The finding's range; ``line_offset``: the line its document starts at (a notebook cell's)."""
    start_line = max(finding.line - 1 - line_offset, 0)
    end_line = max(finding.end_line - 1 - line_offset, start_line)
    start = codec.position_to_client_units(lines, types.Position(start_line, max(finding.column - 1, 0)))
    end = codec.position_to_client_units(lines, types.Position(end_line, max(finding.end_column - 1, 0)))
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start, end)


def to_diagnostic(
    finding: Finding, lines: Sequence[str], codec: PositionCodec, line_offset: int = 0
) -> types.Diagnostic:
    rule = rule_info(finding.code)
    return types.Diagnostic(
        range=finding_range(finding, lines, codec, line_offset),
        message=finding.message,
        severity=_SEVERITY.get(rule.severity, types.DiagnosticSeverity.Error),
        code=finding.code,
        code_description=types.CodeDescription(href=rule_url(rule)),
        source=SOURCE,
        data={"fixable": finding.fixable, "line": finding.line, "column": finding.column},
    )


def internal_error_diagnostic(reason: str) -> types.Diagnostic:
    """What a document shows when the server could not check it: a JP000 at its start."""
    rule = rule_info("JP000")
    return types.Diagnostic(
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        message=f"internal error: {reason}",
        severity=types.DiagnosticSeverity.Error,
        code="JP000",
        code_description=types.CodeDescription(href=rule_url(rule)),
        source=SOURCE,
    )
