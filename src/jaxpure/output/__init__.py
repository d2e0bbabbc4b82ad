"""Output formats: each turns a ``Report`` into the text ``jaxpure check`` writes to stdout.

``FORMATS[name](report, context)`` for ``--format name``. Every format sorts
findings by path, line and column and returns ``""`` or text ending in a
newline. The stderr summary line is ``render_summary``.
"""

from __future__ import annotations

from collections.abc import Callable

from jaxpure.findings import Report, RuleInfo
from jaxpure.output.context import OutputContext, load_rule_infos
from jaxpure.output.github import format_github
from jaxpure.output.json_format import format_json
from jaxpure.output.sarif import format_sarif
from jaxpure.output.sources import SourceReader
from jaxpure.output.text import format_text, render_summary, render_text

Format = Callable[[Report, OutputContext], str]

FORMATS: dict[str, Format] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}

__all__ = [
    "FORMATS",
    "Format",
    "OutputContext",
    "RuleInfo",
    "SourceReader",
    "load_rule_infos",
    "render_summary",
    "render_text",
]
