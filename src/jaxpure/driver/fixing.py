"""``--fix`` and ``--diff``: apply the safe fixes to every file with fixable findings."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

from jaxpure.config import Config
from jaxpure.driver.modules import analyze_text
from jaxpure.driver.selection import Selection
from jaxpure.files.discovery import module_name
from jaxpure.findings import Finding, Report
from jaxpure.fixes import FixOutcome, fix_file, fix_source
from jaxpure.output.streams import write


def run_fixes(report: Report, config: Config, selection: Selection, *, diff: bool) -> int:
    """Fix (or with ``diff`` print the patch for) every fixable finding; 1 if ``diff`` has changes."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        if finding.fixable and not finding.path.endswith(".ipynb"):
            by_path[finding.path].append(finding)
    changed = False
    applied: Counter = Counter()  # per rule code
    refused: Counter = Counter()
    files = 0
    for path, findings in sorted(by_path.items()):
        result = fix_file(Path(path), findings, _recheck(path, config, selection), write=not diff)
        if result.error:
            write(sys.stderr, f"jaxpure: {path}: not fixed: {result.error}\n")
        outcome = result.outcome
        if outcome is not None:
            for finding, reason in outcome.refused:
                where = f"{path}:{finding.line}:{finding.column}"
                write(sys.stderr, f"jaxpure: {where}: {finding.code} fix refused: {reason}\n")
            refused.update(finding.code for finding, _ in outcome.refused)
        if diff and result.diff:
            write(sys.stdout, result.diff)  # a reader gone (`| head`) ends the patch, not the status
            changed = True
        if outcome is not None and (result.written or (diff and result.diff)):
            applied.update(finding.code for finding in outcome.applied)
            files += 1
        if result.written:
            write(sys.stderr, f"jaxpure: {path}: fixed {len(outcome.applied) if outcome else 0} finding(s)\n")
    if by_path:
        write(sys.stderr, _summary(applied, refused, files, diff) + "\n")
    return 1 if diff and changed else 0


def fix_text(source: str, path: str, findings: list[Finding], config: Config, selection: Selection) -> FixOutcome:
    """``source`` (the contents of ``path``, perhaps unsaved) with the fixes for ``findings`` applied and verified."""
    return fix_source(source, findings, _recheck(path, config, selection))


def _recheck(path: str, config: Config, selection: Selection):
    """Analyze a rewritten source as ``path``, as the check did: with its module name.

    The module name resolves the file's relative imports (``from .._jit import
    filter_jit``); without it the re-check misses findings the check made.
    """
    try:
        module, is_package = module_name(Path(path))
    except OSError:
        module, is_package = None, False

    def recheck(source: str) -> list[Finding]:
        result = analyze_text(source, path, config, module=module, is_package=is_package)
        return [f for f in result.findings if selection.enabled(f.code, path)]

    return recheck


def _summary(applied: Counter, refused: Counter, files: int, diff: bool) -> str:
    def counts(counter: Counter) -> str:
        return f" ({', '.join(f'{code}: {n}' for code, n in sorted(counter.items()))})" if counter else ""

    verb = "would apply" if diff else "applied"
    return (
        f"jaxpure: fixes {verb}: {sum(applied.values())}{counts(applied)} in {files} file(s);"
        f" refused: {sum(refused.values())}{counts(refused)}"
    )
