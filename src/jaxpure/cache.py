"""A content-keyed cache of per-module results in ``.jaxpure_cache/``.

Entries are keyed by the file's bytes and everything else its analysis
depends on (its module name, the calls other modules make into it, the set
of project modules); the cache folder is namespaced by jaxpure's version and
the configuration fingerprint, so an upgrade or a config change starts
afresh. One pickle per namespace, read once and written atomically.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

CACHE_DIR_NAME = ".jaxpure_cache"
_MAX_ENTRIES = 20_000


def content_key(data: bytes, context: str) -> str:
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(context.encode())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, folder: Path, namespace: str) -> None:
        self.folder = folder
        self.file = folder / f"{namespace}.pickle"
        self._entries: dict[str, object] = {}
        self._used: dict[str, object] = {}
        self._dirty = False
        try:
            with open(self.file, "rb") as handle:
                loaded = pickle.load(handle)
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            self._entries = {}  # a missing, stale or corrupt cache is just a cold run

    def get(self, key: str):
        value = self._entries.get(key)
        if value is not None:
            self._used[key] = value
        return value

    def put(self, key: str, value) -> None:
        self._used[key] = value
        self._dirty = True

    def save(self) -> None:
        """Keep what this run used (stale entries drop out); write atomically; never fail the run."""
        if not self._dirty and len(self._used) == len(self._entries):
            return
        # Keep entries other runs (on other paths) used, unless the cache has grown stale and large.
        merged = {**self._entries, **self._used}
        entries = merged if len(merged) <= _MAX_ENTRIES else self._used
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _mark_cache_folder(self.folder)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                pickle.dump(entries, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.file)
        except OSError:
            pass


def _mark_cache_folder(folder: Path) -> None:
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n# jaxpure's cache; safe to delete.\n")
        (folder / ".gitignore").write_text("*\n")
