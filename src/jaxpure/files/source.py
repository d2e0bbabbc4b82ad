"""Reading a file into text, or a clear reason why it cannot be analyzed (JP000)."""

from __future__ import annotations

import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 50 * 1024 * 1024  # a larger .py file is generated data, not code to lint

# Python's own line ends only: str.splitlines() also splits on \f, \v, \x1c-\x1e, \x85,
# \u2028 and \u2029, which may sit in comments and strings, and would shift every line after.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True, slots=True)
class Unreadable:
    reason: str
    line: int = 1
    column: int = 1


def decode(data: bytes) -> str | Unreadable:
    """Decode Python source as the interpreter would (PEP 263 cookie, UTF-8 BOM)."""
    if b"\x00" in data:
        return Unreadable("binary file (contains NUL bytes): not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        return Unreadable(f"cannot decode: {error.msg if hasattr(error, 'msg') else error}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        line = data[: getattr(error, "start", 0)].count(b"\n") + 1
        return Unreadable(f"cannot decode as {encoding}: {error.reason if hasattr(error, 'reason') else error}", line)
    return text.removeprefix("\ufeff")


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` with their ends, numbered as Python's parser numbers them."""
    return _LINE.findall(text)


def read_bytes(path: Path) -> bytes:
    """The file's bytes; ``OSError`` for what is no regular file (a FIFO named .py would block forever)."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(f"not a regular file: {path}")
    return path.read_bytes()


def read_source(path: Path) -> str | Unreadable:
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):  # a folder the walk could not list
            return _unreadable_directory(path)
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device named .py: reading could block forever
            return Unreadable("not a regular file")
        size = status.st_size
        if size > MAX_FILE_BYTES:
            return Unreadable(f"file too large to analyze ({size // (1024 * 1024)} MiB)")
        data = path.read_bytes()
    except OSError as error:
        return Unreadable(f"cannot read file: {error.strerror or error}")
    return decode(data)


def _unreadable_directory(path: Path) -> Unreadable:
    try:
        os.listdir(path)
    except OSError as error:
        return Unreadable(f"cannot read directory: {error.strerror or error}")
    return Unreadable("cannot read directory")
