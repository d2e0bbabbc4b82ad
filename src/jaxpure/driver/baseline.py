"""Adopting jaxpure on legacy code: record today's findings, report only new ones.

A finding is recorded by what it is, not where it is: its path (relative to
the baseline file's folder, so the CLI may run from anywhere), its code, the
stripped text of the flagged line, and its occurrence index among findings
with those same three values (in line order). Editing unrelated code above a
finding moves its line number but changes none of these, so it stays
baselined; editing the flagged line itself, or adding another identical one,
makes a new finding.

The file is JSON, sorted, one entry per finding, so that it diffs well:

    {"tool": "jaxpure", "version": 1,
     "findings": [{"path": "src/train.py", "code": "JP101", "source": "print(loss)", "occurrence": 0}]}
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from jaxpure.config import ConfigError
from jaxpure.findings import Finding, FindingKey, ReadLine, finding_keys

BASELINE_VERSION = 1


def write_baseline(findings: Iterable[Finding], path: str | os.PathLike, read_line: ReadLine | None = None) -> int:
    """Record ``findings`` in the baseline file ``path`` (replacing it); returns how many.

    ``read_line(path, line)`` gives a flagged line's text; by default it is read from disk.
    """
    baseline = Path(path)
    keys = sorted(finding_keys(list(findings), read_line or _disk_reader(), _root(baseline)))
    document = {"tool": "jaxpure", "version": BASELINE_VERSION, "findings": [key._asdict() for key in keys]}
    _write_atomically(baseline, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return len(keys)


def filter_new(findings: Iterable[Finding], baseline_path: str | os.PathLike, read_line: ReadLine) -> list[Finding]:
    """The findings that are not in the baseline, in their original order.

    Raises ``ConfigError`` when the baseline file cannot be read or is not a jaxpure baseline.
    """
    baseline = Path(baseline_path)
    known = load_baseline(baseline)
    findings = list(findings)
    keys = finding_keys(findings, read_line, _root(baseline))
    return [finding for finding, key in zip(findings, keys, strict=True) if key not in known]


def load_baseline(path: Path) -> set[FindingKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: baseline file not found (create it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read baseline: {getattr(error, 'strerror', None) or error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}:{error.colno}: baseline is not valid JSON: {error.msg}") from None
    return _parse(document, path)


def _parse(document: object, path: Path) -> set[FindingKey]:
    if not isinstance(document, dict) or document.get("tool") != "jaxpure":
        raise ConfigError(f'{path}: not a jaxpure baseline (expected an object with "tool": "jaxpure")')
    if document.get("version") != BASELINE_VERSION:
        raise ConfigError(
            f"{path}: unsupported baseline version {document.get('version')!r} "
            f"(this jaxpure reads version {BASELINE_VERSION}; regenerate it with --write-baseline)"
        )
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise ConfigError(f'{path}: baseline has no "findings" list')
    return {_parse_entry(entry, index, path) for index, entry in enumerate(entries)}


def _parse_entry(entry: object, index: int, path: Path) -> FindingKey:
    fields = FindingKey._fields
    types = {"path": str, "code": str, "source": str, "occurrence": int}
    if not isinstance(entry, dict) or set(entry) != set(fields):
        raise ConfigError(f"{path}: baseline entry {index} must have exactly the keys {', '.join(fields)}")
    for name, kind in types.items():
        if not isinstance(entry[name], kind) or isinstance(entry[name], bool):
            raise ConfigError(f"{path}: baseline entry {index}: {name!r} must be a {kind.__name__}")
    return FindingKey(**entry)


def _root(baseline: Path) -> Path:
    return Path(os.path.abspath(baseline)).parent


def _disk_reader() -> ReadLine:
    from jaxpure.output.sources import SourceReader

    return SourceReader().line


def _write_atomically(path: Path, text: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=f".{path.name}.", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(text)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        raise ConfigError(f"{path}: cannot write baseline: {error.strerror or error}") from None
