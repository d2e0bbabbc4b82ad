"""The human format: ``path:line:col: CODE message``, optionally with the source line and a caret.

Notebook findings read ``nb.ipynb:cell 3:2:5: CODE message`` (see ``jaxpure.files.notebook``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from jaxpure.files.notebook import CellLine, format_position
from jaxpure.findings import Finding, Report
from jaxpure.output.context import OutputContext

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_SEVERITY_COLORS = {"error": "\x1b[31m", "warning": "\x1b[33m"}  # red, yellow


def format_text(report: Report, context: OutputContext) -> str:
    """``FORMATS["text"]``: the findings of ``report``, one per line (the summary goes to stderr)."""
    return render_text(
        report.findings,
        show_source=context.show_source,
        color=context.color,
        read_line=context.read_line,
        severity=context.severity,
        locate_cell=context.sources.cell,
    )


def render_text(
    findings: Iterable[Finding],
    *,
    show_source: bool,
    color: bool,
    read_line: Callable[[str, int], str],
    severity: Callable[[str], str] = lambda code: "error",
    locate_cell: Callable[[str, int], CellLine | None] = lambda path, line: None,
) -> str:
    """Findings sorted by path, line and column; ``""`` when there are none."""
    blocks = []
    for finding in sorted(findings, key=lambda finding: finding.sort_key):
        paint = _painter(color, severity(finding.code))
        where = locate_cell(finding.path, finding.line)
        block = [_headline(finding, where, paint)]
        if show_source:
            block.extend(_source_excerpt(finding, read_line(finding.path, finding.line), paint))
        blocks.append("\n".join(block) + "\n")
    return "".join(blocks)


def render_summary(report: Report, severity: Callable[[str], str]) -> str:
    """``Found 3 findings (2 errors, 1 warning) in 2 files.`` or ``No findings in 5 files.``

    With findings, the file count is of the files they are in; without, of the files checked.
    """
    if not report.findings:
        return f"No findings in {_count(report.files, 'file')}."
    severities = [severity(finding.code) for finding in report.findings]
    parts = [_count(severities.count(level), level) for level in ("error", "warning") if level in severities]
    files = len({finding.path for finding in report.findings})
    return f"Found {_count(len(report.findings), 'finding')} ({', '.join(parts)}) in {_count(files, 'file')}."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _painter(color: bool, severity: str) -> Callable[[str, str], str]:
    """``paint(text, style)`` with ``style`` "bold" or "severity"; identity without color."""
    if not color:
        return lambda text, style: text
    styles = {"bold": _BOLD, "severity": _BOLD + _SEVERITY_COLORS.get(severity, "")}
    return lambda text, style: f"{styles[style]}{text}{_RESET}"


def _headline(finding: Finding, where: CellLine | None, paint: Callable[[str, str], str]) -> str:
    if where is not None:
        position = format_position(paint(finding.path, "bold"), where, finding.column)
    else:
        position = f"{paint(finding.path, 'bold')}:{finding.line}:{finding.column}"
    headline = f"{position}: {paint(finding.code, 'severity')} {finding.message}"
    if finding.runtime is not None:  # --runtime: the verdict and its evidence, on the finding's line
        runtime = finding.runtime
        headline += f" [runtime: {runtime.status} on {runtime.device}{runtime.source}: {runtime.evidence}]"
    return headline


def _source_excerpt(finding: Finding, line: str, paint: Callable[[str, str], str]) -> list[str]:
    """The flagged line and a caret under the finding: ``^`` then ``~`` to its end on that line."""
    if not line.strip():
        return []
    # Keep the line's own tabs in the caret's indentation so they line up in any tab width.
    indent = "".join(char if char == "\t" else " " for char in line[: finding.column - 1])
    indent += " " * (finding.column - 1 - len(indent))
    width = 1
    if finding.end_line == finding.line:
        width = max(min(finding.end_column, len(line) + 1) - finding.column, 1)
    return [line, indent + paint("^" + "~" * (width - 1), "severity")]
