"""Output formats: text (with source and caret), summary, JSON (SPEC §3), SARIF 2.1.0, GitHub annotations."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from jaxpure import __version__
from jaxpure.findings import Finding, Report, RuntimeResult, TraceInfo
from jaxpure.output import FORMATS, OutputContext, RuleInfo, SourceReader, load_rule_infos, render_summary, render_text
from jaxpure.output.github import escape_data, escape_property

CATALOG = {
    "JP101": RuleInfo(
        "JP101",
        "print-in-traced-function",
        "error",
        "print() in a traced function",
        "print() runs once at trace time; use jax.debug.print",
        "## What it does\nFlags print.",
    ),
    "JP106": RuleInfo(
        "JP106",
        "mutable-global-read-in-traced-function",
        "warning",
        "a mutable global read when traced",
        "the value is frozen at trace time; pass it as an argument",
        "## What it does\nFlags reads.",
    ),
}

TRAIN = "import jax\n\n@jax.jit\ndef step(x):\n    print(x)\n    return x * SCALE\n"
PRINT = Finding(
    "src/train.py",
    5,
    5,
    5,
    13,
    "JP101",
    "print() runs once at trace time; use jax.debug.print",
    TraceInfo("step", "jax.jit"),
    fixable=True,
)
GLOBAL = Finding(
    "src/train.py",
    6,
    16,
    6,
    21,
    "JP106",
    "SCALE is frozen at trace time; pass it as an argument",
    TraceInfo("step", "jax.jit"),
)


def context(tmp_path: Path | None = None, texts: dict[str, str] | None = None, **options) -> OutputContext:
    texts = {"src/train.py": TRAIN} if texts is None else texts
    return OutputContext(sources=SourceReader(texts), rules=CATALOG, cwd=tmp_path or Path.cwd(), **options)


def notebook_text() -> str:
    cells = [
        {"cell_type": "markdown", "source": "# nb"},
        {"cell_type": "code", "source": "import jax\n@jax.jit\ndef f(x):\n    print(x)"},
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


NOTEBOOK_PRINT = Finding("nb.ipynb", 4, 5, 4, 13, "JP101", "print() runs once at trace time; use jax.debug.print")

# --- text ---


def test_text_lines_are_sorted_path_line_col_code_message():
    output = FORMATS["text"](Report([GLOBAL, PRINT], files=1), context())
    assert output == (
        "src/train.py:5:5: JP101 print() runs once at trace time; use jax.debug.print\n"
        "src/train.py:6:16: JP106 SCALE is frozen at trace time; pass it as an argument\n"
    )


def test_text_without_findings_is_empty():
    assert FORMATS["text"](Report([], files=3), context()) == ""


def test_show_source_puts_a_caret_and_tildes_under_the_span():
    output = FORMATS["text"](Report([PRINT], files=1), context(show_source=True))
    assert output.splitlines()[1:] == ["    print(x)", "    ^~~~~~~~"]


def test_show_source_marks_only_the_start_of_a_multiline_span():
    finding = Finding("a.py", 1, 5, 3, 2, "JP101", "m")
    output = render_text([finding], show_source=True, color=False, read_line=lambda path, line: "x = print(")
    assert output.splitlines()[2] == "    ^"


def test_show_source_keeps_tabs_in_the_caret_indentation():
    finding = Finding("a.py", 1, 3, 1, 4, "JP101", "m")
    output = render_text([finding], show_source=True, color=False, read_line=lambda path, line: "\t\tp(x)")
    assert output.splitlines()[2] == "\t\t^"


def test_show_source_skips_a_line_it_cannot_read():
    output = render_text([PRINT], show_source=True, color=False, read_line=lambda path, line: "")
    assert output.count("\n") == 1


def test_color_only_when_asked():
    plain = FORMATS["text"](Report([PRINT, GLOBAL], files=1), context(show_source=True))
    colored = FORMATS["text"](Report([PRINT, GLOBAL], files=1), context(show_source=True, color=True))
    assert "\x1b[" not in plain
    assert "\x1b[1m\x1b[31mJP101\x1b[0m" in colored  # errors red
    assert "\x1b[1m\x1b[33mJP106\x1b[0m" in colored  # warnings yellow
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


def test_text_positions_notebook_findings_by_cell():
    output = FORMATS["text"](
        Report([NOTEBOOK_PRINT], files=1), context(texts={"nb.ipynb": notebook_text()}, show_source=True)
    )
    assert output.splitlines() == [
        "nb.ipynb:cell 2:4:5: JP101 print() runs once at trace time; use jax.debug.print",
        "    print(x)",
        "    ^~~~~~~~",
    ]


@pytest.mark.parametrize(
    ("findings", "files", "expected"),
    [
        ([], 5, "No findings in 5 files."),
        ([], 1, "No findings in 1 file."),
        ([PRINT], 1, "Found 1 finding (1 error) in 1 file."),
        ([PRINT, GLOBAL, GLOBAL.with_path("b.py")], 4, "Found 3 findings (1 error, 2 warnings) in 2 files."),
        ([GLOBAL], 2, "Found 1 finding (1 warning) in 1 file."),
    ],
)
def test_summary_line(findings, files, expected):
    assert render_summary(Report(findings, files=files), lambda code: CATALOG[code].severity) == expected


# --- json ---


def test_json_matches_the_spec_shape():
    runtime = RuntimeResult("confirmed", "cpu", "printed 1 time over 2 calls")
    document = json.loads(FORMATS["json"](Report([PRINT.with_runtime(runtime), GLOBAL], files=3), context()))
    assert document == {
        "version": __version__,
        "findings": [
            {
                "path": "src/train.py",
                "line": 5,
                "column": 5,
                "end_line": 5,
                "end_column": 13,
                "code": "JP101",
                "name": "print-in-traced-function",
                "severity": "error",
                "message": "print() runs once at trace time; use jax.debug.print",
                "function": "step",
                "transform": "jax.jit",
                "fix": {"applicable": True},
                "runtime": {"status": "confirmed", "device": "cpu", "evidence": "printed 1 time over 2 calls"},
            },
            {
                "path": "src/train.py",
                "line": 6,
                "column": 16,
                "end_line": 6,
                "end_column": 21,
                "code": "JP106",
                "name": "mutable-global-read-in-traced-function",
                "severity": "warning",
                "message": "SCALE is frozen at trace time; pass it as an argument",
                "function": "step",
                "transform": "jax.jit",
                "fix": {"applicable": False},
            },
        ],
        "summary": {"files": 3, "findings": 2},
    }


def test_json_notebook_findings_carry_the_cell_and_in_cell_lines():
    output = FORMATS["json"](Report([NOTEBOOK_PRINT], files=1), context(texts={"nb.ipynb": notebook_text()}))
    finding = json.loads(output)["findings"][0]
    assert (finding["cell"], finding["line"], finding["end_line"], finding["column"]) == (2, 4, 4, 5)


# --- sarif ---


SCHEMA = Path("schemas") / "sarif-schema-2.1.0.json"
VENDORED_SCHEMA = Path(__file__).parent / SCHEMA  # a copy, for checkouts without shared/ beside them


def _shared_schema() -> Path | None:
    """The official SARIF 2.1.0 schema in ``shared/`` beside the repository, the project's contract."""
    for shared in (Path(__file__).parents[2] / "shared", Path("..") / "shared"):
        if (shared / SCHEMA).is_file():
            return shared / SCHEMA
    return None


def sarif_schema() -> dict:
    return json.loads((_shared_schema() or VENDORED_SCHEMA).read_text(encoding="utf-8"))


def test_the_vendored_schema_is_the_shared_one() -> None:
    shared = _shared_schema()
    if shared is None:
        pytest.skip("no shared/ beside this checkout")
    assert VENDORED_SCHEMA.read_bytes() == shared.read_bytes()


def sarif(report: Report, ctx: OutputContext) -> dict:
    document = json.loads(FORMATS["sarif"](report, ctx))
    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    return document


def test_sarif_is_valid_and_places_results_precisely():
    run = sarif(Report([GLOBAL, PRINT], files=1), context())["runs"][0]
    first = run["results"][0]
    assert first["ruleId"] == "JP101"
    assert first["level"] == "error"
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "JP101"
    assert first["message"]["text"] == PRINT.message
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/train.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 5, "startColumn": 5, "endLine": 5, "endColumn": 13}
    assert run["results"][1]["level"] == "warning"
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_rules_carry_name_help_and_level():
    rules = sarif(Report([], files=0), context())["runs"][0]["tool"]["driver"]["rules"]
    jp106 = next(rule for rule in rules if rule["id"] == "JP106")
    assert jp106["name"] == "mutable-global-read-in-traced-function"
    assert jp106["shortDescription"]["text"] == "a mutable global read when traced"
    assert jp106["help"]["markdown"].startswith("## What it does")
    assert jp106["defaultConfiguration"]["level"] == "warning"


def test_sarif_uris_are_relative_to_the_working_directory_and_encoded(tmp_path):
    absolute = str(tmp_path / "my code" / "train.py")
    ctx = context(tmp_path, {absolute: TRAIN})
    result = sarif(Report([PRINT.with_path(absolute)], files=1), ctx)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "my%20code/train.py"


def test_sarif_uri_outside_the_working_directory_is_absolute(tmp_path):
    ctx = context(tmp_path / "repo", {"/elsewhere/train.py": TRAIN})
    result = sarif(Report([PRINT.with_path("/elsewhere/train.py")], files=1), ctx)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "file:///elsewhere/train.py"}


def test_sarif_fingerprint_survives_an_edit_above_the_finding():
    before = sarif(Report([PRINT], files=1), context())["runs"][0]["results"][0]["partialFingerprints"]
    moved = Finding(**{**_fields(PRINT), "line": 7, "end_line": 7})
    after = sarif(Report([moved], files=1), context(texts={"src/train.py": "# new\n# lines\n" + TRAIN}))
    assert after["runs"][0]["results"][0]["partialFingerprints"] == before


def test_sarif_notebook_results_name_the_cell_instead_of_a_json_region():
    ctx = context(texts={"nb.ipynb": notebook_text()})
    result = sarif(Report([NOTEBOOK_PRINT], files=1), ctx)["runs"][0]["results"][0]
    assert "region" not in result["locations"][0]["physicalLocation"]
    assert result["message"]["text"].endswith("(cell 2, line 4, column 5)")


def test_sarif_internal_errors_mark_the_run_unsuccessful():
    report = Report([], files=2, internal_errors=["src/a.py: analyzer crashed: KeyError"])
    invocation = sarif(report, context())["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == "src/a.py: analyzer crashed: KeyError"


def test_sarif_with_runtime_results_is_valid():
    runtime = RuntimeResult("not-reproduced", "gpu", "printed 0 times")
    result = sarif(Report([PRINT.with_runtime(runtime)], files=1), context())["runs"][0]["results"][0]
    assert result["properties"]["runtime"]["status"] == "not-reproduced"


# --- github ---


def test_github_annotations():
    output = FORMATS["github"](Report([GLOBAL, PRINT], files=1), context())
    assert output.splitlines() == [
        (
            "::error file=src/train.py,line=5,col=5,endLine=5,endColumn=13,"
            "title=JP101 print-in-traced-function::print() runs once at trace time; use jax.debug.print"
        ),
        (
            "::warning file=src/train.py,line=6,col=16,endLine=6,endColumn=21,"
            "title=JP106 mutable-global-read-in-traced-function::SCALE is frozen at trace time; pass it as an argument"
        ),
    ]


def test_github_multiline_findings_have_no_end_column():
    finding = Finding("a.py", 3, 5, 4, 2, "JP101", "m")
    assert FORMATS["github"](Report([finding], files=1), context()).startswith(
        "::error file=a.py,line=3,col=5,endLine=4,title="
    )


def test_github_escaping():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    finding = Finding("dir,with:odd.py", 1, 1, 1, 2, "JP101", "50% of\nlines: a, b")
    line = FORMATS["github"](Report([finding], files=1), context())
    assert line == (
        "::error file=dir%2Cwith%3Aodd.py,line=1,col=1,endLine=1,endColumn=2,"
        "title=JP101 print-in-traced-function::50%25 of%0Alines: a, b\n"
    )


def test_github_notebook_annotations_name_the_cell():
    output = FORMATS["github"](Report([NOTEBOOK_PRINT], files=1), context(texts={"nb.ipynb": notebook_text()}))
    assert output.startswith(
        "::error file=nb.ipynb,title=JP101 print-in-traced-function (cell 2%2C line 4%2C column 5)::"
    )


def test_github_reports_internal_errors():
    output = FORMATS["github"](Report([], files=1, internal_errors=["a.py: boom"]), context())
    assert output == "::error title=jaxpure internal error::a.py: boom\n"


# --- registry and catalog ---


def test_formats_registry_names_every_cli_format():
    assert set(FORMATS) == {"text", "json", "sarif", "github"}


def test_the_real_rule_catalog_feeds_every_format():
    catalog = load_rule_infos()
    assert "JP000" in catalog and "JP101" in catalog
    for rule in catalog.values():
        assert rule.severity in ("error", "warning"), rule.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.code
        assert rule.summary and rule.documentation, rule.code
    document = json.loads(
        FORMATS["sarif"](Report([PRINT], files=1), OutputContext(sources=SourceReader({"src/train.py": TRAIN})))
    )
    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    assert len(document["runs"][0]["tool"]["driver"]["rules"]) == len(catalog)


def test_jaxpure_check_writes_valid_sarif_for_a_real_run(tmp_path):
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "integrations" / "print_in_jit.py", tmp_path / "train.py")
    completed = subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--format", "sarif", "train.py"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    [result] = document["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "train.py"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 9


def _fields(finding: Finding) -> dict:
    return {name: getattr(finding, name) for name in Finding.__dataclass_fields__}


def test_text_shows_the_runtime_verdict_on_the_finding_line() -> None:
    from jaxpure.findings import Finding, RuntimeResult
    from jaxpure.output.text import render_text

    finding = Finding("a.py", 3, 5, 3, 13, "JP101", "print() runs once at trace time; use jax.debug.print")
    finding = finding.with_runtime(RuntimeResult("confirmed", "cpu", "printed 1 time over 2 calls"))
    text = render_text([finding], show_source=False, color=False, read_line=lambda path, line: "")
    assert text == (
        "a.py:3:5: JP101 print() runs once at trace time; use jax.debug.print"
        " [runtime: confirmed on cpu: printed 1 time over 2 calls]\n"
    )
