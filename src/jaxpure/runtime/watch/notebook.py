"""Running a notebook's code cells in order, as a watched process (``python -m`` of this module).

Cells are compiled with the notebook's path as their file name and their
lines where ``files.notebook.extract`` puts them, so the agent's probes and
every finding's line match. IPython syntax is already blanked by ``extract``;
each blanked line is reported as a note. The first cell that raises ends the
run, as "Run All" does; the cell and its error are noted. Key draws are
watched for the whole run (a key drawn from in one cell and again in a later
one is a reuse). Findings in functions no cell called are then tried from the
namespace the cells left (when a cell raised, only in what the cells before it
defined), with inputs built as the import path builds them.
"""

from __future__ import annotations

import builtins
import os
import sys
import traceback
import types

from jaxpure.files.notebook import extract


def main(path: str) -> int:
    real = os.path.realpath(path)
    with open(real, encoding="utf-8") as file:
        notebook = extract(file.read())
    observer = _observer()
    module = types.ModuleType("__main__")
    module.__file__ = real
    module.__builtins__ = builtins  # type: ignore[attr-defined]  # as the interpreter gives ``__main__``
    sys.modules["__main__"] = module
    os.chdir(os.path.dirname(real))  # notebooks read their data relative to themselves
    sys.path.insert(0, os.path.dirname(real))
    if observer is not None:
        observer.whole_run = True  # cells draw keys at module level: a reuse may span cells
    last = _run_cells(notebook, real, module, observer)
    finished = last is notebook.cells[-1] if notebook.cells else True
    if observer is not None and last is not None:
        observer.cells_ended(module, finished, via=f"after cell {last.index + 1}")
    return 0 if finished else 1


def _run_cells(notebook, real: str, module: types.ModuleType, observer):
    """The cells in order, up to the first that raises; the last cell run (None: there were none)."""
    lines = notebook.source.splitlines()
    span = None
    for span in notebook.cells:
        cell_lines = lines[span.first_line - 1 : span.first_line - 1 + span.line_count]
        skipped = sum("# jaxpure: IPython magic" in line for line in cell_lines)
        if skipped and observer is not None:
            observer.note(f"cell {span.index + 1}: {skipped} line(s) of IPython syntax skipped")
        if observer is not None:
            observer.via_override = f"cell {span.index + 1}"
        source = "\n" * (span.first_line - 1) + "\n".join(cell_lines) + "\n"
        try:
            exec(compile(source, real, "exec"), module.__dict__)
        except BaseException as error:
            if observer is not None:
                observer.note(f"cell {span.index + 1} raised {type(error).__name__}: {error}; later cells not run")
            traceback.print_exc()
            return span
    return span


def _observer():
    from jaxpure.runtime.watch import agent

    return agent._state.get("observer")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
