"""The flake8 plugin, run through the real ``flake8`` in a subprocess on fixture files.

Each fixture line that ``jaxpure check`` flags carries ``# expect: CODE``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from jaxpure.findings import Finding
from jaxpure_flake8 import JaxpureChecker

FIXTURES = Path(__file__).parents[1] / "fixtures" / "integrations"
EXPECT = re.compile(r"# expect: (JP\d{3}(?:, *JP\d{3})*)")
REPORT = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$")


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The integration fixtures in a folder with no pyproject.toml above it."""
    for name in ("print_in_jit.py", "noqa_in_jit.py", "no_jax.py"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def flake8(*args: str, cwd: Path, stdin: str | None = None) -> list[tuple[str, int, int, str, str]]:
    """(path, line, col, code, message) of each error flake8 reports."""
    completed = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd,
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    matches = [REPORT.match(line) for line in completed.stdout.splitlines()]
    assert all(matches), completed.stdout
    return [(m["path"], int(m["line"]), int(m["col"]), m["code"], m["message"]) for m in matches]


def expected(path: Path) -> list[tuple[int, str]]:
    """(line, code) of each ``# expect:`` annotation."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        (number, code.strip())
        for number, text in enumerate(lines, 1)
        if (match := EXPECT.search(text))
        for code in match[1].split(",")
    ]


def test_the_plugin_is_registered():
    completed = subprocess.run(
        [sys.executable, "-m", "flake8", "--version"], check=False, capture_output=True, text=True
    )
    assert re.search(r"jaxpure: \d+\.\d+", completed.stdout), completed.stdout


def test_reports_what_jaxpure_check_reports(workdir):
    errors = flake8("--select", "JP", "print_in_jit.py", cwd=workdir)
    assert [(line, code) for _, line, _, code, _ in errors] == expected(workdir / "print_in_jit.py")
    cli = subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--format", "json", "print_in_jit.py"],
        cwd=workdir,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1, cli.stderr  # 1: findings
    findings = json.loads(cli.stdout)["findings"]
    assert [(e[1], e[2], e[3], e[4]) for e in errors] == [
        (f["line"], f["column"], f["code"], f["message"]) for f in findings
    ]


def test_noqa_is_left_to_flake8(workdir):
    errors = flake8("--select", "JP", "noqa_in_jit.py", cwd=workdir)
    assert [(line, code) for _, line, _, code, _ in errors] == expected(workdir / "noqa_in_jit.py")
    # With flake8's noqa off, the suppressed lines come back: the plugin did not filter them itself.
    unfiltered = flake8("--select", "JP", "--disable-noqa", "noqa_in_jit.py", cwd=workdir)
    assert [line for _, line, _, _, _ in unfiltered] == [8, 9, 10]


def test_select_and_extend_ignore(workdir):
    assert flake8("--select", "JP", "--extend-ignore", "JP101", "print_in_jit.py", cwd=workdir) == []
    assert flake8("--select", "E9", "print_in_jit.py", cwd=workdir) == []
    assert flake8("--select", "JP1", "print_in_jit.py", cwd=workdir) != []


def test_per_file_ignores(workdir):
    errors = flake8("--select", "JP", "--per-file-ignores", "print_in_jit.py:JP101", ".", cwd=workdir)
    assert {Path(path).name for path, *_ in errors} == {"noqa_in_jit.py"}


def test_standard_input(workdir):
    source = (workdir / "print_in_jit.py").read_text()
    errors = flake8("--select", "JP", "--stdin-display-name", "step.py", "-", cwd=workdir, stdin=source)
    assert [(path, line, code) for path, line, _, code, _ in errors] == [("step.py", 9, "JP101")]


def test_a_file_without_jax_is_not_analyzed(workdir):
    assert flake8("--select", "JP", "no_jax.py", cwd=workdir) == []


def test_extend_transforms_come_from_pyproject(tmp_path):
    (tmp_path / "uses_mylib.py").write_text(
        "import mylib\n\n\n@mylib.compile\ndef step(x):\n    print(x)\n    return x\n"
    )
    assert flake8("--select", "JP", "uses_mylib.py", cwd=tmp_path) == []
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nextend-transforms = {"mylib.compile" = "staging"}\n')
    errors = flake8("--select", "JP", "uses_mylib.py", cwd=tmp_path)
    assert [(line, code) for _, line, _, code, _ in errors] == [(6, "JP101")]


def test_a_broken_configuration_is_reported_not_a_crash(workdir):
    (workdir / "pyproject.toml").write_text("[tool.jaxpure]\nselec = ['JP1']\n")
    errors = flake8("--select", "JP", "print_in_jit.py", "no_jax.py", cwd=workdir)
    assert [(Path(path).name, line, col, code) for path, line, col, code, _ in errors] == [
        ("print_in_jit.py", 1, 1, "JP000")
    ]
    assert "unknown key(s): selec" in errors[0][4]


# In-process checks of the adapter itself, with the analyzer replaced by a recorder.


@pytest.fixture
def recorded_calls(monkeypatch) -> list[dict]:
    calls: list[dict] = []

    def check_source(source, path="<string>", config=None, **options):
        calls.append({"source": source, "path": path, **options})
        return [Finding(path, 9, 5, 9, 21, "JP101", "print() runs once at trace time; use jax.debug.print")]

    monkeypatch.setitem(sys.modules, "jaxpure.api", types.SimpleNamespace(check_source=check_source))
    return calls


def test_files_without_jax_are_skipped_before_any_parsing(recorded_calls, tmp_path):
    lines = ["import numpy as np\n", "print(np.ones(3))\n"]
    assert list(JaxpureChecker(None, lines, str(tmp_path / "plain.py")).run()) == []
    assert recorded_calls == []


def test_findings_become_flake8_errors_with_0_based_columns_and_flake8_owns_noqa(recorded_calls, tmp_path):
    lines = ["import jax\n", "print(1)  # noqa: JP101\n"]
    errors = list(JaxpureChecker(None, lines, str(tmp_path / "step.py")).run())
    assert errors == [(9, 4, "JP101 print() runs once at trace time; use jax.debug.print", JaxpureChecker)]
    assert recorded_calls[0]["source"] == "".join(lines)
    assert recorded_calls[0]["apply_noqa"] is False
