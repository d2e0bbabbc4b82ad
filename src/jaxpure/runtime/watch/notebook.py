"""Running a notebook's code cells in order, as a watched process (``python -m`` of this module).

Cells are compiled with the notebook's path as their file name and their
lines where ``files.notebook.extract`` puts them, so the agent's probes and
every finding's line match. IPython syntax is already blanked by ``extract``;
each blanked line is reported as a note. A cell that raises is noted, and the
cells after it still run, as ``jupyter nbconvert --execute --allow-errors``
runs them: a cell that needs what the failed one would have made fails too,
the others (often most of a guide) still run their flagged lines. Key draws
are watched for the whole run (a key drawn from in one cell and again in a
later one is a reuse). Findings in functions no cell called are then tried
from the namespace the cells left (when a cell raised, only in what the cells
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
    raised = _run_cells(notebook, real, module, observer)
    if observer is not None and notebook.cells:
        observer.cells_ended(module, raised, via=f"after cell {notebook.cells[-1].index + 1}")
    return 1 if raised else 0


def _run_cells(notebook, real: str, module: types.ModuleType, observer) -> bool:
    """Every cell in order, on past those that raise; whether any raised."""
    lines = notebook.source.splitlines()
    raised = False
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
            if isinstance(error, KeyboardInterrupt):
                raise  # an interrupt ends the run; ``sys.exit`` in a cell is an error, as in Jupyter
            if observer is not None:
                observer.note(f"cell {span.index + 1} raised {type(error).__name__}: {error}")
            traceback.print_exc()
            raised = True
    return raised


def _observer():
    from jaxpure.runtime.watch import agent

    return agent._state.get("observer")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
