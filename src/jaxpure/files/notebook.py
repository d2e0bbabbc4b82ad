"""Jupyter notebooks as Python source, and positions mapped back to their cells.

``extract`` turns an ``.ipynb`` file (nbformat 4 JSON) into one Python module:
the code cells, in order, one after the other. IPython syntax that is not
Python (line magics ``%time f()``, shell escapes ``!pip install``, assignment
magics ``files = !ls``, help ``obj?``, and whole ``%%bash``-style cell magics)
is blanked out line for line, so every line keeps its number and every
finding maps back to ``(cell, line in cell)``.

Positions are shown as ``nb.ipynb:cell 3:2:5``: the cell's 1-based number in
the notebook (markdown cells count, as in the notebook's own display), then
the line and column within that cell. Everywhere else (baseline keys, the
``--show-source`` line) a finding keeps the line of the extracted source.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import NamedTuple

NOTEBOOK_SUFFIX = ".ipynb"

# What replaces a line of IPython syntax. A line magic becomes ``pass`` at its
# own indentation (it may be the only statement of a block); lines that
# continue it, and the body of a cell magic, become comments.
_LINE_PLACEHOLDER = "pass  # jaxpure: IPython magic"
_BODY_PLACEHOLDER = "# jaxpure: IPython magic"

_ESCAPE_LINE = re.compile(r"\s*[%!]")
_HELP_LINE = re.compile(r"\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
# ``x = !ls`` and ``t = %timeit -o f()``: Python never has ``=`` followed by ``!`` or ``%``.
_ASSIGNED_MAGIC = re.compile(r"\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%]")


class NotebookError(ValueError):
    """An ``.ipynb`` file that is not a readable nbformat 4 notebook.

    ``line`` and ``column`` (1-based) locate the problem in the ``.ipynb``
    file itself when it is a JSON syntax error, else they are 1 and 1.
    """

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class CellLine(NamedTuple):
    """A line of a notebook: the cell's 0-based index in ``cells``, the 1-based line in it."""

    cell_index: int
    line: int

    @property
    def cell_number(self) -> int:
        """The 1-based cell number users see in ``nb.ipynb:cell 3:2:5``."""
        return self.cell_index + 1


@dataclass(frozen=True, slots=True)
class CellSpan:
    index: int  # 0-based, in the notebook's ``cells`` list
    first_line: int  # 1-based line of the extracted source where the cell starts
    line_count: int


@dataclass(frozen=True, slots=True)
class NotebookSource:
    source: str  # the code cells as one Python module
    cells: tuple[CellSpan, ...]  # code cells with at least one line, in order

    def locate(self, line: int) -> CellLine | None:
        """The cell and in-cell line of a line of ``source``; ``None`` in a notebook without code.

        A line past the end (a parser error at end of file) maps past the last
        line of the last cell.
        """
        if not self.cells:
            return None
        starts = [cell.first_line for cell in self.cells]
        span = self.cells[max(bisect.bisect_right(starts, line) - 1, 0)]
        return CellLine(span.index, max(line - span.first_line + 1, 1))


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


def format_position(path: str, where: CellLine, column: int) -> str:
    """``nb.ipynb:cell 3:2:5``: the notebook form of ``path:line:col``."""
    return f"{path}:cell {where.cell_number}:{where.line}:{column}"


def extract(text: str) -> NotebookSource:
    """The code cells of the notebook JSON ``text`` as one Python source.

    A notebook whose kernel language is not Python has no code to check: its
    source is empty. Raises ``NotebookError`` on anything that is not an
    nbformat 4 notebook.
    """
    notebook = _load(text)
    if not _is_python(notebook):
        return NotebookSource("", ())
    lines: list[str] = []
    spans: list[CellSpan] = []
    for index, cell in enumerate(notebook["cells"]):
        if _cell_type(cell, index) != "code":
            continue
        cell_lines = python_lines(_cell_source(cell, index))
        if cell_lines:
            spans.append(CellSpan(index, len(lines) + 1, len(cell_lines)))
            lines.extend(cell_lines)
    return NotebookSource("".join(line + "\n" for line in lines), tuple(spans))


def python_lines(cell_source: str) -> list[str]:
    """The lines of one code cell, IPython syntax replaced by placeholders."""
    lines = split_lines(cell_source)
    if lines and lines[0].startswith("%%"):
        # A cell magic hands the whole cell to something else (bash, html, timeit...).
        return [_BODY_PLACEHOLDER] * len(lines)
    result = []
    scanner = _StatementScanner()
    continues_magic = False
    for line in lines:
        if continues_magic:
            result.append(_BODY_PLACEHOLDER)
            continues_magic = line.rstrip().endswith("\\")
        elif scanner.at_statement_start and _is_magic(line):
            indent = line[: len(line) - len(line.lstrip())]
            result.append(indent + _LINE_PLACEHOLDER)
            continues_magic = line.rstrip().endswith("\\")
        else:
            result.append(line)
            scanner.feed(line)
    return result


def _is_magic(line: str) -> bool:
    return bool(_ESCAPE_LINE.match(line) or _HELP_LINE.match(line) or _ASSIGNED_MAGIC.match(line))


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their ends, as Python numbers them."""
    # Python's own line breaks only: str.splitlines() would also split on \f, \x1c, \u2028...
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class _StatementScanner:
    """Tracks whether the next line starts a statement.

    IPython rewrites ``%``/``!`` only at the start of a statement; inside a
    bracket, a string or after a backslash the same characters are Python.
    """

    def __init__(self) -> None:
        self._quote: str | None = None  # the open string's delimiter
        self._depth = 0
        self._continued = False

    @property
    def at_statement_start(self) -> bool:
        return self._quote is None and self._depth == 0 and not self._continued

    def feed(self, line: str) -> None:
        self._continued = False
        index = 0
        while index < len(line):
            index = self._step(line, index)
        if self._quote in ("'", '"') and not self._continued:
            self._quote = None  # an unterminated one-line string: a syntax error, not our concern

    def _step(self, line: str, index: int) -> int:
        char = line[index]
        if char == "\\":
            self._continued = index == len(line) - 1
            return index + 2
        if self._quote is not None:
            if line.startswith(self._quote, index):
                index += len(self._quote)
                self._quote = None
                return index
            return index + 1
        if char == "#":
            return len(line)
        if char in "'\"":
            self._quote = char * 3 if line.startswith(char * 3, index) else char
            return index + len(self._quote)
        if char in "([{":
            self._depth += 1
        elif char in ")]}":
            self._depth = max(self._depth - 1, 0)
        return index + 1


def _load(text: str) -> dict:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a Jupyter notebook: invalid JSON: {error.msg}", error.lineno, error.colno) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        if isinstance(notebook, dict) and "worksheets" in notebook:
            raise NotebookError(
                "nbformat 3 notebooks are not supported: convert with `jupyter nbconvert --to notebook`"
            )
        raise NotebookError("not a Jupyter notebook: no 'cells' list at the top level")
    return notebook


def _is_python(notebook: dict) -> bool:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for table, key in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(table, {}).get(key) if isinstance(metadata.get(table), dict) else None
        if isinstance(value, str):
            return value.lower() == "python"
    return True  # no language recorded: the overwhelmingly common case is Python


def _cell_type(cell: object, index: int) -> str:
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        raise NotebookError(f"not a Jupyter notebook: cell {index + 1} has no 'cell_type'")
    return cell["cell_type"]


def _cell_source(cell: dict, index: int) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise NotebookError(f"not a Jupyter notebook: cell {index + 1} has a 'source' that is not text")
