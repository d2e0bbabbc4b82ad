"""Hover: a rule's documentation on a flagged range, or on a ``JPxxx`` in a ``# noqa`` comment."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lsprotocol import types

from jaxpure.output.context import load_rule_infos
from jaxpure.output.reference import rule_markdown, rule_url

_CODE = re.compile(r"\bJP\d{3}\b", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa\b", re.IGNORECASE)


def noqa_code_at(line: str, character: int) -> str | None:
    """The rule code under ``character`` (code points) when it sits in the line's ``# noqa`` comment."""
    comment = _NOQA.search(line)
    if comment is None:
        return None
    for match in _CODE.finditer(line, comment.end()):
        if match.start() <= character <= match.end():
            return match.group().upper()
    return None


def documentation(codes: Iterable[str]) -> types.Hover | None:
    """The documentation of each known code (in order, once), with the link to the rule reference."""
    catalog = load_rule_infos()
    sections = []
    for code in dict.fromkeys(codes):
        rule = catalog.get(code)
        if rule is not None:
            sections.append(f"{rule_markdown(rule, '###')}\n[{rule.code} in the rule reference]({rule_url(rule)})\n")
    if not sections:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n---\n\n".join(sections)))
