"""flake8 adapter: jaxpure's findings as flake8 ``JP`` errors.

It runs the same analysis as ``jaxpure check FILE`` on the text flake8 has
already read, and reports the same codes, messages, lines and columns. It
leaves ``# noqa``, ``--select``/``--extend-ignore`` and per-file-ignores to
flake8, like any other plugin; ``[tool.jaxpure]`` in the nearest
``pyproject.toml`` applies as it does for the CLI.
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Iterator
from pathlib import Path

from jaxpure import __version__
from jaxpure.config import Config, ConfigError, find_pyproject, load_config

# A module that mentions none of these cannot reach a JAX transform.
_JAX_MODULES = ("jax", "flax", "equinox", "haiku")

Error = tuple[int, int, str, type]


class JaxpureChecker:
    name = "jaxpure"
    version = __version__

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        # flake8 builds the AST of every file anyway; the analysis reuses it
        # rather than parsing the file a second time (libcst parses ``lines``).
        self._tree = tree
        self._lines = lines
        self._filename = filename

    def run(self) -> Iterator[Error]:
        source = "".join(self._lines)
        if not _mentions(source, _JAX_MODULES):
            try:
                extra_modules = _transform_modules(_config_for(_folder_of(self._filename)))
            except ConfigError:
                return  # a file that cannot involve JAX: a broken config is reported on those that do
            if not _mentions(source, extra_modules):
                return
        yield from self._check(source)

    def _check(self, source: str) -> Iterator[Error]:
        try:
            config = _config_for(_folder_of(self._filename))
        except ConfigError as error:
            yield 1, 0, f"JP000 jaxpure configuration error: {error}", type(self)
            return
        from jaxpure.api import check_source  # late: the analyzer is only imported for files that need it

        path = os.path.normpath(self._filename)
        try:
            # apply_noqa=False: flake8 applies noqa comments itself (and honors --disable-noqa).
            findings = check_source(source, path, config, apply_noqa=False, tree=self._tree)
        except Exception as error:  # one file's internal error must not abort flake8's run
            yield 1, 0, f"JP000 jaxpure internal error ({type(error).__name__}: {error}); please report it", type(self)
            return
        for finding in findings:
            # flake8 wants a 0-based column and adds 1 when it reports.
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)


def _mentions(source: str, modules: tuple[str, ...]) -> bool:
    return any(module in source for module in modules)


def _transform_modules(config: Config) -> tuple[str, ...]:
    """The top-level modules of the configured ``extend-transforms`` (``mylib`` for ``mylib.compile``)."""
    return tuple({name.split(".")[0] for name, _ in config.extend_transforms})


def _folder_of(filename: str) -> Path:
    path = Path(filename)
    # flake8 names standard input "stdin" (or --stdin-display-name): look from the working directory.
    return path.parent.resolve() if path.is_file() else Path.cwd()


@functools.cache
def _config_for(folder: Path) -> Config:
    """``[tool.jaxpure]`` of the nearest pyproject.toml, read once per folder and process."""
    return load_config(find_pyproject(folder))
