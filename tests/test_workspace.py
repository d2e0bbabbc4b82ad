"""``jaxpure.api.Workspace``: a project checked again and again with overlays (the server's engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaxpure.api import check_paths, open_workspace
from jaxpure.config import Config
from jaxpure.driver import workers

CALLER = "import jax\n\nfrom pkg.helpers import helper\n\n\n@jax.jit\ndef step(x):\n    return helper(x)\n"
HELPERS = "import jax.numpy as jnp\n\n\ndef helper(x):\n    print(x)\n    return jnp.sin(x)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text(CALLER)
    (package / "helpers.py").write_text(HELPERS)
    for n in range(6):
        (package / f"other_{n}.py").write_text(f"import jax\n\n\n@jax.jit\ndef f_{n}(x):\n    return x + {n}\n")
    return tmp_path


@pytest.fixture
def analyzed(monkeypatch) -> list[str]:
    """The modules analyzed, in order, by name."""
    names: list[str] = []
    run_task = workers.run_task

    def counting(task, parsed=None):
        names.append(task.file.path.name)
        return run_task(task, parsed)

    monkeypatch.setattr(workers, "run_task", counting)
    return names


def codes(checked, path: Path) -> list[str]:
    return [f"{f.code}@{f.line}" for f in checked[path].findings]


def test_an_edit_analyzes_only_what_it_affects(project: Path, analyzed: list[str]) -> None:
    workspace = open_workspace(project.resolve(), Config(), jobs=1)
    helpers, train = project.resolve() / "pkg" / "helpers.py", project.resolve() / "pkg" / "train.py"
    assert codes(workspace.check({}), helpers) == ["JP101@5"]
    analyzed.clear()
    edited = HELPERS.replace("print(x)", "print(x)\n    print(x)")
    assert codes(workspace.check({helpers: edited}), helpers) == ["JP101@5", "JP101@6"]
    assert sorted(analyzed) == ["helpers.py", "helpers.py"]  # alone, then with train.py's call as its seed
    analyzed.clear()
    assert codes(workspace.check({helpers: edited}), helpers) == ["JP101@5", "JP101@6"]
    assert analyzed == []  # nothing changed
    # An unsaved edit of the caller changes what the helper's module reports.
    analyzed.clear()
    assert codes(workspace.check({helpers: edited, train: CALLER.replace("@jax.jit\n", "")}), helpers) == []
    assert "train.py" in analyzed and not any(name.startswith("other_") for name in analyzed)


def test_its_findings_are_those_of_check_paths(project: Path) -> None:
    workspace = open_workspace(project.resolve(), Config(), jobs=1)
    checked = workspace.check({})
    from_workspace = sorted((Path(f.path).name, f.line, f.code) for result in checked.values() for f in result.findings)
    report = check_paths([str(project)], Config())
    assert from_workspace == sorted((Path(f.path).name, f.line, f.code) for f in report.findings)


def test_a_buffer_for_a_new_file_joins_the_project(project: Path) -> None:
    workspace = open_workspace(project.resolve(), Config(), jobs=1)
    new = project.resolve() / "pkg" / "fresh.py"  # not on disk
    checked = workspace.check({new: "import jax\n\n\n@jax.jit\ndef g(x):\n    print(x)\n    return x\n"})
    assert codes(checked, new) == ["JP101@6"]
