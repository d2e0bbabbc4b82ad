"""The command line as users run it: exit statuses, formats, selection, suppression, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BUGGY = """import jax

@jax.jit
def step(x):
    print(x)
    return x * 2
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jaxpure", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "buggy.py").write_text(BUGGY)
    (tmp_path / "clean.py").write_text("import jax\n\n@jax.jit\ndef f(x):\n    return x + 1\n")
    return tmp_path


def test_findings_exit_1_with_flake8_style_lines(project: Path) -> None:
    result = run("check", "--no-cache", ".", cwd=project)
    assert result.returncode == 1
    assert result.stdout == "buggy.py:5:5: JP101 print() runs once at trace time; use jax.debug.print\n"
    assert "1 finding" in result.stderr


def test_clean_exit_0(project: Path) -> None:
    result = run("check", "--no-cache", "clean.py", cwd=project)
    assert (result.returncode, result.stdout) == (0, "")


def test_json_format_matches_the_spec_shape(project: Path) -> None:
    result = run("check", "--no-cache", "--format", "json", "buggy.py", cwd=project)
    document = json.loads(result.stdout)
    assert document["summary"] == {"files": 1, "findings": 1}
    (finding,) = document["findings"]
    assert finding["path"] == "buggy.py"
    assert (finding["line"], finding["column"], finding["end_line"], finding["end_column"]) == (5, 5, 5, 13)
    assert finding["code"] == "JP101" and finding["name"] == "print-in-traced-function"
    assert finding["severity"] == "error"
    assert finding["function"] == "step" and finding["transform"] == "jax.jit"
    assert finding["fix"] == {"applicable": True}
    assert "runtime" not in finding


def test_select_and_ignore(project: Path) -> None:
    assert run("check", "--no-cache", "--select", "JP4", ".", cwd=project).returncode == 0
    assert run("check", "--no-cache", "--ignore", "JP101", ".", cwd=project).returncode == 0
    assert run("check", "--no-cache", "--select", "JP1", "--ignore", "JP102", ".", cwd=project).returncode == 1


def test_noqa_and_skip_file(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BUGGY.replace("print(x)", "print(x)  # noqa: JP101"))
    (tmp_path / "b.py").write_text(BUGGY.replace("print(x)", "print(x)  # noqa"))
    (tmp_path / "c.py").write_text(BUGGY.replace("print(x)", "print(x)  # noqa: JP4"))
    (tmp_path / "d.py").write_text("# jaxpure: skip-file\n" + BUGGY)
    result = run("check", "--no-cache", ".", cwd=tmp_path)
    assert result.stdout.splitlines() == ["c.py:5:5: JP101 print() runs once at trace time; use jax.debug.print"]


def test_gitignore_is_honoured(project: Path) -> None:
    (project / ".gitignore").write_text("buggy.py\n")
    assert run("check", "--no-cache", ".", cwd=project).returncode == 0


def test_syntax_error_is_jp000_and_other_files_still_checked(project: Path) -> None:
    (project / "broken.py").write_text("import jax\ndef f(:\n    pass\n")
    result = run("check", "--no-cache", ".", cwd=project)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("broken.py:2:7: JP000 syntax error")
    assert lines[1].startswith("buggy.py:5:5: JP101")


def test_missing_path_is_one_clear_line(project: Path) -> None:
    result = run("check", "nope.py", cwd=project)
    assert result.returncode == 2
    assert result.stderr.strip() == "jaxpure: error: nope.py: no such file or directory"


def test_bad_config_names_the_key(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.jaxpure]\nselcet = ['JP1']\n")
    result = run("check", ".", cwd=project)
    assert result.returncode == 2
    assert "selcet" in result.stderr and "Traceback" not in result.stderr


def test_rule_and_rules_commands(project: Path) -> None:
    listing = run("rules", cwd=project)
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 25
    doc = run("rule", "jp302", cwd=project)
    assert doc.returncode == 0 and "## Why is this bad?" in doc.stdout
    assert run("rule", "JP999", cwd=project).returncode == 2


def test_extend_transforms_makes_a_user_wrapper_a_transform(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nextend-transforms = { "mylib.compile" = "staging" }\n')
    (tmp_path / "m.py").write_text(
        "import jax\nfrom mylib import compile\n\n@compile\ndef f(x):\n    print(x)\n    return x\n"
    )
    result = run("check", "--no-cache", ".", cwd=tmp_path)
    assert result.stdout.startswith("m.py:6:5: JP101")


def test_static_path_does_not_import_jax(project: Path) -> None:
    code = "import sys, jaxpure.cli; jaxpure.cli.main(['check', '--no-cache', 'buggy.py']); print('jax' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("False")


def test_fix_rewrites_then_is_idempotent_and_diff_writes_nothing(project: Path) -> None:
    before = (project / "buggy.py").read_text()
    diff = run("check", "--no-cache", "--fix", "--diff", "buggy.py", cwd=project)
    assert diff.returncode == 1 and '+    jax.debug.print("{}", x)' in diff.stdout
    assert (project / "buggy.py").read_text() == before
    fixed = run("check", "--no-cache", "--fix", "buggy.py", cwd=project)
    assert fixed.returncode == 0, fixed.stderr
    after = (project / "buggy.py").read_text()
    assert 'jax.debug.print("{}", x)' in after
    again = run("check", "--no-cache", "--fix", "buggy.py", cwd=project)
    assert again.returncode == 0 and (project / "buggy.py").read_text() == after


def test_fix_with_diff_requires_fix(project: Path) -> None:
    result = run("check", "--diff", "buggy.py", cwd=project)
    assert result.returncode == 2 and "--diff goes with --fix" in result.stderr


def test_the_static_check_never_imports_jax_or_the_checked_code(project: Path) -> None:
    (project / "buggy.py").write_text(BUGGY + "\nraise SystemExit('the checked module ran')\n")
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jaxpure", "check", "--no-cache", "--jobs", "1", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1 and "JP101" in completed.stdout
    imported = {
        line.split("|")[-1].strip() for line in completed.stderr.splitlines() if line.startswith("import time:")
    }
    assert "libcst" in imported  # the listing is real
    assert not {name for name in imported if name.split(".")[0] in ("jax", "jaxlib", "buggy", "clean")}


def run_with_stdin(*args: str, cwd: Path, stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jaxpure", *args], cwd=cwd, input=stdin, capture_output=True, timeout=120
    )


def test_stdin_is_checked_as_the_named_file(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nper-file-ignores = { "pkg/quiet.py" = ["JP1"] }\n')
    unsaved = BUGGY.replace("print(x)", "print(x)\n    x[0] = 1")  # not what is on disk (nothing is)
    result = run_with_stdin(
        "check", "-", "--stdin-filename", "pkg/train.py", "--show-source", cwd=tmp_path, stdin=unsaved.encode()
    )
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "pkg/train.py:5:5: JP101 print() runs once at trace time; use jax.debug.print"
    assert lines[1] == "    print(x)"  # the source shown is stdin's
    assert any(line.startswith("pkg/train.py:6:5: JP201") for line in lines)
    # The name drives the configuration: per-file-ignores for pkg/quiet.py.
    quiet = run_with_stdin("check", "-", "--stdin-filename", "pkg/quiet.py", cwd=tmp_path, stdin=unsaved.encode())
    assert [line.split()[1] for line in quiet.stdout.decode().splitlines()] == ["JP201"]
    nameless = run_with_stdin("check", "-", cwd=tmp_path, stdin=BUGGY.encode())
    assert nameless.stdout.decode().startswith("-:5:5: JP101")
    mixed = run_with_stdin("check", "-", "pkg", cwd=tmp_path, stdin=b"")
    assert mixed.returncode == 2 and b"cannot be combined" in mixed.stderr
    for flag in ("--fix", "--runtime"):
        refused = run_with_stdin("check", "-", flag, cwd=tmp_path, stdin=BUGGY.encode())
        assert refused.returncode == 2 and b"not on stdin" in refused.stderr


def test_stdin_honours_the_coding_cookie(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n" + BUGGY.replace("print(x)", "print('caf\xe9', x)")
    result = run_with_stdin("check", "-", "--stdin-filename", "m.py", cwd=tmp_path, stdin=source.encode("latin-1"))
    assert result.returncode == 1 and result.stdout.decode().startswith("m.py:6:5: JP101")


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_a_code_that_names_no_rule_is_an_error_naming_it(project: Path, option: str) -> None:
    result = run("check", "--no-cache", option, "JP999", ".", cwd=project)
    assert result.returncode == 2 and result.stdout == ""
    assert "--select" in result.stderr or "--ignore" in result.stderr
    assert "'JP999' matches no rule" in result.stderr
    prefix = run("check", "--no-cache", option, "JP9", ".", cwd=project)
    assert prefix.returncode == 2 and "'JP9' matches no rule" in prefix.stderr
    known = run("check", "--no-cache", option, "JP1", ".", cwd=project)
    assert known.returncode in (0, 1)


def test_a_code_that_names_no_rule_in_the_configuration_names_the_file(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.jaxpure]\nper-file-ignores = { "x.py" = ["JP77"] }\n')
    result = run("check", "--no-cache", ".", cwd=project)
    assert result.returncode == 2
    assert "pyproject.toml" in result.stderr and "per-file-ignores" in result.stderr and "'JP77'" in result.stderr


def test_statistics_counts_per_code(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BUGGY)
    (tmp_path / "b.py").write_text(BUGGY.replace("print(x)", "print(x)\n    print(x)\n    x[0] = 1"))
    result = run("check", "--no-cache", "--statistics", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "3  JP101  [*] print-in-traced-function",
        "1  JP201  [*] item-assignment-on-traced-array",
    ]
    as_json = json.loads(run("check", "--no-cache", "--statistics", "--format", "json", ".", cwd=tmp_path).stdout)
    assert as_json[0] == {"code": "JP101", "name": "print-in-traced-function", "count": 3, "fixable": True}


def test_exit_zero_output_file_and_quiet(project: Path) -> None:
    result = run("check", "--no-cache", "--exit-zero", "--quiet", "--output-file", "report.txt", ".", cwd=project)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (project / "report.txt").read_text() == (
        "buggy.py:5:5: JP101 print() runs once at trace time; use jax.debug.print\n"
    )
    quiet = run("check", "--no-cache", "--quiet", ".", cwd=project)
    assert quiet.returncode == 1 and quiet.stdout.startswith("buggy.py:5:5") and quiet.stderr == ""
    loud = run("check", "--no-cache", ".", cwd=project)
    assert "1 finding" in loud.stderr
    nowhere = run("check", "--no-cache", "--output-file", "missing/dir/r.txt", ".", cwd=project)
    assert nowhere.returncode == 2 and "--output-file" in nowhere.stderr


@pytest.mark.parametrize("output", ["text", "json", "sarif", "github"])
def test_a_coding_cookie_python_rejects_is_jp000_in_every_format(tmp_path: Path, output: str) -> None:
    (tmp_path / "rot.py").write_text("# -*- coding: rot13 -*-\nimport jax\nprint(1)\n")
    result = run("check", "--no-cache", "--show-source", "--format", output, ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "JP000" in result.stdout and "rot13" in result.stdout
