"""``--format github``: GitHub Actions workflow commands, shown as annotations on the diff.

    ::error file=src/train.py,line=12,col=5,endLine=12,endColumn=31,title=JP101 print-in-traced-function::message

Escaping follows the Actions toolkit (``@actions/core`` ``command.ts``): in
the message ``%``, ``\\r`` and ``\\n``; in properties also ``:`` and ``,``.
GitHub accepts ``endColumn`` only when the annotation starts and ends on the
same line, so a multi-line finding carries ``endLine`` alone. A notebook
finding is annotated on the whole file (``.ipynb`` lines are JSON), its
title naming the cell and line.
"""

from __future__ import annotations

from operator import attrgetter

from jaxpure.findings import Finding, Report
from jaxpure.output.context import OutputContext


def format_github(report: Report, context: OutputContext) -> str:
    lines = [_annotation(finding, context) for finding in sorted(report.findings, key=attrgetter("sort_key"))]
    lines.extend(
        workflow_command("error", {"title": "jaxpure internal error"}, error) for error in report.internal_errors
    )
    return "".join(line + "\n" for line in lines)


def workflow_command(command: str, properties: dict[str, object], message: str) -> str:
    rendered = ",".join(f"{name}={escape_property(str(value))}" for name, value in properties.items())
    return f"::{command} {rendered}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(finding: Finding, context: OutputContext) -> str:
    rule = context.rule(finding.code)
    title = f"{finding.code} {rule.name}"
    properties: dict[str, object] = {"file": context.relative_path(finding.path)}
    where = context.cell(finding)
    if where is not None:
        title += f" (cell {where.cell_number}, line {where.line}, column {finding.column})"
    else:
        properties.update(line=finding.line, col=finding.column, endLine=finding.end_line)
        if finding.end_line == finding.line:
            properties["endColumn"] = finding.end_column
    properties["title"] = title
    command = "warning" if rule.severity == "warning" else "error"
    message = finding.message
    if finding.runtime is not None:
        runtime = finding.runtime
        message += f"\nruntime: {runtime.status} on {runtime.device}{runtime.source}: {runtime.evidence}"
    return workflow_command(command, properties, message)
