"""The server's state and its one analysis thread: when to check, what to publish.

Edits arrive on the event loop; a check is scheduled (at once on open and
save, after ``debounce`` seconds on change) and runs on a single analysis
thread, so the loop keeps answering hovers and code actions from the last
results meanwhile. A check covers every project with an open document: the
whole project is analyzed with the open buffers as overlays (from the
previous check's results, so only what an edit affects is analyzed again),
and every open document whose diagnostics changed is published, including
documents other than the one edited. Nothing that goes wrong while checking
ends the server: a document that could not be checked shows a JP000.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types
from pygls import uris

from jaxpure.api import Workspace
from jaxpure.driver.modules import describe_internal_error
from jaxpure.findings import Finding
from jaxpure.server.convert import internal_error_diagnostic, to_diagnostic
from jaxpure.server.documents import NotebookView, Part, TextView, View
from jaxpure.server.projects import Projects

log = logging.getLogger("jaxpure.server")

SOURCE_SUFFIXES = (".py", ".pyi")
DEFAULT_DEBOUNCE = 0.15  # seconds after the last keystroke


@dataclass(slots=True)
class Checked:
    """One view's outcome of a check: its findings (all parts), or why it could not be checked."""

    view: View
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Shown:
    """What a document shows now: the text it was checked as, its findings and their diagnostics."""

    view: View
    part: Part
    findings: tuple[Finding, ...]
    diagnostics: tuple[types.Diagnostic, ...]


class Session:
    def __init__(self, server) -> None:
        self.server = server
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="jaxpure-analysis")
        self.debounce = DEFAULT_DEBOUNCE
        self.jobs = os.cpu_count() or 1
        self.use_cache = True
        self.shown: dict[str, Shown] = {}  # by document (cell) uri
        self._projects: Projects | None = None
        self._reset_projects = False
        self._rediscover = False
        self._timer: asyncio.TimerHandle | None = None
        self._running: asyncio.Future | None = None
        self._again = False
        self._warm = False
        self._told: set[str] = set()

    # -- scheduling (event loop) --------------------------------------------------------------

    def schedule(self, delay: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(delay, self._start)

    def warm_up(self) -> None:
        """Check every workspace folder now, before any document asks: the first diagnostics come sooner."""
        self._warm = True
        self.schedule()

    def reconfigure(self) -> None:
        """A configuration file changed, or the workspace folders: projects are opened afresh."""
        self._reset_projects = self._warm = True
        self.schedule()

    def files_changed(self) -> None:
        """Files changed on disk (created, deleted, edited outside the editor): the projects look again."""
        self._rediscover = True
        self.schedule()

    def _start(self) -> None:
        self._timer = None
        if self._running is not None and not self._running.done():
            self._again = True
            return
        self._running = asyncio.ensure_future(self._check())

    async def _check(self) -> None:
        views = self.views()
        try:
            outcome, messages = await asyncio.get_running_loop().run_in_executor(self.executor, self._analyze, views)
        except Exception as error:
            log.exception("check failed")
            outcome, messages = [Checked(view, error=describe_internal_error(error)) for view in views], []
        self._tell(messages)
        self._publish(outcome)
        self._running = None
        if self._again:
            self._again = False
            self._start()

    async def in_analysis_thread(self, function, *arguments):
        """Run ``function`` after any check in progress, on the analysis thread (it owns the projects)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *arguments)

    # -- the open documents (event loop) -----------------------------------------------------

    def views(self) -> list[View]:
        workspace = self.server.workspace
        views: list[View] = []
        cells: set[str] = set()
        for uri, notebook in list(workspace.notebook_documents.items()):
            path = _path(uri)
            code = []
            for cell in notebook.cells:
                cells.add(unquote(cell.document))
                document = workspace.text_documents.get(unquote(cell.document))
                if document is None or cell.kind != types.NotebookCellKind.Code:
                    continue
                if (document.language_id or "python") == "python":
                    code.append((cell.document, document.source))
            if path is not None and path.suffix == ".ipynb":
                views.append(NotebookView(notebook.uri, path, tuple(code)))
        for uri, document in list(workspace.text_documents.items()):
            path = _path(document.uri)
            if unquote(uri) in cells or path is None or path.suffix not in SOURCE_SUFFIXES:
                continue
            views.append(TextView(document.uri, path, document.source))
        return views

    def current_text(self, uri: str) -> str | None:
        document = self.server.workspace.text_documents.get(unquote(uri))
        return document.source if document is not None else None

    def shown_now(self, uri: str) -> Shown | None:
        """What ``uri`` shows, if its text is still the text that was checked."""
        shown = self.shown.get(uri)
        if shown is None or self.current_text(uri) != shown.part.text:
            return None
        return shown

    def closed(self, uris_closed: list[str]) -> None:
        for uri in uris_closed:
            self.shown.pop(uri, None)
            self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # -- checking (analysis thread) ----------------------------------------------------------

    def projects(self) -> Projects:
        if self._projects is None or self._reset_projects:
            self._reset_projects = self._rediscover = False
            self._projects = Projects(self._folders(), jobs=self.jobs, use_cache=self.use_cache)
        if self._rediscover:
            self._rediscover = False
            for workspace in self._projects.all():
                workspace.rediscover()
        return self._projects

    def _folders(self) -> list[Path]:
        workspace = self.server.workspace
        folders = [_path(folder.uri) for folder in list(workspace.folders.values())]
        if not folders and workspace.root_uri:
            folders = [_path(workspace.root_uri)]
        return [folder for folder in folders if folder is not None and folder.is_dir()]

    def _analyze(self, views: list[View]) -> tuple[list[Checked], list[str]]:
        projects = self.projects()
        groups: dict[int, tuple[Workspace, list[View]]] = {}
        outcome: list[Checked] = []
        if self._warm:
            self._warm = False
            for folder in projects.folders:
                workspace = projects.for_path(folder)
                groups.setdefault(id(workspace), (workspace, []))
        for view in views:
            try:
                workspace = projects.for_path(view.path)
            except Exception as error:
                outcome.append(Checked(view, error=describe_internal_error(error)))
                continue
            groups.setdefault(id(workspace), (workspace, []))[1].append(view)
        for workspace, members in groups.values():
            outcome.extend(self._check_project(workspace, members))
        messages, projects.messages = projects.messages, []
        return outcome, messages

    @staticmethod
    def _check_project(workspace: Workspace, views: list[View]) -> list[Checked]:
        try:
            results = workspace.check({view.path: view.overlay for view in views})
        except Exception as error:
            log.exception("checking a project failed")
            return [Checked(view, error=describe_internal_error(error)) for view in views]
        checked = []
        for view in views:
            result = results.get(view.path)
            checked.append(Checked(view, list(result.findings) if result is not None else []))
        return checked

    # -- publishing (event loop) -------------------------------------------------------------

    def _publish(self, outcome: list[Checked]) -> None:
        open_now = {view.uri for view in self.views()}
        codec = self.server.workspace.position_codec
        for checked in outcome:
            if checked.view.uri not in open_now:
                continue
            try:
                shown = _shown(checked, codec)
            except Exception as error:
                log.exception("converting findings failed")
                shown = _shown(Checked(checked.view, error=describe_internal_error(error)), codec)
            for part_shown in shown:
                self._send(part_shown)

    def _send(self, shown: Shown) -> None:
        before = self.shown.get(shown.part.uri)
        self.shown[shown.part.uri] = shown
        if before is not None and before.diagnostics == shown.diagnostics and before.part.text == shown.part.text:
            return  # an edit elsewhere that changed nothing here; after an edit here, the client hears back
        params = types.PublishDiagnosticsParams(uri=shown.part.uri, diagnostics=list(shown.diagnostics))
        self.server.text_document_publish_diagnostics(params)

    def _tell(self, messages: list[str]) -> None:
        for message in messages:
            if message not in self._told:
                self._told.add(message)
                self.server.window_show_message(types.ShowMessageParams(types.MessageType.Error, message))
                log.error(message)


def _shown(checked: Checked, codec) -> list[Shown]:
    view = checked.view
    parts = view.parts()
    if not parts:
        return []
    if checked.error is not None:
        error = (internal_error_diagnostic(checked.error),)
        return [Shown(view, part, (), error if index == 0 else ()) for index, part in enumerate(parts)]
    by_part: dict[str, list[Finding]] = {part.uri: [] for part in parts}
    for finding in checked.findings:
        part = view.part_of(finding) or parts[0]
        by_part[part.uri].append(finding)
    shown = []
    for part in parts:
        findings = by_part[part.uri]
        lines = part.lines
        diagnostics = tuple(
            to_diagnostic(f, lines, codec, part.first_line - 1 if part.first_line else 0) for f in findings
        )
        shown.append(Shown(view, part, tuple(findings), diagnostics))
    return shown


def _path(uri: str | None) -> Path | None:
    if not uri:
        return None
    path = uris.to_fs_path(uri)
    return Path(os.path.abspath(path)) if path else None
