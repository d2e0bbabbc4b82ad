"""Code actions: the ``--fix`` rewrite of a finding, and ``# noqa: JPxxx`` on its line.

A fix is computed as ``jaxpure check --fix`` computes it (the same codemod,
verified by re-checking the rewritten module) on the document's current
text, and sent as one edit that replaces the stretch of text that changed.
Notebook cells get the noqa action only (``--fix`` does not rewrite
notebooks either).
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from jaxpure.driver.suppress import with_noqa
from jaxpure.files.source import source_lines
from jaxpure.findings import Finding
from jaxpure.server.convert import rule_info

FIX_KIND = types.CodeActionKind.QuickFix
FIX_ALL_KIND = "source.fixAll.jaxpure"  # what ``editor.codeActionsOnSave`` asks for


def asks_fix_all(only: Sequence[str] | None) -> bool:
    """Whether the client asked for the fix-all source action (it is computed only then: it costs a fix run)."""
    if not only:
        return False
    return any(FIX_ALL_KIND.startswith(kind) and kind.startswith("source") for kind in only)


def fix_all_action(uri: str, text: str, fixed: str, codec: PositionCodec) -> types.CodeAction:
    return types.CodeAction(
        title="Fix all jaxpure findings that can be fixed safely",
        kind=FIX_ALL_KIND,
        edit=types.WorkspaceEdit(changes={uri: [replacement(text, fixed, codec)]}),
    )


def overlaps(a: types.Range, b: types.Range) -> bool:
    """Ranges that share a position (an empty range touching the other counts)."""
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (b.start.line, b.start.character) <= (
        a.end.line,
        a.end.character,
    )


def fix_action(
    uri: str, text: str, fixed: str, finding: Finding, diagnostic: types.Diagnostic, codec: PositionCodec
) -> types.CodeAction:
    rule = rule_info(finding.code)
    edit = replacement(text, fixed, codec)
    return types.CodeAction(
        title=f"Fix {finding.code} ({rule.name})",
        kind=FIX_KIND,
        diagnostics=[diagnostic],
        is_preferred=True,
        edit=types.WorkspaceEdit(changes={uri: [edit]}),
    )


def noqa_action(
    uri: str, part_text: str, line: int, finding: Finding, diagnostic: types.Diagnostic, codec: PositionCodec
) -> types.CodeAction | None:
    """``# noqa: JPxxx`` on ``line`` (0-based in the document), merged into a noqa comment already there;
    ``None`` where no comment can go at the end of the line (inside a string, after a backslash)."""
    lines = source_lines(part_text)
    if not 0 <= line < len(lines) or not _takes_comment(part_text, line):
        return None
    content = lines[line].rstrip("\r\n")
    updated = with_noqa(content, finding.code)
    if updated == content:
        return None
    end = codec.position_to_client_units(lines, types.Position(line, len(content)))
    edit = types.TextEdit(types.Range(types.Position(line, 0), end), updated)
    return types.CodeAction(
        title=f"Ignore {finding.code} on this line (# noqa)",
        kind=FIX_KIND,
        diagnostics=[diagnostic],
        edit=types.WorkspaceEdit(changes={uri: [edit]}),
    )


def replacement(before: str, after: str, codec: PositionCodec) -> types.TextEdit:
    """One edit turning ``before`` into ``after``: the changed stretch between their common ends."""
    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end_before, end_after = len(before), len(after)
    while end_before > start and end_after > start and before[end_before - 1] == after[end_after - 1]:
        end_before -= 1
        end_after -= 1
    lines = source_lines(before)
    return types.TextEdit(
        types.Range(_position(before, start, lines, codec), _position(before, end_before, lines, codec)),
        after[start:end_after],
    )


def _position(text: str, offset: int, lines: Sequence[str], codec: PositionCodec) -> types.Position:
    line = 0
    consumed = 0
    while line < len(lines) and consumed + len(lines[line]) <= offset:
        consumed += len(lines[line])
        line += 1
    if line == len(lines):
        return types.Position(len(lines), 0) if consumed == offset else types.Position(max(len(lines) - 1, 0), 0)
    return codec.position_to_client_units(lines, types.Position(line, offset - consumed))


def _takes_comment(text: str, line: int) -> bool:
    """Whether a comment may be appended to 0-based ``line``: not inside a string that goes on, not after ``\\``."""
    lines = source_lines(text)
    if lines[line].rstrip("\r\n").endswith("\\"):
        return False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.start[0] - 1 <= line < token.end[0] - 1:
                return False
            if token.start[0] - 1 > line:
                break
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return True  # an unfinished edit: the line's own text decides
    return True
