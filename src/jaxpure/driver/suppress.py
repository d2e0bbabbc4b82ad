"""``# noqa``, ``# noqa: JP101,JP3`` and ``# jaxpure: skip-file``, as flake8 reads them."""

from __future__ import annotations

import re

from jaxpure.findings import Finding

# flake8's own pattern: a bare noqa, or noqa followed by a colon and codes.
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_SKIP_FILE = re.compile(r"#\s*jaxpure\s*:\s*skip-file\b", re.IGNORECASE)
_SPLIT = re.compile(r"[,\s]+")


def skips_file(text: str) -> bool:
    return "skip-file" in text and _SKIP_FILE.search(text) is not None


def apply_noqa(findings: list[Finding], lines: list[str]) -> list[Finding]:
    if not findings:
        return findings
    kept = []
    for finding in findings:
        line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        if "noqa" not in line.lower() or not _suppressed(finding.code, line):
            kept.append(finding)
    return kept


def _suppressed(code: str, line: str) -> bool:
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.startswith(prefix.upper()) for prefix in _SPLIT.split(codes.strip()) if prefix):
            return True
    return False


def with_noqa(line: str, code: str) -> str:
    """``line`` (without its end) with ``code`` added to its ``# noqa: ...`` comment, or given one.

    A bare ``# noqa`` already silences everything: the line comes back unchanged.
    """
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return line
        present = [c.upper() for c in _SPLIT.split(codes.strip()) if c]
        if any(code.startswith(prefix) for prefix in present):
            return line
        end = match.end("codes")
        return f"{line[:end]},{code}{line[end:]}"
    stripped = line.rstrip()
    return f"{stripped}  # noqa: {code}"
