"""Which files a run looks at: the paths given, directories walked for ``*.py`` and ``*.ipynb``.

Walking honours ``.gitignore`` files (at every level), the ``exclude``
patterns of the configuration, and skips the usual tool and environment
folders. Symlinks to directories are not followed (no loops); a dangling
symlink is passed over.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
_ALWAYS_SKIPPED = frozenset(
    """.git .hg .svn .tox .nox .venv venv .eggs __pycache__ node_modules .mypy_cache .pytest_cache
    .ruff_cache .jaxpure_cache .ipynb_checkpoints""".split()
)


class MissingPath(Exception):
    """A path named on the command line that does not exist."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # as found on disk
    display: str  # as reported: the given path joined with the file's relative path
    module: str | None  # dotted module name, from the package folders around it
    is_package: bool  # an __init__.py


def discover(paths: list[str], exclude: tuple[str, ...] = (), root: Path | None = None) -> list[SourceFile]:
    excluded = wildmatch_spec(exclude) if exclude else None
    found: dict[str, SourceFile] = {}
    packages = Packages()
    for given in paths:
        path = Path(given)
        if not path.exists() and not path.is_symlink():
            raise MissingPath(given)
        if path.is_dir():
            for file in _walk(path, excluded, root):
                found.setdefault(str(file), _source_file(file, given, path, packages))
        elif not _is_excluded(path, excluded, root):
            found.setdefault(str(path), _source_file(path, given, None, packages))
    return sorted(found.values(), key=lambda f: f.display)


def single_file(path: Path, exclude: tuple[str, ...] = (), root: Path | None = None) -> SourceFile | None:
    """The file at ``path`` (which need not exist: an unsaved buffer, stdin's name) as a run would
    see it; ``None`` when it is no source file or ``exclude`` excludes it."""
    excluded = wildmatch_spec(exclude) if exclude else None
    if not str(path).endswith(SOURCE_SUFFIXES) or _is_excluded(path, excluded, root):
        return None
    return _source_file(path, str(path), None, Packages())


def _walk(top: Path, excluded: pathspec.PathSpec | None, root: Path | None) -> Iterator[Path]:
    ignores: list[tuple[Path, pathspec.PathSpec]] = []
    unreadable: list[OSError] = []
    # A folder that cannot be listed is not passed over in silence: it is handed on as a
    # "file", which reading turns into JP000 ("cannot read directory: Permission denied").
    for folder, dirs, files in os.walk(top, followlinks=False, onerror=unreadable.append):
        here = Path(folder)
        ignore_file = here / ".gitignore"
        if ignore_file.is_file():
            with contextlib.suppress(OSError):
                ignores.append((here, gitignore_spec(ignore_file.read_text(errors="replace").splitlines())))
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _ALWAYS_SKIPPED
            and not d.endswith(".egg-info")
            and not _ignored(here / d, ignores, True)
            and not _is_excluded(here / d, excluded, root, True)
        )
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            file = here / name
            if not file.is_file():  # a dangling symlink, a socket named .py
                continue
            if _ignored(file, ignores, False) or _is_excluded(file, excluded, root):
                continue
            yield file
    for error in unreadable:
        if error.filename:
            yield Path(error.filename)


def wildmatch_spec(lines: list[str] | tuple[str, ...]) -> pathspec.PathSpec:
    """``PathSpec.from_lines("gitwildmatch", lines)``, quiet: pathspec 1.x deprecates the name,
    and under ``-W error`` (``PYTHONWARNINGS=error``) that warning would end the run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def gitignore_spec(lines: list[str]) -> pathspec.PathSpec:
    """A ``.gitignore``'s patterns; as git does, a line it cannot use (``!``, ``[z-a]``) is passed over."""
    try:
        return wildmatch_spec(lines)
    except (ValueError, re.error):
        pass
    patterns: list[pathspec.Pattern] = []
    for line in lines:
        try:
            patterns.extend(wildmatch_spec([line]).patterns)
        except (ValueError, re.error):
            continue
    return pathspec.PathSpec(patterns)


def _ignored(path: Path, ignores: list[tuple[Path, pathspec.PathSpec]], is_dir: bool) -> bool:
    for base, spec in ignores:
        try:
            relative = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False


def _is_excluded(path: Path, excluded: pathspec.PathSpec | None, root: Path | None, is_dir: bool = False) -> bool:
    if excluded is None:
        return False
    candidates = [path.as_posix()]
    if root is not None:
        with contextlib.suppress(ValueError):
            candidates.append(_resolve(path).relative_to(root).as_posix())
    suffix = "/" if is_dir else ""
    return any(excluded.match_file(c + suffix) for c in candidates)


def _source_file(file: Path, given: str, given_dir: Path | None, packages: Packages) -> SourceFile:
    if given_dir is None:
        display = given
    else:
        relative = file.relative_to(given_dir).as_posix()
        display = os.path.join(given, relative) if given not in (".", "./") else relative
    module, is_package = module_name(file, packages)
    return SourceFile(file, display, module, is_package)


class Packages:
    """What one discovery learns per folder: its resolved path and the package names above it.

    Files in the same folder then cost one ``lstat``, not a ``realpath`` and a
    walk up the tree each.
    """

    def __init__(self) -> None:
        self._resolved: dict[str, Path] = {}
        self._above: dict[Path, list[str]] = {}

    def folder_of(self, file: Path) -> Path:
        if os.path.islink(file):
            return _resolve(file).parent
        parent = str(file.parent)
        folder = self._resolved.get(parent)
        if folder is None:
            folder = self._resolved[parent] = _resolve(file.parent)
        return folder

    def names_above(self, folder: Path) -> list[str]:
        """The package names from ``folder`` up, innermost first."""
        above = self._above.get(folder)
        if above is None:
            above = self._above[folder] = []
            while (folder / "__init__.py").is_file() and folder != folder.parent:
                above.append(folder.name)
                folder = folder.parent
        return above


def module_name(file: Path, packages: Packages | None = None) -> tuple[str | None, bool]:
    """``pkg.sub.mod`` from the folders with ``__init__.py`` above ``file``."""
    if file.suffix not in (".py", ".pyi"):
        return None, False
    packages = packages or Packages()
    is_package = file.stem == "__init__"
    parts = [] if is_package else [file.stem]
    parts.extend(packages.names_above(packages.folder_of(file)))
    if not parts or not all(p.isidentifier() for p in parts):
        return None, is_package
    return ".".join(reversed(parts)), is_package


def _resolve(path: Path) -> Path:
    """``path.resolve()``, or the absolute path where resolving fails (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))
