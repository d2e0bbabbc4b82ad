"""A project kept in memory between checks: its files, the editor's buffers, its last results.

The language server holds one per workspace folder. Each ``check`` is the
whole-project run ``jaxpure check`` makes (the same ``analyze_files``, so the
same findings), with open buffers as overlays and the previous run's task
results in a ``MemoryCache``: after an edit only the edited module, and the
modules whose seeds or callees' answers the edit changed, are analyzed again.

The file list comes from discovery once, and again when ``rediscover`` is
called (a file created or deleted); a buffer for a file discovery does not
know (new and unsaved) joins the project unless the configuration excludes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jaxpure.config import Config
from jaxpure.driver.cache import MemoryCache, ResultCache
from jaxpure.driver.engine import FileDigests, analyze_files, selected
from jaxpure.driver.modules import unanalyzable
from jaxpure.driver.selection import Selection
from jaxpure.files.discovery import SourceFile, discover, single_file
from jaxpure.files.source import read_source
from jaxpure.findings import Finding

if TYPE_CHECKING:
    from jaxpure.fixes import FixOutcome


@dataclass(frozen=True, slots=True)
class FileFindings:
    file: SourceFile
    findings: list[Finding]  # select/ignore applied, sorted; an internal error is a JP000 finding


class Workspace:
    def __init__(
        self,
        root: Path | None,
        config: Config,
        *,
        select: tuple[str, ...] = (),
        ignore: tuple[str, ...] = (),
        jobs: int = 1,
        disk_cache: ResultCache | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.selection = Selection(config, select, ignore)
        self.jobs = jobs
        self.memory = MemoryCache(disk_cache)
        self.digests = FileDigests()
        self.files: list[SourceFile] = []
        self.rediscover()

    def rediscover(self) -> None:
        """The project's files from disk (none without a root: files outside every workspace folder).
        Called when files were created, deleted or changed on disk."""
        self.digests.forget()
        self.files = discover([str(self.root)], self.config.exclude, self.config.root) if self.root else []
        self._by_path = {file.path: file for file in self.files}

    def file(self, path: Path) -> SourceFile | None:
        """The project's file at ``path``: discovered, or a new one the configuration does not exclude."""
        known = self._by_path.get(path)
        if known is not None:
            return known
        return single_file(path, self.config.exclude, self.config.root)

    def fix(self, path: Path, text: str, findings: list[Finding]) -> FixOutcome:
        """``text`` (``path``'s contents) with the fixes for ``findings`` applied, as ``--fix`` would."""
        from jaxpure.driver.fixing import fix_text

        return fix_text(text, str(path), findings, self.config, self.selection)

    def check(self, overlays: Mapping[Path, str | bytes]) -> dict[Path, FileFindings]:
        """Every file's findings, by path, with ``overlays`` standing in for their files on disk."""
        overlays = {path: text for path, text in overlays.items() if not _as_on_disk(path, text)}
        files = list(self.files)
        for path in overlays:
            if path not in self._by_path:
                extra = self.file(path)
                if extra is not None:
                    files.append(extra)
        results = analyze_files(
            files, self.config, self.jobs, self.memory, overlays=overlays, digests=self.digests
        ).results
        self.memory.fallback = None  # the disk cache serves the first run; later runs are this process's own
        checked = {}
        for file in files:
            result = results[file]
            findings = selected(result.findings, file, self.selection)
            if result.internal_error:
                findings.append(unanalyzable(file.display, f"internal error: {result.internal_error}"))
            checked[file.path] = FileFindings(file, sorted(findings, key=lambda f: f.sort_key))
        return checked


def _as_on_disk(path: Path, text: str | bytes) -> bool:
    """Whether ``text`` is what the file holds (a buffer opened and not edited, or saved): then the
    file's own result, with the same cache key as ``jaxpure check``'s, serves."""
    if isinstance(text, bytes):
        return False
    try:
        return read_source(path) == text
    except OSError:
        return False
