"""Baseline: today's findings are recorded by content, so only new ones are reported later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jaxpure.config import ConfigError
from jaxpure.driver.baseline import filter_new, load_baseline, write_baseline
from jaxpure.findings import Finding
from jaxpure.output.sources import SourceReader

ORIGINAL = """import jax

@jax.jit
def step(x):
    print(x)
    return x
"""


def print_at(line: int, path: str = "train.py") -> Finding:
    return Finding(path, line, 5, line, 13, "JP101", "print() runs once at trace time; use jax.debug.print")


def reader(text: str, path: str = "train.py") -> SourceReader:
    return SourceReader({path: text})


@pytest.fixture
def baseline(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "jaxpure-baseline.json"
    assert write_baseline([print_at(5)], path, reader(ORIGINAL).line) == 1
    return path


def test_the_same_findings_are_not_new(baseline):
    assert filter_new([print_at(5)], baseline, reader(ORIGINAL).line) == []


def test_an_edit_above_the_finding_does_not_resurrect_it(baseline):
    edited = ORIGINAL.replace("import jax\n", "import jax\nimport functools\n\n# a comment\n")
    assert filter_new([print_at(8)], baseline, reader(edited).line) == []


def test_a_changed_flagged_line_is_new(baseline):
    edited = ORIGINAL.replace("print(x)", "print(x, x)")
    assert filter_new([print_at(5)], baseline, reader(edited).line) == [print_at(5)]


def test_a_second_identical_finding_is_new(baseline):
    edited = ORIGINAL.replace("    print(x)\n", "    print(x)\n    print(x)\n")
    assert filter_new([print_at(5), print_at(6)], baseline, reader(edited).line) == [print_at(6)]


def test_another_file_with_the_same_line_is_new(baseline):
    new = print_at(5, "other.py")
    assert filter_new([new], baseline, reader(ORIGINAL, "other.py").line) == [new]


def test_findings_keep_their_order(baseline):
    edited = ORIGINAL.replace("    print(x)\n", "    print(y)\n    print(x)\n")
    findings = [print_at(6), print_at(5)]
    assert filter_new(findings, baseline, reader(edited).line) == [print_at(5)]


def test_paths_are_relative_to_the_baseline_so_any_working_directory_works(baseline, tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    finding = print_at(5, "../train.py")
    assert filter_new([finding], baseline, reader(ORIGINAL, "../train.py").line) == []
    assert load_baseline(baseline) == load_baseline(Path("../jaxpure-baseline.json"))


def test_the_file_is_sorted_and_readable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "baseline.json"
    lines = SourceReader({"b.py": "print(b)", "a.py": "print(a)\nprint(a)"}).line
    write_baseline([print_at(1, "b.py"), print_at(2, "a.py"), print_at(1, "a.py")], path, lines)
    assert json.loads(path.read_text()) == {
        "tool": "jaxpure",
        "version": 1,
        "findings": [
            {"path": "a.py", "code": "JP101", "source": "print(a)", "occurrence": 0},
            {"path": "a.py", "code": "JP101", "source": "print(a)", "occurrence": 1},
            {"path": "b.py", "code": "JP101", "source": "print(b)", "occurrence": 0},
        ],
    }


def test_write_baseline_reads_flagged_lines_from_disk_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("train.py").write_text(ORIGINAL)
    write_baseline([print_at(5)], "baseline.json")
    assert json.loads(Path("baseline.json").read_text())["findings"][0]["source"] == "print(x)"


def test_a_missing_baseline_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match=r"not found.*--write-baseline"):
        filter_new([], tmp_path / "absent.json", lambda path, line: "")


def test_an_unreadable_baseline_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read baseline"):
        filter_new([], tmp_path, lambda path, line: "")  # a folder


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"baseline.json:1:2: baseline is not valid JSON"),
        ("[]", "not a jaxpure baseline"),
        ('{"tool": "jaxpure", "version": 99, "findings": []}', "unsupported baseline version 99"),
        ('{"tool": "jaxpure", "version": 1}', 'no "findings" list'),
        ('{"tool": "jaxpure", "version": 1, "findings": [{"path": "a.py"}]}', "entry 0 must have exactly the keys"),
        (
            (
                '{"tool": "jaxpure", "version": 1, "findings": '
                '[{"path": "a.py", "code": "JP101", "source": "x", "occurrence": "0"}]}'
            ),
            "entry 0: 'occurrence' must be a int",
        ),
    ],
)
def test_a_malformed_baseline_is_a_config_error(tmp_path, content, message):
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        filter_new([print_at(5)], path, lambda path, line: "")


def test_an_unwritable_baseline_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot write baseline"):
        write_baseline([], tmp_path / "missing-folder" / "baseline.json", lambda path, line: "")
