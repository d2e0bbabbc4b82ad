"""The projects the server checks: one ``jaxpure.api.Workspace`` per workspace folder.

Each folder is configured as ``jaxpure check`` run in it would be (the
nearest ``pyproject.toml`` with ``[tool.jaxpure]``); an open file outside
every folder joins a project of loose files under its own configuration. A
configuration that cannot be used is reported (``messages``) and the project
runs with the defaults until it is fixed. Only the analysis thread touches
these objects.
"""

from __future__ import annotations

import os
from pathlib import Path

from jaxpure.api import Workspace, default_cache_dir, open_workspace
from jaxpure.config import Config, ConfigError, find_pyproject, load_config


class Projects:
    def __init__(self, folders: list[Path], *, jobs: int, use_cache: bool) -> None:
        self.folders = sorted(folders, key=lambda folder: len(folder.parts), reverse=True)  # innermost first
        self.jobs = jobs
        self.use_cache = use_cache
        self.messages: list[str] = []  # configuration problems, for the user
        self._open: dict[tuple[Path | None, Path | None], Workspace] = {}

    def for_path(self, path: Path) -> Workspace:
        root = next((folder for folder in self.folders if _inside(path, folder)), None)
        key = (root, None) if root is not None else (None, self._config_file(path.parent))
        workspace = self._open.get(key)
        if workspace is None:
            config_file = self._config_file(root) if root is not None else key[1]
            workspace = self._open[key] = self._new(root, config_file)
        return workspace

    @staticmethod
    def _config_file(folder: Path) -> Path | None:
        """The configuration ``jaxpure check`` run in ``folder`` would read."""
        return find_pyproject(folder if folder.is_dir() else Path.cwd())

    def all(self) -> list[Workspace]:
        return list(self._open.values())

    def _new(self, root: Path | None, config_file: Path | None) -> Workspace:
        config = self._config(config_file)
        cache_dir = default_cache_dir(config) if self.use_cache and root is not None else None
        try:
            return open_workspace(root, config, jobs=self.jobs, cache_dir=cache_dir)
        except ConfigError as error:  # a code that names no rule
            self._report(error)
            return open_workspace(root, Config(root=config.root), jobs=self.jobs, cache_dir=cache_dir)

    def _config(self, config_file: Path | None) -> Config:
        try:
            return load_config(config_file)
        except ConfigError as error:
            self._report(error)
            return Config(root=config_file.parent.resolve() if config_file else None)

    def _report(self, error: ConfigError) -> None:
        self.messages.append(f"jaxpure: {error}. Using the default configuration until it is fixed.")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or str(path).startswith(str(folder).rstrip(os.sep) + os.sep)
