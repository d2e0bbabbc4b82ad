"""A content-keyed cache of per-module results in ``.jaxpure_cache/``.

Entries are keyed by the file's bytes and everything else its analysis
depends on (its module name, the calls other modules make into it, the set
of project modules); the cache folder is namespaced by jaxpure's version and
code and the configuration fingerprint, so an upgrade, an edit of jaxpure
itself or a config change starts afresh. One pickle per namespace, read once
and written atomically.

Each entry is kept pickled (bytes) and unpickled only when asked for, so
loading the cache costs no more than reading it, and imports nothing: a
module's result refers to the analyzer's classes, and importing those
(libcst with them) would cost a warm run more than everything else it does.
Besides module entries the cache keeps a few whole-run records: every
module's findings for a run, keyed by the keys of all its files, which is
what a re-run with nothing changed needs and all it reads.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

CACHE_DIR_NAME = ".jaxpure_cache"
_FORMAT = 2
_MAX_ENTRIES = 20_000
_MAX_RUNS = 8


def content_key(data: bytes, context: str) -> str:
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(context.encode())
    return digest.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Changes whenever any of jaxpure's own source files does (size or modification time)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=8)
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(path, package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, folder: Path, namespace: str) -> None:
        self.folder = folder
        self.file = folder / f"{namespace}.pickle"
        self._entries: dict[str, bytes] = {}
        self._runs: dict[str, bytes] = {}
        self._used: dict[str, bytes] = {}
        self._dirty = False
        try:
            with open(self.file, "rb") as handle:
                loaded = pickle.load(handle)
            if isinstance(loaded, dict) and loaded.get("format") == _FORMAT:
                self._entries = dict(loaded["entries"])
                self._runs = dict(loaded["runs"])
        except (
            OSError,
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            ImportError,
            TypeError,
            ValueError,
            KeyError,
        ):
            self._entries, self._runs = {}, {}  # a missing, stale or corrupt cache is just a cold run

    def get(self, key: str):
        data = self._entries.get(key)
        value = _loads(data) if data is not None else None
        if value is not None:
            self._used[key] = data  # type: ignore[assignment]
        return value

    def put(self, key: str, value) -> None:
        self._used[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._dirty = True

    def get_run(self, key: str):
        data = self._runs.get(key)
        return _loads(data) if data is not None else None

    def put_run(self, key: str, value) -> None:
        self._runs.pop(key, None)
        self._runs[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        while len(self._runs) > _MAX_RUNS:
            del self._runs[next(iter(self._runs))]  # the oldest
        self._dirty = True

    def save(self) -> None:
        """Keep what this run used (stale entries drop out); write atomically; never fail the run."""
        if not self._dirty:
            return  # nothing new: the file on disk already holds everything this run read
        # Keep entries other runs (on other paths) used, unless the cache has grown stale and large.
        merged = {**self._entries, **self._used}
        entries = merged if len(merged) <= _MAX_ENTRIES else self._used
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _mark_cache_folder(self.folder)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(
                        {"format": _FORMAT, "entries": entries, "runs": self._runs},
                        out,
                        protocol=pickle.HIGHEST_PROTOCOL,
                    )
                os.replace(temporary, self.file)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            pass


def _loads(data: bytes):
    try:
        return pickle.loads(data)
    except Exception:  # an entry that no longer loads (a class moved): recompute it
        return None


def _mark_cache_folder(folder: Path) -> None:
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n# jaxpure's cache; safe to delete.\n")
        (folder / ".gitignore").write_text("*\n")


class MemoryCache:
    """The results of the last run, in memory, for the next one (a long-lived process: the server).

    The same interface as ``ResultCache``; ``save()`` ends a run and keeps only
    what it used, so memory holds one result per module (and its seeded
    variants), not every version a module ever had. ``fallback``, when set, is
    asked on a miss and written on save (the first run of a server reads and
    fills the CLI's cache on disk; later runs leave it alone).
    """

    def __init__(self, fallback: ResultCache | None = None) -> None:
        self.fallback = fallback
        self._entries: dict[str, object] = {}
        self._used: dict[str, object] = {}
        self._run: tuple[str, object] | None = None

    def get(self, key: str):
        value = self._entries.get(key)
        if value is None and self.fallback is not None:
            value = self.fallback.get(key)
        if value is not None:
            self._used[key] = value
        return value

    def put(self, key: str, value) -> None:
        self._used[key] = value
        if self.fallback is not None:
            self.fallback.put(key, value)

    def get_run(self, key: str):
        return self._run[1] if self._run is not None and self._run[0] == key else None

    def put_run(self, key: str, value) -> None:
        self._run = (key, value)

    def save(self) -> None:
        if self._used:  # nothing used: the whole run came from its run record, and every entry still holds
            self._entries, self._used = self._used, {}
        if self.fallback is not None:
            self.fallback.save()


ResultStore = ResultCache | MemoryCache  # what a run reads earlier results from and records its own in
