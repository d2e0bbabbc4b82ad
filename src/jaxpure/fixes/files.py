"""Fixing a file on disk: read, fix, then either a unified diff or an atomic write.

The write never leaves a truncated or half-written file: the new text goes to
a temporary file in the same folder (same file system), is flushed to disk,
given the original's permissions, and renamed over the original with
``os.replace``, which is atomic. A failure at any step (read-only file, full
disk, an interrupt) leaves the original as it was and removes the temporary.
A file whose bytes changed since it was read (an editor saved it meanwhile)
is left alone.
"""

from __future__ import annotations

import difflib
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from jaxpure.findings import Finding
from jaxpure.fixes.apply import FixOutcome, Recheck, fix_source


class FileChangedError(Exception):
    """The file's bytes are no longer those the fix was computed from."""


@dataclass(frozen=True, slots=True)
class FileFixResult:
    path: Path
    outcome: FixOutcome | None  # None when the file could not be read
    diff: str  # unified diff of the fix; "" when nothing changes
    written: bool  # the fixed text is on disk
    error: str | None = None  # why the file was not read or not written (without the path)


def fix_file(path: Path, findings: Iterable[Finding], recheck: Recheck, *, write: bool) -> FileFixResult:
    """Fix ``path``; with ``write`` the result replaces it atomically, otherwise only the diff is made."""
    path = Path(path)
    if path.suffix == ".ipynb":
        # Cell positions are not file positions, and a rewrite would have to go through the JSON.
        return FileFixResult(path, None, "", False, "notebooks are not fixed automatically")
    try:
        raw = path.read_bytes()
        encoding, text = _decode(raw)
    except (OSError, UnicodeDecodeError, LookupError, SyntaxError) as error:
        return FileFixResult(path, None, "", False, f"cannot read it: {error}")
    outcome = fix_source(text, findings, recheck)
    diff = unified_diff(str(path), outcome.original, outcome.source)
    if not (write and outcome.changed):
        return FileFixResult(path, outcome, diff, False)
    try:
        write_atomically(path, outcome.source.encode(encoding), expected=raw)
    except FileChangedError:
        return FileFixResult(path, outcome, diff, False, "changed on disk while being fixed; left alone")
    except OSError as error:
        why = error.strerror or str(error)
        return FileFixResult(path, outcome, diff, False, f"not written ({why}); the original is unchanged")
    return FileFixResult(path, outcome, diff, True)


def _decode(raw: bytes) -> tuple[str, str]:
    """The encoding Python would read the file with (PEP 263, BOM), and the text, newlines untouched."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    return encoding, raw.decode(encoding)


def unified_diff(path: str, before: str, after: str) -> str:
    if before == after:
        return ""
    lines = difflib.unified_diff(_diff_lines(before), _diff_lines(after), f"a/{path}", f"b/{path}")
    return "".join(lines)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def write_atomically(path: Path, data: bytes, *, expected: bytes) -> None:
    """Replace ``path``'s content with ``data`` if it still holds ``expected``; all or nothing."""
    target = Path(os.path.realpath(path))  # through a symlink: replace the file, keep the link
    before = os.stat(target)
    if not before.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(13, "the file is read-only", str(path))
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".jaxpure-tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, stat.S_IMODE(before.st_mode))
        _keep_owner(temporary, before)
        if target.read_bytes() != expected:  # as late as possible before the swap
            raise FileChangedError(str(path))
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(target.parent)


def _keep_owner(temporary: str, before: os.stat_result) -> None:
    if hasattr(os, "chown"):
        with suppress(OSError):  # only root may give a file away; then the owner is already ours
            os.chown(temporary, before.st_uid, before.st_gid)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
