"""Where a file's code lives as a module: its importable name and the folder to put on ``sys.path``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModuleLocation:
    name: str  # dotted module name, e.g. "pkg.train"
    search_path: str  # folder to put first on sys.path so that ``name`` imports
    file: str  # absolute path of the source file

    @property
    def importable(self) -> bool:
        """Whether every part of the name is an identifier (``my-script.py`` is not)."""
        return all(part.isidentifier() for part in self.name.split("."))


def locate_module(path: str | Path) -> ModuleLocation:
    """Walk up through folders holding ``__init__.py``: the top one's parent goes on sys.path."""
    file = Path(path).resolve()
    parts = [] if file.name == "__init__.py" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ModuleLocation(name=".".join(parts), search_path=str(folder), file=str(file))
