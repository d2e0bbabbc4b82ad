"""Every annotated fixture yields exactly the findings its ``# expect:`` comments name.

A missing finding and an extra one (a false positive) fail alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jaxpure.api import check_paths, check_source
from jaxpure.driver import modules
from jaxpure.files.notebook import extract

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>JP\d{3}(?:\s*,\s*JP\d{3})*)")
_SKIP_DIRS = {"fixes", "runtime", "integrations", "project", "hostile", "testcode"}


def expected_findings(text: str) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            expected |= {(number, code.strip()) for code in match.group("codes").split(",")}
    return expected


def single_file_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*.py"))


@pytest.mark.parametrize("fixture", single_file_fixtures(), ids=lambda p: p.name)
def test_fixture_findings_match_annotations(fixture: Path) -> None:
    text = fixture.read_text()
    found = {(f.line, f.code) for f in check_source(text, str(fixture))}
    expected = expected_findings(text)
    assert sorted(found - expected) == [], "unexpected findings (false positives)"
    assert sorted(expected - found) == [], "missed findings"


@pytest.mark.parametrize(
    "fixture", sorted((FIXTURES / "testcode").rglob("*.py")), ids=lambda p: p.relative_to(FIXTURES).as_posix()
)
def test_test_code_fixtures_match_annotations(fixture: Path) -> None:
    """Test files and test functions, which run once, checked under their own paths (SPEC §8)."""
    text = fixture.read_text()
    found = {(f.line, f.code) for f in check_source(text, str(fixture))}
    assert found == expected_findings(text)


@pytest.mark.parametrize("fixture", sorted((FIXTURES / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_fixtures_match_annotations(fixture: Path) -> None:
    """A notebook is checked as the whole program it is; ``# expect:`` counts lines within each cell."""
    cells = json.loads(fixture.read_text(encoding="utf-8"))["cells"]
    expected = {
        (number, line, code)
        for number, cell in enumerate(cells, start=1)
        if cell["cell_type"] == "code"
        for line, code in expected_findings("".join(cell["source"]))
    }
    assert expected, "a notebook fixture without expectations tests nothing"
    source = extract(fixture.read_text(encoding="utf-8"))
    found = set()
    for finding in check_paths([str(fixture)]).findings:
        where = source.locate(finding.line)
        assert where is not None
        found.add((where.cell_number, where.line, finding.code))
    assert sorted(found - expected) == [], "unexpected findings (false positives)"
    assert sorted(expected - found) == [], "missed findings"


def test_clean_modules_have_no_findings() -> None:
    clean = sorted(FIXTURES.glob("clean_*.py"))
    assert clean, "the realistic clean modules are missing"
    for fixture in clean:
        assert expected_findings(fixture.read_text()) == set(), f"{fixture.name} must carry no expectations"


def test_whole_project_run_follows_calls_across_modules() -> None:
    project = FIXTURES / "project"
    report = check_paths([str(project)])
    found = {(Path(f.path).relative_to(project).as_posix(), f.line, f.code) for f in report.findings}
    expected = {
        (file.relative_to(project).as_posix(), line, code)
        for file in project.rglob("*.py")
        for line, code in expected_findings(file.read_text())
    }
    assert expected, "the project fixture must annotate at least one cross-module finding"
    assert found == expected


def test_a_module_keeps_the_classes_it_was_given_once_it_asks_for_others(tmp_path: Path, monkeypatch) -> None:
    """Once ``Child``'s base is known to be a Module, the module stops asking about the base and
    asks about its traced functions' annotations instead: what it was told must stay told."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text("import equinox as eqx\n\n\nclass Base(eqx.Module):\n    pass\n")
    (package / "child.py").write_text(
        "import jax\nimport jaxtyping\n\nfrom pkg.base import Base\n\n\n"
        "class Child(Base):\n"
        "    def __call__(self, x: jax.Array, tree: jaxtyping.PyTree):\n"
        "        print(x)\n"
        "        return x\n"
    )
    analyzed: list[str] = []
    analyze = modules._analyze_text

    def counting(text, path, *args, **kwargs):
        analyzed.append(Path(path).name)
        return analyze(text, path, *args, **kwargs)

    monkeypatch.setattr(modules, "_analyze_text", counting)
    report = check_paths([str(package)], cache_dir=tmp_path / "cache", jobs=1)
    assert [(Path(f.path).name, f.line, f.code) for f in report.findings] == [("child.py", 9, "JP101")]
    assert analyzed.count("child.py") == 2  # once alone, once told that Base is a Module: no back and forth
