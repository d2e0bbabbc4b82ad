"""``--format json``: the machine-readable report of SPEC §3.

A notebook finding also carries ``"cell"`` (the 1-based cell number) and its
``line``/``end_line`` count within that cell, as in ``nb.ipynb:cell 3:2:5``.
"""

from __future__ import annotations

import json
from operator import attrgetter

from jaxpure import __version__
from jaxpure.findings import Finding, Report
from jaxpure.output.context import OutputContext


def format_json(report: Report, context: OutputContext) -> str:
    document = {
        "version": __version__,
        "findings": [
            finding_to_json(finding, context) for finding in sorted(report.findings, key=attrgetter("sort_key"))
        ],
        "summary": {"files": report.files, "findings": len(report.findings)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def finding_to_json(finding: Finding, context: OutputContext) -> dict:
    rule = context.rule(finding.code)
    data: dict = {"path": finding.path, "line": finding.line, "column": finding.column}
    data.update(end_line=finding.end_line, end_column=finding.end_column)
    where = context.cell(finding)
    if where is not None:
        offset = finding.line - where.line  # the cell's first line, minus one, in the extracted source
        data.update(cell=where.cell_number, line=where.line, end_line=finding.end_line - offset)
    data.update(
        code=finding.code,
        name=rule.name,
        severity=rule.severity,
        message=finding.message,
        function=finding.trace.function,
        transform=finding.trace.transform,
        fix={"applicable": finding.fixable},
    )
    if finding.runtime is not None:
        data["runtime"] = finding.runtime.to_json()
    return data
