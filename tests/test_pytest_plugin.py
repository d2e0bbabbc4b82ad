"""``pytest --jaxpure`` records the arguments a test suite passes to transformed functions,
and ``confirm`` runs the flagged function with them."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jaxpure.findings import Finding, TraceInfo
from jaxpure.runtime import confirm

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def _pytest(*options: str, cwd: Path) -> subprocess.CompletedProcess:
    """pytest in ``cwd`` with only this checkout's plugin loaded, whatever else is installed."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    command = [sys.executable, "-m", "pytest", "-p", "jaxpure_pytest", "-q", "-p", "no:cacheprovider", *options]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


LIBRARY = """
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp


@dataclass(frozen=True)
class Settings:
    scale: float


@partial(jax.jit, static_argnums=0)
def step(settings: Settings, key, x):
    print("step", x)
    return x * settings.scale + jax.random.normal(key, x.shape)


@jax.jit(static_argnames=("n",))
def repeat(x, n):
    return x * n


def loss(params):
    return jnp.sum(params["w"] ** 2)


grad_loss = jax.grad(loss)
inner_only = jax.jit(lambda x: x + 1)
"""

TESTS = """
import jax
import jax.numpy as jnp

import mylib


def test_library():
    assert mylib.step(mylib.Settings(2.0), jax.random.key(1), jnp.ones(3)).shape == (3,)
    assert mylib.repeat(jnp.ones(2), n=3).shape == (2,)
    assert mylib.grad_loss({"w": jnp.ones(2)})["w"].shape == (2,)
    assert mylib.inner_only(jnp.ones(2)).shape == (2,)
"""


@pytest.fixture(scope="module")
def recorded_project(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    project = tmp_path_factory.mktemp("project")
    (project / "mylib.py").write_text(textwrap.dedent(LIBRARY))
    (project / "test_mylib.py").write_text(textwrap.dedent(TESTS))
    return project, _pytest("--jaxpure", cwd=project)


def test_the_suite_passes_and_says_where_the_recording_went(recorded_project) -> None:
    project, completed = recorded_project
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"jaxpure: recorded 3 function(s) into {project / 'jaxpure_examples.py'}" in completed.stdout


def test_the_first_concrete_call_of_each_project_function_is_recorded(recorded_project) -> None:
    project, _ = recorded_project
    calls = pickle.loads((project / "jaxpure_examples.pkl").read_bytes())
    assert sorted(calls) == ["mylib:loss", "mylib:repeat", "mylib:step"]  # not the lambda: it cannot be imported
    args, kwargs = pickle.loads(calls["mylib:repeat"])
    assert kwargs == {"n": 3} and args[0].data.tolist() == [1.0, 1.0]


def test_the_recording_is_an_examples_file_confirm_can_use(recorded_project) -> None:
    project, _ = recorded_project
    finding = Finding(
        str(project / "mylib.py"), 16, 5, 16, 22, "JP101", "print() runs once at trace time",
        TraceInfo("step", "jax.jit", "staging", "step", ("settings",)),
    )  # fmt: skip
    without, with_examples = (
        confirm([finding], examples=examples)[0].runtime for examples in (None, str(project / "jaxpure_examples.py"))
    )
    assert without.status == "skipped"
    assert "cannot build a value for parameter 'settings' of step" in without.evidence
    assert with_examples.status == "confirmed", with_examples.evidence
    assert "the examples entry 'mylib:step' (settings: Settings(scale=2.0), key: key<fry>[], x: float32[3])" in (
        with_examples.evidence
    )


def test_without_the_option_the_plugin_does_nothing(tmp_path) -> None:
    (tmp_path / "test_nothing.py").write_text(
        "import sys\n\ndef test_jax_not_imported():\n    assert 'jax' not in sys.modules\n"
    )
    completed = _pytest(cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout
    assert "jaxpure" not in completed.stdout
    assert not (tmp_path / "jaxpure_examples.py").exists()
