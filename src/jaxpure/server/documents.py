"""What the server analyzes of the editor's open documents: snapshots of their text.

A ``TextView`` is an open ``.py`` file; a ``NotebookView`` an ``.ipynb`` opened
as a notebook document, whose code cells are written back into nbformat JSON
so that the same notebook reader ``jaxpure check`` uses extracts them (the
overlay of the notebook's path), and whose findings go back to the cells.
Views are taken on the event loop and handed, unchanging, to the analysis
thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jaxpure.files.notebook import NotebookError, extract
from jaxpure.files.source import source_lines
from jaxpure.findings import Finding


@dataclass(frozen=True, slots=True)
class Part:
    """A stretch of an analyzed source that one LSP document shows: a whole file, or a cell."""

    uri: str
    text: str
    first_line: int = 1  # the line of the analyzed source this document's first line is

    @property
    def lines(self) -> list[str]:
        return source_lines(self.text)


@dataclass(frozen=True, slots=True)
class TextView:
    uri: str
    path: Path
    text: str

    @property
    def overlay(self) -> str:
        return self.text

    def parts(self) -> list[Part]:
        return [Part(self.uri, self.text)]

    def part_of(self, finding: Finding) -> Part:
        return self.parts()[0]


@dataclass(frozen=True, slots=True)
class NotebookView:
    uri: str
    path: Path
    cells: tuple[tuple[str, str], ...]  # (cell uri, text) of the code cells, in order

    @property
    def overlay(self) -> str:
        cells = [{"cell_type": "code", "source": text, "metadata": {}, "outputs": []} for _, text in self.cells]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    def parts(self) -> list[Part]:
        """One part per code cell, at the line the notebook reader put it (empty cells take none)."""
        try:
            spans = {span.index: span.first_line for span in extract(self.overlay).cells}
        except NotebookError:  # cannot happen for the JSON written above; then every cell starts at 1
            spans = {}
        return [Part(uri, text, spans.get(index, 0)) for index, (uri, text) in enumerate(self.cells)]

    def part_of(self, finding: Finding) -> Part | None:
        """The cell holding the finding's line: the last non-empty cell starting at or before it."""
        holding = [part for part in self.parts() if 0 < part.first_line <= finding.line]
        return holding[-1] if holding else None


View = TextView | NotebookView
