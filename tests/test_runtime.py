"""Runtime confirmation (``--runtime``): every fixture finding gets the verdict its
``# runtime:`` comment declares, hostile modules cannot take the run down, and the
JAX behaviour the experiments rely on is what the installed JAX does."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from runtime_markers import RUNTIME_FIXTURES, all_expectations

from jaxpure.findings import Finding, TraceInfo
from jaxpure.runtime import RULE_EXPERIMENTS, confirm, run_modules
from jaxpure.runtime.modules import locate_module

EXAMPLES = str(RUNTIME_FIXTURES / "examples.py")
FIXTURE_TIMEOUT = 15.0  # seconds per module: generous for a loaded 2-core CI machine; bounds hostile_hang
EXPECTATIONS = all_expectations()


@pytest.fixture(scope="module")
def fork_pidfile(tmp_path_factory) -> Path:
    """Where hostile_fork.py writes the pid of the copy it forks."""
    return tmp_path_factory.mktemp("fork") / "copy.pid"


@pytest.fixture(scope="module")
def verdicts(fork_pidfile) -> dict:
    """Every fixture finding confirmed in one run, as a user's `jaxpure check --runtime` would."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAXPURE_FIXTURE_FORK_PIDFILE", str(fork_pidfile))
        findings = confirm([e.finding for e in EXPECTATIONS], timeout=FIXTURE_TIMEOUT, examples=EXAMPLES)
    return {expectation.id: finding for expectation, finding in zip(EXPECTATIONS, findings, strict=True)}


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=lambda e: e.id)
def test_fixture_finding_gets_its_declared_verdict(expectation, verdicts) -> None:
    runtime = verdicts[expectation.id].runtime
    assert runtime.status == expectation.status, runtime.evidence
    assert expectation.evidence in runtime.evidence


def test_every_rule_with_an_experiment_has_a_confirmed_fixture() -> None:
    confirmed = {e.finding.code for e in EXPECTATIONS if e.status == "confirmed"}
    assert sorted(set(RULE_EXPERIMENTS) - confirmed) == []


def test_fixtures_cover_every_hostile_module() -> None:
    hostile = {Path(e.finding.path).stem for e in EXPECTATIONS if e.status == "skipped"}
    expected = {"hostile_exit", "hostile_segfault", "hostile_hang", "hostile_flood", "hostile_flood_fd", "hostile_fork"}
    assert expected <= hostile


def test_results_are_the_same_findings_in_order_with_runtime_set(verdicts) -> None:
    for expectation in EXPECTATIONS:
        result = verdicts[expectation.id]
        assert dataclasses.replace(result, runtime=None) == expectation.finding
        assert result.runtime.device == "cpu"


def test_evidence_of_what_ran_names_the_device(verdicts) -> None:
    ran = [f.runtime for f in verdicts.values() if f.runtime.status != "skipped"]
    assert ran and all(r.evidence.endswith("[on cpu:0]") for r in ran)


def test_a_forked_copy_does_not_outlive_its_module(verdicts, fork_pidfile) -> None:
    """The fork fixture's copy sleeps for a minute: killing the child's process group ends it."""
    assert not _running(int(fork_pidfile.read_text()))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")  # a zombie is dead


def _finding(path: Path, line: int, code: str = "JP101", **trace) -> Finding:
    trace.setdefault("function", "step")
    trace.setdefault("transform", "jax.jit")
    trace.setdefault("kind", "staging")
    trace.setdefault("root", trace["function"])
    return Finding(str(path), line, 5, line, 20, code, "hand-made", TraceInfo(**trace))


def test_the_main_process_never_imports_jax() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from jaxpure.findings import Finding, TraceInfo
        from jaxpure.runtime import confirm
        finding = Finding({str(RUNTIME_FIXTURES / "effects.py")!r}, 19, 5, 19, 20, "JP101", "m",
                          TraceInfo("print_in_jit", "jax.jit", "staging", "print_in_jit"))
        (result,) = confirm([finding])
        assert "jax" not in sys.modules, "the parent imported jax"
        print(result.runtime.status)
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "confirmed"  # and nothing the user's module printed


def test_the_stand_in_clocks_are_found_again_by_their_names() -> None:
    """Tools store a timer by name and import it back (pytest-benchmark: "time.perf_counter");
    a stand-in must resolve to itself, or the user's own run breaks under ``--run``."""
    script = textwrap.dedent(
        """
        import importlib, time
        from jaxpure.runtime.perturb import Perturbation
        Perturbation().install_clock()
        for name in ("time", "perf_counter", "monotonic_ns"):
            clock = getattr(time, name)
            found = getattr(importlib.import_module(clock.__module__), clock.__qualname__)
            assert found is clock, (name, clock.__module__, clock.__qualname__)
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr


def test_another_value_for_a_pytree_global_moves_its_array_leaves() -> None:
    import jax
    import jax.numpy as jnp

    from jaxpure.runtime.perturb import changed_value

    @jax.tree_util.register_dataclass
    @dataclasses.dataclass
    class Layer:
        weight: jax.Array
        name: str = dataclasses.field(metadata={"static": True}, default="dense")

    moved = changed_value(Layer(jnp.zeros(2)))
    assert isinstance(moved, Layer) and moved.name == "dense"
    assert moved.weight.tolist() == [1.0, 1.0]
    assert changed_value(object()) is None  # a leaf, not a container: nothing to change


def test_a_device_that_is_not_there_skips_with_a_clear_reason() -> None:
    jax = pytest.importorskip("jax")
    try:
        jax.devices("gpu")
        pytest.skip("this machine has a GPU")
    except RuntimeError:
        pass
    (result,) = confirm([_finding(RUNTIME_FIXTURES / "effects.py", 19, function="print_in_jit")], device="gpu")
    assert result.runtime.status == "skipped"
    assert result.runtime.device == "gpu"
    assert "--device gpu: JAX cannot start a GPU backend on this machine" in result.runtime.evidence
    assert "use --device cpu" in result.runtime.evidence
    assert "Traceback" not in result.runtime.evidence


def test_an_unknown_device_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown device 'npu'"):
        confirm([], device="npu")


def test_findings_nothing_can_run_are_skipped_without_a_child(monkeypatch) -> None:
    monkeypatch.setattr("jaxpure.runtime.run_child", lambda request: pytest.fail("a child was started"))
    module_level = _finding(RUNTIME_FIXTURES / "effects.py", 9, function=None, root=None)
    unconfirmable = _finding(RUNTIME_FIXTURES / "effects.py", 1, code="JP000")
    missing = _finding(RUNTIME_FIXTURES / "no_such_file.py", 1)
    results = [f.runtime for f in confirm([module_level, unconfirmable, missing])]
    assert [r.status for r in results] == ["skipped"] * 3
    assert "module-level code" in results[0].evidence
    assert "no runtime experiment confirms JP000" in results[1].evidence
    assert "not a file" in results[2].evidence


def test_a_broken_examples_file_says_what_is_wrong(tmp_path) -> None:
    examples = tmp_path / "examples.py"
    examples.write_text("SOMETHING_ELSE = {}\n")
    (result,) = confirm(
        [_finding(RUNTIME_FIXTURES / "effects.py", 19, function="print_in_jit")], examples=str(examples)
    )
    assert result.runtime.status == "skipped"
    assert "must define EXAMPLES" in result.runtime.evidence


def test_a_file_named_like_no_module_still_loads(tmp_path) -> None:
    script = tmp_path / "train-script.py"
    script.write_text("import jax\n\n@jax.jit\ndef step(x):\n    print(x)\n    return x\n")
    (result,) = confirm([_finding(script, 5)])
    assert result.runtime.status == "confirmed", result.runtime.evidence


def test_modules_are_located_through_their_packages() -> None:
    location = locate_module(RUNTIME_FIXTURES / "pkg" / "model.py")
    assert (location.name, location.search_path) == ("pkg.model", str(RUNTIME_FIXTURES))
    assert locate_module(RUNTIME_FIXTURES / "effects.py").name == "effects"
    assert not locate_module("/tmp/train-script.py").importable


def test_a_child_reports_where_its_time_went() -> None:
    from jaxpure.runtime import _request
    from jaxpure.runtime.protocol import FindingTask

    finding = _finding(RUNTIME_FIXTURES / "effects.py", 19, function="print_in_jit")
    request = _request(finding.path, [FindingTask.from_finding(0, finding)], "cpu", None, 60.0)
    (run,) = run_modules([request])
    assert run.results[0].status == "confirmed"
    assert {"jax_import", "module_import", "finding 0", "child_wall"} <= set(run.timings)
    assert 0 < run.timings["finding 0"] < run.timings["child_wall"]


# ------------------------------------------------------------------ what the installed JAX does


def test_jax_trace_caches_behave_as_the_experiments_assume() -> None:
    """caches.py: one trace cache per function identity, shared by make_jaxpr and jit; a fresh
    function object retraces only itself; forget_traces() and clear_caches() retrace everything."""
    jax = pytest.importorskip("jax")
    from jaxpure.runtime.caches import forget_traces

    traced: list[str] = []

    @jax.jit
    def inner(x):
        traced.append("inner")
        return x * 2

    def outer(x):
        traced.append("outer")
        return inner(x) + 1

    def trace_with(make) -> list[str]:
        traced.clear()
        make()
        return sorted(traced)

    x = jax.numpy.ones(3)
    assert trace_with(lambda: jax.make_jaxpr(outer)(x)) == ["inner", "outer"]
    assert trace_with(lambda: jax.make_jaxpr(outer)(x)) == []
    assert trace_with(lambda: jax.jit(outer).trace(x)) == []  # the same cache as make_jaxpr
    fresh = types.FunctionType(outer.__code__, outer.__globals__, outer.__name__, outer.__defaults__, outer.__closure__)
    assert trace_with(lambda: jax.make_jaxpr(fresh)(x)) == ["outer"]  # inner stays cached
    forget_traces()
    assert trace_with(lambda: jax.make_jaxpr(outer)(x)) == ["inner", "outer"]
    jax.clear_caches()
    assert trace_with(lambda: jax.jit(outer).trace(x)) == ["inner", "outer"]


def test_forgetting_traces_keeps_compiled_primitives() -> None:
    """What makes per-finding cost milliseconds: eager code stays compiled across experiments."""
    jax = pytest.importorskip("jax")
    from jaxpure.runtime.caches import forget_traces

    compiled: list[str] = []
    jax.monitoring.register_event_duration_secs_listener(lambda event, seconds, **_: compiled.append(event))
    x = jax.numpy.arange(3.0)
    with jax.disable_jit():
        jax.numpy.sin(x * 3.0)
        forget_traces()
        compiled.clear()
        jax.numpy.sin(x * 3.0)
    assert "/jax/core/compile/backend_compile_duration" not in compiled


def test_key_reuse_checker_sees_typed_keys_only() -> None:
    """Why legacy uint32 keys are wrapped with jax.random.wrap_key_data first (SPEC §7)."""
    jax = pytest.importorskip("jax")

    def reuse(key):
        return jax.random.normal(key, ()) + jax.random.normal(key, ())

    with jax.debug_key_reuse(True):
        reuse(jax.random.PRNGKey(0))  # a legacy key: the checker cannot tell
        with pytest.raises(jax.errors.KeyReuseError):
            reuse(jax.random.wrap_key_data(jax.random.PRNGKey(0)))


def test_hostile_modules_do_not_reach_jaxpures_own_output(tmp_path) -> None:
    """Through the command line: the JSON on stdout is whole, and nothing the modules wrote is in it."""
    hostile = [RUNTIME_FIXTURES / f"{name}.py" for name in ("hostile_flood", "hostile_flood_fd", "hostile_exit")]
    completed = subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--runtime", "--format", "json", *map(str, hostile)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert completed.returncode == 1, completed.stderr
    assert len(completed.stdout) < 10_000  # the modules wrote megabytes
    report = json.loads(completed.stdout)
    assert [(Path(f["path"]).stem, f["runtime"]["status"]) for f in report["findings"]] == [
        ("hostile_exit", "skipped"),
        ("hostile_flood", "skipped"),
        ("hostile_flood_fd", "skipped"),
    ]
