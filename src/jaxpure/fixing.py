"""``--fix`` and ``--diff``: apply the safe fixes to every file with fixable findings."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from jaxpure.config import Config
from jaxpure.engine import analyze_text
from jaxpure.findings import Finding, Report
from jaxpure.fixes import fix_file
from jaxpure.selection import Selection


def run_fixes(report: Report, config: Config, selection: Selection, *, diff: bool) -> int:
    """Fix (or with ``diff`` print the patch for) every fixable finding; 1 if ``diff`` has changes."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        if finding.fixable and not finding.path.endswith(".ipynb"):
            by_path[finding.path].append(finding)
    changed = False
    for path, findings in sorted(by_path.items()):

        def recheck(source: str, path: str = path) -> list[Finding]:
            result = analyze_text(source, path, config)
            return [f for f in result.findings if selection.enabled(f.code, path)]

        result = fix_file(Path(path), findings, recheck, write=not diff)
        if result.error:
            print(f"jaxpure: {path}: not fixed: {result.error}", file=sys.stderr)
        outcome = result.outcome
        if outcome is not None:
            for finding, reason in outcome.refused:
                print(f"jaxpure: {path}:{finding.line}:{finding.column}: {finding.code} fix refused: {reason}", file=sys.stderr)
        if diff and result.diff:
            sys.stdout.write(result.diff)
            changed = True
        elif result.written:
            applied = len(outcome.applied) if outcome else 0
            print(f"jaxpure: {path}: fixed {applied} finding(s)", file=sys.stderr)
    return 1 if diff and changed else 0
