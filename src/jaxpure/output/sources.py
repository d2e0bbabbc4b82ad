"""The source lines findings point at, read once per file.

Output (``--show-source``, notebook cell positions, SARIF fingerprints) and
the baseline (its keys hold the flagged line's text) both need the text of
a flagged line. A notebook's lines are those of its extracted source (see
``jaxpure.files.notebook``), the lines its findings are numbered in.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jaxpure.files.notebook import CellLine, NotebookError, NotebookSource, extract, is_notebook, split_lines
from jaxpure.files.source import read_bytes


@dataclass(frozen=True, slots=True)
class _Document:
    lines: list[str]
    notebook: NotebookSource | None  # None for a Python file or an unreadable notebook


class SourceReader:
    """Reads flagged lines from disk, or from ``texts`` (path -> file text) when given."""

    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self._texts = dict(texts or {})
        self._documents: dict[str, _Document] = {}

    def line(self, path: str, line: int) -> str:
        """The text of 1-based ``line`` of ``path`` without its newline; ``""`` when there is none."""
        lines = self._document(path).lines
        return lines[line - 1] if 1 <= line <= len(lines) else ""

    def cell(self, path: str, line: int) -> CellLine | None:
        """Where ``line`` of a notebook's extracted source is in the notebook; ``None`` for other files."""
        notebook = self._document(path).notebook
        return notebook.locate(line) if notebook is not None else None

    def _document(self, path: str) -> _Document:
        if path not in self._documents:
            self._documents[path] = self._load(path)
        return self._documents[path]

    def _load(self, path: str) -> _Document:
        text = self._texts[path] if path in self._texts else _read_text(path)
        if text is None:
            return _Document([], None)
        if is_notebook(path):
            try:
                notebook = extract(text)
            except NotebookError:
                # Its findings (JP000) point into the raw JSON: show that.
                return _Document(split_lines(text), None)
            return _Document(split_lines(notebook.source), notebook)
        return _Document(split_lines(text), None)


def _read_text(path: str) -> str | None:
    try:
        data = read_bytes(Path(path))  # not a FIFO named .py: reading it would block
    except OSError:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    return data.decode(encoding, errors="replace")
