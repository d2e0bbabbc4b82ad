"""The language server: LSP features wired to the session (checks), actions and hover.

Built on pygls; every diagnostic comes from ``jaxpure.api`` as ``jaxpure
check`` computes it. ``initializationOptions`` (all optional):
``{"debounceMs": 150, "jobs": <cores>, "cache": true}`` — the wait after the
last keystroke before a check, the worker processes of a full check, and
whether the first check of a folder reads and fills ``.jaxpure_cache``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer

import jaxpure
from jaxpure.driver.modules import describe_internal_error
from jaxpure.files.source import source_lines
from jaxpure.server import actions, hover
from jaxpure.server.documents import TextView
from jaxpure.server.session import Session, Shown

log = logging.getLogger("jaxpure.server")

_WATCHED = ("**/*.py", "**/*.pyi", "**/*.ipynb", "**/pyproject.toml")
_NOTEBOOKS = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")])],
    save=True,
)


class JaxpureServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "jaxpure",
            jaxpure.__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=_NOTEBOOKS,
        )
        self.session = Session(self)

    def report_server_error(self, error: Exception, source) -> None:
        # Logged, not shown: a failing request answers with an error of its own; the server goes on.
        log.error("jaxpure server error: %s", describe_internal_error(error))


def build_server() -> JaxpureServer:
    server = JaxpureServer()
    session = server.session

    @server.feature(types.INITIALIZE)
    def initialize(ls: JaxpureServer, params: types.InitializeParams) -> None:
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        if isinstance(options.get("debounceMs"), int | float):
            session.debounce = max(float(options["debounceMs"]), 0.0) / 1000
        if isinstance(options.get("jobs"), int) and options["jobs"] > 0:
            session.jobs = options["jobs"]
        if isinstance(options.get("cache"), bool):
            session.use_cache = options["cache"]
        session.warm_up()  # the folders are known now: start checking them while the client goes on

    @server.feature(types.INITIALIZED)
    def initialized(ls: JaxpureServer, params: types.InitializedParams) -> None:
        _watch_files(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: JaxpureServer, params: types.DidOpenTextDocumentParams) -> None:
        session.schedule()

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: JaxpureServer, params: types.DidChangeTextDocumentParams) -> None:
        session.schedule(session.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: JaxpureServer, params: types.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri.endswith("pyproject.toml"):
            session.reconfigure()
        session.schedule()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: JaxpureServer, params: types.DidCloseTextDocumentParams) -> None:
        session.closed([params.text_document.uri])
        session.schedule()  # the file on disk stands in for the buffer again: other modules may change

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: JaxpureServer, params: types.DidOpenNotebookDocumentParams) -> None:
        session.schedule()

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: JaxpureServer, params: types.DidChangeNotebookDocumentParams) -> None:
        closed = (
            params.change.cells.structure.did_close if params.change.cells and params.change.cells.structure else None
        )
        if closed:
            session.closed([cell.uri for cell in closed])
        session.schedule(session.debounce)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: JaxpureServer, params: types.DidSaveNotebookDocumentParams) -> None:
        session.schedule()

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: JaxpureServer, params: types.DidCloseNotebookDocumentParams) -> None:
        session.closed([cell.uri for cell in params.cell_text_documents])
        session.schedule()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls: JaxpureServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.endswith("pyproject.toml") for change in params.changes):
            session.reconfigure()
        else:
            session.files_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders_changed(ls: JaxpureServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        session.reconfigure()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL_KIND]),
    )
    async def code_action(ls: JaxpureServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        shown = session.shown_now(params.text_document.uri)
        if shown is None:
            return None
        codec = ls.workspace.position_codec
        if actions.asks_fix_all(params.context.only):
            fixable = [f for f in shown.findings if f.fixable]
            if not fixable or not isinstance(shown.view, TextView):
                return []
            fixed = await session.in_analysis_thread(_fixed_text, session, shown, fixable)
            return [actions.fix_all_action(shown.part.uri, shown.part.text, fixed, codec)] if fixed else []
        found = []
        for finding, diagnostic in zip(shown.findings, shown.diagnostics, strict=True):
            if actions.overlaps(diagnostic.range, params.range):
                found.append((finding, diagnostic))
        result: list[types.CodeAction] = []
        noqa_lines: set[tuple[int, str]] = set()  # one "ignore" per code and line
        for finding, diagnostic in found:
            if finding.fixable and isinstance(shown.view, TextView):
                fixed = await session.in_analysis_thread(_fixed_text, session, shown, [finding])
                if fixed is not None:
                    result.append(
                        actions.fix_action(shown.part.uri, shown.part.text, fixed, finding, diagnostic, codec)
                    )
            line = diagnostic.range.start.line
            if (line, finding.code) in noqa_lines:
                continue
            noqa_lines.add((line, finding.code))
            noqa = actions.noqa_action(shown.part.uri, shown.part.text, line, finding, diagnostic, codec)
            if noqa is not None:
                result.append(noqa)
        return result

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: JaxpureServer, params: types.HoverParams) -> types.Hover | None:
        text = session.current_text(params.text_document.uri)
        if text is None:
            return None
        lines = source_lines(text)
        position = params.position
        if position.line < len(lines):
            server_position = ls.workspace.position_codec.position_from_client_units(lines, position)
            code = hover.noqa_code_at(lines[position.line], server_position.character)
            if code is not None:
                return hover.documentation([code])
        shown = session.shown_now(params.text_document.uri)
        if shown is None:
            return None
        point = types.Range(position, position)
        codes = [
            f.code for f, d in zip(shown.findings, shown.diagnostics, strict=True) if actions.overlaps(d.range, point)
        ]
        return hover.documentation(codes)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: JaxpureServer, params: None) -> None:
        session.executor.shutdown(wait=False, cancel_futures=True)

    return server


def _fixed_text(session: Session, shown: Shown, findings: list) -> str | None:
    """The document's text with ``findings`` fixed, or ``None`` when no fix applies (analysis thread)."""
    try:
        workspace = session.projects().for_path(shown.view.path)
        outcome = workspace.fix(Path(shown.view.path), shown.part.text, findings)
    except Exception as error:  # no fix offered; the server goes on
        log.error("computing a fix failed: %s", describe_internal_error(error))
        return None
    if not outcome.changed or not outcome.applied:
        return None
    return outcome.source


def _watch_files(ls: JaxpureServer) -> None:
    """Ask the client to report created, changed and deleted source and configuration files, if it can."""
    capabilities = ls.client_capabilities.workspace
    watched = capabilities.did_change_watched_files if capabilities is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in _WATCHED]
    )
    registration = types.Registration(
        id="jaxpure-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
    )
    ls.client_register_capability(types.RegistrationParams(registrations=[registration]))


def serve() -> int:
    """Speak LSP on stdin/stdout until the client says exit."""
    build_server().start_io()
    return 0
