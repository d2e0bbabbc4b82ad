"""``--statistics``: how many findings each rule has, most frequent first."""

from __future__ import annotations

import json
from collections import Counter

from jaxpure.findings import Report
from jaxpure.output.context import OutputContext


def format_statistics(report: Report, context: OutputContext, *, as_json: bool = False) -> str:
    """``  12  JP101  [*] print-in-traced-function`` lines (``[*]``: some are fixable), or a JSON list."""
    counts = Counter(finding.code for finding in report.findings)
    fixable = {finding.code for finding in report.findings if finding.fixable}
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if as_json:
        entries = [
            {"code": code, "name": context.rule(code).name, "count": count, "fixable": code in fixable}
            for code, count in rows
        ]
        return json.dumps(entries, indent=2) + "\n"
    width = len(str(rows[0][1])) if rows else 1
    lines = [
        f"{count:>{width}}  {code}  {'[*] ' if code in fixable else '    '}{context.rule(code).name}"
        for code, count in rows
    ]
    return "".join(line + "\n" for line in lines)
