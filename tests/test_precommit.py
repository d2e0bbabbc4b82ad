"""The pre-commit hooks, run for real by ``pre-commit`` from a copy of this working tree.

pre-commit installs a hook repository from git, so the test commits a copy
of the working tree (uncommitted changes included) to a temporary repository
and points a temporary project at it. pre-commit then builds the hook's
virtualenv, which downloads the dependencies: the tests are marked
``network`` and skip when pip cannot fetch a package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git"),
]

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "jaxpure tests",
    "GIT_AUTHOR_EMAIL": "tests@jaxpure.invalid",
    "GIT_COMMITTER_NAME": "jaxpure tests",
    "GIT_COMMITTER_EMAIL": "tests@jaxpure.invalid",
}

IMPURE = """import jax
import jax.numpy as jnp


@jax.jit
def step(x):
    print("x is", x)
    return jnp.sin(x)
"""

FIXED = IMPURE.replace('print("x is", x)', 'jax.debug.print("x is {}", x)')


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, check=False, capture_output=True, text=True, timeout=timeout)


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    completed = run(["git", *args], cwd, env)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def commit_all(repo: Path, env: dict[str, str], message: str) -> str:
    git(repo, env, "add", "-A")
    git(repo, env, "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, env, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    # A fresh pre-commit cache: the hook environment is built from the copy under test, never reused.
    return {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-cache"))}


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, env) -> tuple[Path, str]:
    """A git repository holding a copy of this working tree, and the sha of its one commit."""
    _skip_unless_pip_can_download(tmp_path_factory.mktemp("download"), env)
    repo = tmp_path_factory.mktemp("jaxpure-hooks") / "jaxpure"
    ignored = [line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()]
    shutil.copytree(
        ROOT, repo, ignore=shutil.ignore_patterns(".git", *[p for p in ignored if p and not p.startswith("#")])
    )
    git(repo, env, "init", "-q")
    return repo, commit_all(repo, env, "jaxpure working tree")


@pytest.fixture
def project(tmp_path, env, hook_repo) -> Path:
    repo, sha = hook_repo
    git(tmp_path, env, "init", "-q")
    hooks = "\n".join(f"      - id: {hook}" for hook in ("jaxpure", "jaxpure-fix"))
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {sha}\n    hooks:\n{hooks}\n"
    )
    return tmp_path


def pre_commit(project: Path, env: dict[str, str], hook: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "pre_commit", "run", hook, "--all-files", "--color", "never"], project, env, 600)


def test_the_hook_fails_on_a_finding_and_passes_once_fixed(project, env):
    (project / "train.py").write_text(IMPURE)
    (project / "explore.ipynb").write_text(_notebook(IMPURE))
    commit_all(project, env, "impure")

    failed = pre_commit(project, env, "jaxpure")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "train.py:7:5: JP101 " in failed.stdout
    assert "explore.ipynb:cell 1:7:5: JP101 " in failed.stdout

    (project / "train.py").write_text(FIXED)
    (project / "explore.ipynb").write_text(_notebook(FIXED))
    commit_all(project, env, "fixed")
    passed = pre_commit(project, env, "jaxpure")
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_the_fix_hook_rewrites_the_file(project, env):
    (project / "train.py").write_text(IMPURE)
    commit_all(project, env, "impure")

    fixing = pre_commit(project, env, "jaxpure-fix")
    assert fixing.returncode == 1, fixing.stdout + fixing.stderr  # pre-commit fails a hook that changed files
    assert "jax.debug.print(" in (project / "train.py").read_text()
    assert "    print(" not in (project / "train.py").read_text()
    commit_all(project, env, "fixed by jaxpure")
    assert pre_commit(project, env, "jaxpure").returncode == 0


def test_the_hooks_manifest_is_valid():
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def _notebook(code: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": code}]
    return json.dumps(
        {"cells": cells, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    )


def _skip_unless_pip_can_download(folder: Path, env: dict[str, str]) -> None:
    # The hook's virtualenv needs the dependencies from the package index; without it the test cannot run.
    completed = run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-d", str(folder), "pathspec"],
        folder,
        env,
        180,
    )
    if completed.returncode != 0:
        pytest.skip(f"pip cannot download packages, so pre-commit cannot build the hook: {completed.stderr[-300:]}")
