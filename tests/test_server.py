"""``jaxpure server`` as an editor meets it: spawned, spoken to over its pipes (LSP), shut down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsp_client import LspClient

from jaxpure.driver.suppress import with_noqa
from jaxpure.output.context import load_rule_infos
from jaxpure.output.reference import render_reference

SRC = Path(__file__).resolve().parents[1] / "src"
FAST = {"debounceMs": 20, "cache": False, "jobs": 1}

BUGGY = textwrap.dedent("""\
    import jax
    import numpy as np


    @jax.jit
    def step(x):
        print("x is", x)
        return np.sin(x) * 2
""")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture
def server(tmp_path: Path):
    clients = []

    def start(command: list[str] | None = None, options: dict | None = None, capabilities: dict | None = None):
        client = LspClient(command or [sys.executable, "-m", "jaxpure", "server"], tmp_path, _env())
        clients.append(client)
        client.initialize(tmp_path, {**FAST, **(options or {})}, capabilities)
        return client

    yield start
    for client in clients:
        client.kill()


def check_json(folder: Path, *paths: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--format", "json", *paths],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(result.stdout)["findings"]


def as_check_finding(diagnostic: dict) -> tuple:
    start, end = diagnostic["range"]["start"], diagnostic["range"]["end"]
    severity = {1: "error", 2: "warning"}[diagnostic["severity"]]
    return (
        start["line"] + 1,
        start["character"] + 1,
        end["line"] + 1,
        end["character"] + 1,
        diagnostic["code"],
        severity,
        diagnostic["message"],
    )


def apply_edits(text: str, edits: list[dict]) -> str:
    """Apply LSP text edits (ASCII text: UTF-16 units are characters)."""
    lines = text.splitlines(keepends=True)

    def offset(position: dict) -> int:
        return sum(len(line) for line in lines[: position["line"]]) + position["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]) :]
    return text


def code_actions(client: LspClient, uri: str, line: int) -> list[dict]:
    point = {"line": line, "character": 4}
    return client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": {"start": point, "end": point},
            "context": {"diagnostics": []},
        },
    )


def test_diagnostics_are_those_of_jaxpure_check(server, tmp_path: Path) -> None:
    (tmp_path / "buggy.py").write_text(BUGGY)
    client = server()
    uri = client.open(tmp_path / "buggy.py")
    diagnostics = client.diagnostics(uri)
    expected = [
        (f["line"], f["column"], f["end_line"], f["end_column"], f["code"], f["severity"], f["message"])
        for f in check_json(tmp_path, "buggy.py")
    ]
    assert [as_check_finding(d) for d in diagnostics] == expected
    assert {d["code"] for d in diagnostics} == {"JP101", "JP501"}
    assert all(d["source"] == "jaxpure" for d in diagnostics)
    jp101 = next(d for d in diagnostics if d["code"] == "JP101")
    assert jp101["codeDescription"]["href"].endswith("docs/rules.md#jp101-print-in-traced-function")
    assert client.shutdown() == 0


def test_an_edit_is_checked_after_the_debounce(server, tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("import jax\n\n\n@jax.jit\ndef f(x):\n    return x + 1\n")
    client = server()
    uri = client.open(tmp_path / "clean.py")
    assert client.diagnostics(uri) == []
    client.change(uri, "import jax\n\n\n@jax.jit\ndef f(x):\n    print(x)\n    return x + 1\n", 2)
    [diagnostic] = client.diagnostics(uri)
    assert diagnostic["code"] == "JP101" and diagnostic["range"]["start"] == {"line": 5, "character": 4}
    client.change(uri, "def f(:\n", 3)  # half-typed: a JP000 at the parser's position, and the server goes on
    [broken] = client.diagnostics(uri)
    assert broken["code"] == "JP000" and "syntax error" in broken["message"]


def test_a_finding_reached_from_another_module_follows_edits_there(server, tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    caller = "import jax\n\nfrom pkg.helpers import helper\n\n\n@jax.jit\ndef step(x):\n    return helper(x)\n"
    (package / "train.py").write_text(caller)
    (package / "helpers.py").write_text(
        "import jax.numpy as jnp\n\n\ndef helper(x):\n    print(x)\n    return jnp.sin(x)\n"
    )
    assert [f["code"] for f in check_json(tmp_path, ".")] == ["JP101"]  # as CI sees it

    client = server()
    helpers = client.open(package / "helpers.py")
    [diagnostic] = client.diagnostics(helpers)
    assert diagnostic["code"] == "JP101" and diagnostic["range"]["start"]["line"] == 4
    # The call is no longer traced once `train.py` drops the jit, unsaved: helpers.py is republished.
    train = client.open(package / "train.py")
    client.change(train, caller.replace("@jax.jit\n", ""), 2)
    assert client.diagnostics(helpers) == []
    client.change(train, caller, 3)
    assert [d["code"] for d in client.diagnostics(helpers)] == ["JP101"]
    # A fix cannot be verified in helpers.py alone: only the noqa action is offered.
    titles = [action["title"] for action in code_actions(client, helpers, 4)]
    assert titles == ["Ignore JP101 on this line (# noqa)"]


def test_the_folder_the_server_starts_in_does_not_change_the_diagnostics(tmp_path: Path) -> None:
    started_in, opened = tmp_path / "started_in", tmp_path / "opened"
    for folder, source in ((started_in, BUGGY), (opened, BUGGY.replace('print("x is", x)', "x[0] = 1"))):
        folder.mkdir()
        (folder / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (folder / "buggy.py").write_text(source)
    for root in (started_in, opened):  # the folder it runs in, or another one: either way, what check says
        client = LspClient([sys.executable, "-m", "jaxpure", "server"], started_in, _env())
        try:
            client.initialize(root, FAST)
            diagnostics = client.diagnostics(client.open(root / "buggy.py"))
            expected = [
                (f["line"], f["column"], f["end_line"], f["end_column"], f["code"], f["severity"], f["message"])
                for f in check_json(root, "buggy.py")
            ]
            assert [as_check_finding(d) for d in diagnostics] == expected
            assert client.shutdown() == 0
        finally:
            client.kill()


def test_files_changed_on_disk_are_followed_when_the_client_reports_them(server, tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(
        "import jax.numpy as jnp\n\n\ndef helper(x):\n    print(x)\n    return jnp.sin(x)\n"
    )
    client = server(capabilities={"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}})
    registration = client.wait_for("client/registerCapability")
    assert registration["registrations"][0]["method"] == "workspace/didChangeWatchedFiles"
    helpers = client.open(package / "helpers.py")
    assert client.diagnostics(helpers) == []
    train = package / "train.py"  # created outside the editor (a git checkout), never opened
    train.write_text("import jax\n\nfrom pkg.helpers import helper\n\n\n@jax.jit\ndef step(x):\n    return helper(x)\n")
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": train.as_uri(), "type": 1}]})
    assert [d["code"] for d in client.diagnostics(helpers, predicate=bool)] == ["JP101"]
    train.write_text(train.read_text().replace("@jax.jit\n", ""))
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": train.as_uri(), "type": 2}]})
    assert client.diagnostics(helpers, predicate=lambda d: not d) == []


def test_code_actions_fix_as_check_fix_does_and_add_noqa(server, tmp_path: Path) -> None:
    (tmp_path / "buggy.py").write_text(BUGGY)
    client = server()
    uri = client.open(tmp_path / "buggy.py")
    client.diagnostics(uri)
    fix, noqa = code_actions(client, uri, 6)
    assert fix["title"] == "Fix JP101 (print-in-traced-function)" and fix["kind"] == "quickfix"
    fixed = apply_edits(BUGGY, fix["edit"]["changes"][uri])
    assert 'jax.debug.print("x is {}", x)' in fixed and "np.sin" in fixed  # that finding only

    other = tmp_path / "other" / "buggy.py"
    other.parent.mkdir()
    other.write_text(BUGGY)
    subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--fix", "--select", "JP101", "buggy.py"],
        cwd=other.parent,
        env=_env(),
        capture_output=True,
        timeout=120,
    )
    assert fixed == other.read_text()

    assert apply_edits(BUGGY, noqa["edit"]["changes"][uri]).splitlines()[6] == '    print("x is", x)  # noqa: JP101'
    merged_source = BUGGY.replace('print("x is", x)', 'print("x is", x)  # noqa: E501')
    client.change(uri, merged_source, 2)
    client.diagnostics(uri)
    noqa = next(a for a in code_actions(client, uri, 6) if a["title"].startswith("Ignore"))
    assert apply_edits(merged_source, noqa["edit"]["changes"][uri]).splitlines()[6].endswith("# noqa: E501,JP101")


def test_fix_all_is_the_fix_of_every_fixable_finding(server, tmp_path: Path) -> None:
    (tmp_path / "buggy.py").write_text(BUGGY)
    client = server()
    uri = client.open(tmp_path / "buggy.py")
    client.diagnostics(uri)
    start = {"line": 0, "character": 0}
    [action] = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": {"start": start, "end": start},
            "context": {"diagnostics": [], "only": ["source.fixAll"]},
        },
    )
    assert action["kind"] == "source.fixAll.jaxpure"
    fixed = apply_edits(BUGGY, action["edit"]["changes"][uri])
    subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--fix", "buggy.py"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert fixed == (tmp_path / "buggy.py").read_text() != BUGGY
    # Without being asked for it, the (costly) fix-all is not computed.
    titles = [a["title"] for a in code_actions(client, uri, 0)]
    assert not any("Fix all" in title for title in titles)


def test_hover_shows_the_rule_documentation(server, tmp_path: Path) -> None:
    source = BUGGY.replace("return np.sin(x) * 2", "return np.sin(x) * 2  # noqa: JP501")
    (tmp_path / "buggy.py").write_text(source)
    client = server()
    uri = client.open(tmp_path / "buggy.py")
    assert [d["code"] for d in client.diagnostics(uri)] == ["JP101"]
    on_finding = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 6, "character": 6}}
    )
    assert on_finding["contents"]["kind"] == "markdown"
    assert on_finding["contents"]["value"].startswith("### JP101 print-in-traced-function")
    assert "Why is this bad?" in on_finding["contents"]["value"]
    column = source.splitlines()[7].index("JP501") + 2
    on_noqa = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 7, "character": column}}
    )
    assert on_noqa["contents"]["value"].startswith("### JP501 numpy-on-traced-value")
    elsewhere = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}
    )
    assert elsewhere is None


_FAILING_SERVER = """
import sys
from jaxpure.driver import modules

analyze = modules._analyze_text

def failing(text, path, *rest):
    if path.endswith("boom.py"):
        raise KeyError("planted by the test")
    return analyze(text, path, *rest)

modules._analyze_text = failing
from jaxpure.cli import main
sys.exit(main(["server"]))
"""


def test_an_internal_error_is_a_jp000_on_that_file_and_the_server_goes_on(server, tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(BUGGY)
    (tmp_path / "buggy.py").write_text(BUGGY)
    client = server([sys.executable, "-c", _FAILING_SERVER])
    boom = client.open(tmp_path / "boom.py")
    [diagnostic] = client.diagnostics(boom)
    assert diagnostic["code"] == "JP000"
    assert "internal error" in diagnostic["message"] and "planted by the test" in diagnostic["message"]
    buggy = client.open(tmp_path / "buggy.py")
    assert {d["code"] for d in client.diagnostics(buggy)} == {"JP101", "JP501"}
    assert client.shutdown() == 0


def test_a_broken_configuration_is_a_message_not_a_dead_server(server, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nselect = ["JP999"]\n')
    (tmp_path / "buggy.py").write_text(BUGGY)
    client = server()
    uri = client.open(tmp_path / "buggy.py")
    message = client.wait_for("window/showMessage")
    assert message["type"] == 1 and "'JP999' matches no rule" in message["message"]
    assert {d["code"] for d in client.diagnostics(uri)} == {"JP101", "JP501"}  # the defaults meanwhile


def test_the_configuration_is_read_as_the_cli_reads_it(server, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nignore = ["JP5"]\n')
    (tmp_path / "buggy.py").write_text(BUGGY)
    client = server()
    uri = client.open(tmp_path / "buggy.py")
    assert [d["code"] for d in client.diagnostics(uri)] == ["JP101"]


def test_notebook_cells_get_their_diagnostics(server, tmp_path: Path) -> None:
    notebook = tmp_path / "explore.ipynb"
    notebook.write_text("{}")
    client = server(capabilities={"notebookDocument": {"synchronization": {}}})
    cells = ["import jax\n", "%matplotlib inline\n@jax.jit\ndef f(x):\n    print(x)\n    return x\n"]
    cell_uris = [f"vscode-notebook-cell:{notebook}#cell{i}" for i in range(len(cells))]
    client.notify(
        "notebookDocument/didOpen",
        {
            "notebookDocument": {
                "uri": notebook.as_uri(),
                "notebookType": "jupyter-notebook",
                "version": 1,
                "cells": [{"kind": 2, "document": uri} for uri in cell_uris],
            },
            "cellTextDocuments": [
                {"uri": uri, "languageId": "python", "version": 1, "text": text}
                for uri, text in zip(cell_uris, cells, strict=True)
            ],
        },
    )
    [diagnostic] = client.diagnostics(cell_uris[1], predicate=bool)
    assert diagnostic["code"] == "JP101"
    assert diagnostic["range"]["start"] == {"line": 3, "character": 4}  # the line within the cell


def test_noqa_merges_into_an_existing_comment() -> None:
    assert with_noqa("    print(x)", "JP101") == "    print(x)  # noqa: JP101"
    assert with_noqa("x[0] = 1  # noqa: E501", "JP201") == "x[0] = 1  # noqa: E501,JP201"
    assert with_noqa("x[0] = 1  # noqa: JP2", "JP201") == "x[0] = 1  # noqa: JP2"  # already covered
    assert with_noqa("x[0] = 1  # noqa", "JP201") == "x[0] = 1  # noqa"


def test_the_rule_reference_the_links_point_to_is_current() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    assert page.read_text(encoding="utf-8") == render_reference(load_rule_infos()), (
        "docs/rules.md is stale: regenerate it (see its header)"
    )


def test_the_server_is_a_front_end_nothing_below_imports() -> None:
    """Layers: the server may import jaxpure.api and below; only the CLI's `server` command starts it."""
    package = SRC / "jaxpure"
    importers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "server" not in path.relative_to(package).parts and "jaxpure.server" in path.read_text(encoding="utf-8")
    )
    assert importers == ["cli.py"]
