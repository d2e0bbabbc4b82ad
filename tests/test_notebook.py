"""Notebook extraction: code cells as one module, IPython syntax blanked, lines mapped back to cells."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from jaxpure.files.notebook import CellLine, NotebookError, extract, format_position, python_lines
from jaxpure.output.sources import SourceReader

FIXTURE = Path(__file__).parents[1] / "fixtures" / "integrations" / "notebook.ipynb"


def notebook(*cells: tuple[str, str | list[str]], language: str | None = "python") -> str:
    metadata = {"language_info": {"name": language}} if language else {}
    return json.dumps(
        {
            "cells": [{"cell_type": kind, "metadata": {}, "source": source} for kind, source in cells],
            "metadata": metadata,
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def test_code_cells_in_order_with_markdown_left_out():
    text = notebook(("code", "a = 1\nb = 2\n"), ("markdown", "# title"), ("code", ["c = 3\n", "d = 4"]))
    source = extract(text)
    assert source.source == "a = 1\nb = 2\nc = 3\nd = 4\n"
    assert [span.index for span in source.cells] == [0, 2]


def test_lines_map_back_to_cell_and_line_in_cell():
    source = extract(notebook(("code", "a = 1\nb = 2"), ("markdown", "text"), ("code", "c = 3\nd = 4")))
    assert source.locate(1) == CellLine(0, 1)
    assert source.locate(2) == CellLine(0, 2)
    assert source.locate(4) == CellLine(2, 2)
    assert source.locate(4).cell_number == 3  # markdown cells count, as the notebook shows them


def test_a_line_past_the_end_maps_past_the_last_cell_line():
    source = extract(notebook(("code", "a = (")))
    assert source.locate(2) == CellLine(0, 2)  # where a parser reports an unclosed bracket


def test_empty_code_cells_take_no_lines():
    source = extract(notebook(("code", ""), ("code", "x = 1")))
    assert source.source == "x = 1\n"
    assert source.locate(1) == CellLine(1, 1)


def test_a_notebook_without_code_locates_nothing():
    source = extract(notebook(("markdown", "only prose")))
    assert (source.source, source.locate(1)) == ("", None)


@pytest.mark.parametrize(
    "line",
    [
        "%matplotlib inline",
        "!pip install jax",
        "files = !ls",
        "t = %timeit -o f()",
        "a, b = !echo 1 2",
        "f?",
        "??f",
        "np.sum??",
    ],
)
def test_ipython_lines_become_pass(line):
    assert python_lines(line) == ["pass  # jaxpure: IPython magic"]


def test_an_indented_magic_keeps_its_block_valid():
    lines = python_lines("for i in range(3):\n    %time f(i)\n")
    assert lines == ["for i in range(3):", "    pass  # jaxpure: IPython magic"]
    ast.parse("\n".join(lines))


def test_a_continued_line_magic_is_blanked_entirely():
    lines = python_lines("!pip install \\\n    jax\nx = 1")
    assert lines[1:] == ["# jaxpure: IPython magic", "x = 1"]


def test_a_cell_magic_blanks_the_whole_cell():
    assert python_lines("%%bash\necho $HOME\nls") == ["# jaxpure: IPython magic"] * 3


@pytest.mark.parametrize(
    "code",
    [
        's = """\n%d items\n"""',  # inside a triple-quoted string
        "t = (a,\n     !b)",  # inside brackets: Python (a syntax error), not IPython
        "x = 1 + \\\n%2",  # after a backslash continuation
        "x = y % 2",
        "x %= 2",
        "d = {1: 2}  # what?",
    ],
)
def test_percent_and_bang_that_are_not_at_a_statement_start_are_python(code):
    assert python_lines(code) == code.split("\n")


def test_crlf_cells_split_into_lines():
    assert extract(notebook(("code", "a = 1\r\nb = 2\r\n"))).source == "a = 1\nb = 2\n"


def test_a_notebook_in_another_language_has_no_python():
    assert extract(notebook(("code", "x <- c(1, 2)"), language="R")).source == ""


def test_kernelspec_language_is_used_without_language_info():
    text = json.dumps(
        {"cells": [{"cell_type": "code", "source": "x"}], "metadata": {"kernelspec": {"language": "julia"}}}
    )
    assert extract(text).cells == ()


def test_invalid_json_is_a_notebook_error_at_its_position():
    with pytest.raises(NotebookError, match="invalid JSON") as raised:
        extract('{\n  "cells": [,]\n}')
    assert (raised.value.line, raised.value.column) == (2, 13)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "no 'cells' list"),
        ('{"worksheets": [], "nbformat": 3}', "nbformat 3"),
        ('{"cells": [{"source": "x"}]}', "cell 1 has no 'cell_type'"),
        ('{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1 has a 'source' that is not text"),
    ],
)
def test_malformed_notebooks_are_named(text, message):
    with pytest.raises(NotebookError, match=message):
        extract(text)


def test_fixture_notebook_extracts_to_valid_python_with_the_print_in_cell_5():
    source = extract(FIXTURE.read_text(encoding="utf-8"))
    ast.parse(source.source)
    line = next(number for number, text in enumerate(source.source.splitlines(), 1) if "print(" in text)
    assert source.locate(line) == CellLine(4, 3)


def test_format_position_names_the_cell():
    assert format_position("nb.ipynb", CellLine(4, 3), 5) == "nb.ipynb:cell 5:3:5"


def test_source_reader_reads_notebook_lines_from_the_extracted_source():
    reader = SourceReader({"nb.ipynb": notebook(("markdown", "x"), ("code", "!ls\nprint(1)"))})
    assert reader.line("nb.ipynb", 2) == "print(1)"
    assert reader.cell("nb.ipynb", 2) == CellLine(1, 2)


def test_source_reader_falls_back_to_raw_lines_of_a_broken_notebook():
    reader = SourceReader({"nb.ipynb": "{\n  oops\n}"})
    assert reader.line("nb.ipynb", 2) == "  oops"
    assert reader.cell("nb.ipynb", 2) is None
