"""``--runtime --run``: findings confirmed through the user's own tests, script and notebook
(SPEC §9), in the project ``fixtures/runtime/project``, copied to a temporary folder and
checked in one run shared by most tests."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_markers import RUNTIME_FIXTURES

from jaxpure.config import ConfigError, load_config
from jaxpure.runtime.watch.instrument import Span, instrument

SOURCE = Path(__file__).resolve().parents[1]
PYTHON = shlex.quote(sys.executable)
PYTEST = f"{PYTHON} -m pytest -rA -p no:cacheprovider tests"
SCRIPT = f"{PYTHON} train.py --steps 3"
_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR) (tests/\S+)", re.MULTILINE)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCE / "src"), str(SOURCE / "plugins")])
    env.pop("PYTEST_CURRENT_TEST", None)  # our own test's name must not leak into the user's run
    return env


def _jaxpure(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "jaxpure",
        "check",
        "--no-cache",
        "--format",
        "json",
        *args,
    ]
    return subprocess.run(
        command,
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "project"
    shutil.copytree(RUNTIME_FIXTURES / "project", folder)
    return folder


@pytest.fixture(scope="module")
def checked(project) -> tuple[dict, subprocess.CompletedProcess]:
    """One `jaxpure check --runtime --run "pytest" --run "python train.py"` over the project."""
    completed = _jaxpure(project, "--runtime", "--run", PYTEST, "--run", SCRIPT, ".")
    report = json.loads(completed.stdout)  # nothing of the commands' output is mixed in
    by_place = {(f["path"], _place(f), f["code"]): f["runtime"] for f in report["findings"]}
    return by_place, completed


def _place(finding: dict) -> int | str:
    """The line; in a notebook, ``cell:line`` (lines count within each cell)."""
    return f"{finding['cell']}:{finding['line']}" if "cell" in finding else finding["line"]


def _runtime(checked, path: str, line: int | str, code: str) -> dict:
    return checked[0][(path, line, code)]


def test_a_method_of_a_real_instance_is_confirmed_by_the_tracer_error_the_tests_raise(
    checked,
) -> None:
    runtime = _runtime(checked, "watched/model.py", 17, "JP401")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::test_model_step_fails"
    assert "the run raised jax.errors.TracerBoolConversionError" in runtime["evidence"]
    assert "while tracing Model.apply (jax.jit)" in runtime["evidence"]


def test_a_nested_closure_is_confirmed_with_the_arguments_of_the_test(checked) -> None:
    runtime = _runtime(checked, "watched/model.py", 26, "JP101")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::test_update_twice"
    assert "make_update.<locals>.update (jax.jit)" in runtime["evidence"]
    assert "'updating with 0.1'" in runtime["evidence"]  # the real closure's value
    assert runtime["evidence"].endswith("[on cpu:0]")


def test_a_pytree_of_a_custom_class_reaches_the_key_reuse_checker(checked) -> None:
    runtime = _runtime(checked, "watched/model.py", 51, "JP302")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::test_advance"
    assert "KeyReuseError" in runtime["evidence"]
    assert "wrap_key_data" in runtime["evidence"]  # the test's legacy key, made typed


def test_key_reuse_in_plain_test_code_is_seen_in_the_run_without_running_it_again(checked) -> None:
    runtime = _runtime(checked, "tests/test_model.py", 54, "JP302")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::SamplingTest::test_reuse_in_plain_code"
    assert runtime["evidence"].startswith("seen in the run, every jax.random draw watched: line 54 drew from a key")
    assert "that line 53 had already used" in runtime["evidence"]


def test_a_second_reuse_of_one_key_is_seen_in_the_run_too(checked) -> None:
    runtime = _runtime(checked, "tests/test_model.py", 56, "JP302")
    assert runtime["status"] == "confirmed"
    assert "line 56 drew from a key" in runtime["evidence"] and "that line 53 had already used" in runtime["evidence"]


def test_a_key_a_jit_with_static_arguments_used_up_is_seen_in_the_run(checked) -> None:
    runtime = _runtime(checked, "tests/test_model.py", 86, "JP302")  # first used by a jit with a static argument
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::JittedSamplingTest::test_reuse_after_a_jitted_draw"
    assert "line 86 drew from a key (bits 0000000003000000) that line 85 had already used" in runtime["evidence"]


def test_a_reuse_behind_the_one_the_checker_stops_at_is_confirmed_by_the_draws(checked) -> None:
    runtime = _runtime(checked, "watched/model.py", 86, "JP302")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::test_noisy_pair"
    assert "stopped first at another reuse, line 85" in runtime["evidence"]
    assert "line 86 drew from a key" in runtime["evidence"] and "that line 84 had already used" in runtime["evidence"]


def test_a_line_that_only_ever_sees_concrete_operands_is_not_reproduced(
    checked,
) -> None:
    runtime = _runtime(checked, "watched/model.py", 56, "JP401")
    assert runtime["status"] == "not-reproduced"
    assert "under a JAX trace with concrete operands only (mode: 3)" in runtime["evidence"]


def test_compilations_are_credited_to_the_site_that_built_the_transform(
    checked,
) -> None:
    in_loop = _runtime(checked, "watched/model.py", 69, "JP502")
    assert in_loop["status"] == "confirmed"
    assert "the jax.jit built at line 69 compiled again for a new build" in in_loop["evidence"]
    # Line 67 is in the same function, which compiles several times: none of that is line 67's.
    once = _runtime(checked, "watched/model.py", 67, "JP502")
    assert once["status"] == "not-reproduced"
    assert "built 1 time during the run and compiled 1 time" in once["evidence"]


def test_a_script_confirms_the_findings_of_its_own_file(checked) -> None:
    runtime = _runtime(checked, "train.py", 11, "JP101")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == SCRIPT
    assert "on the tracing call only: 'tracing train_step'" in runtime["evidence"]


def test_a_notebook_runs_cell_by_cell_and_names_the_cell(checked) -> None:
    runtime = _runtime(checked, "notebook.ipynb", "3:3", "JP101")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "cell 4"  # the cell that called smooth; its `!echo` line was skipped


def test_the_cells_after_one_that_raises_still_run(checked) -> None:
    runtime = _runtime(checked, "notebook.ipynb", "6:3", "JP101")  # after the failing cell 5
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "cell 6"


def test_a_line_no_cell_ran_says_which_cells_raised(checked) -> None:
    runtime = _runtime(checked, "notebook.ipynb", "7:6", "JP101")  # cell 7 fails before its def
    assert runtime["status"] == "skipped"
    assert runtime["evidence"] == (
        "no cell ran this line: cell 5 raised RuntimeError: the data is not here; "
        "cell 7 raised NameError: name 'data' is not defined"
    )


def test_a_function_no_cell_calls_is_run_from_the_namespace_the_cells_left(checked) -> None:
    runtime = _runtime(checked, "guide.ipynb", "3:3", "JP101")  # normalize: defined, never called
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "after cell 13"
    assert "on the tracing call only: 'normalizing JitTracer(float32[])'" in runtime["evidence"]


def test_a_line_the_built_inputs_do_not_reach_is_not_reproduced_after_the_cells(checked) -> None:
    runtime = _runtime(checked, "guide.ipynb", "4:4", "JP101")  # clip's print, behind `if verbose`
    assert runtime["status"] == "not-reproduced"
    assert runtime["via"] == "after cell 13"
    assert "never ran in 2 calls of clip (jax.jit)" in runtime["evidence"]


def test_a_line_that_ran_only_outside_any_trace_is_not_reproduced(checked) -> None:
    runtime = _runtime(checked, "guide.ipynb", "6:2", "JP101")  # loss is jitted, but only called eagerly
    assert runtime["status"] == "not-reproduced"
    assert runtime["via"] == "cell 6"
    assert runtime["evidence"].startswith("cell 6, line 2 ran 1 time in the run, never under a JAX trace")


@pytest.mark.parametrize(
    ("where", "evidence"),
    [
        pytest.param(
            "8:1",
            "cell 8, line 1 drew from a key (bits 0000000000000000) that cell 7, line 2 had already used",
            id="across-cells",
        ),
        pytest.param(
            "9:7",
            "cell 9, line 7 drew from a key (bits 0000000001000000) that cell 9, line 6 had already used",
            id="a-key-grad-does-not-differentiate-keeps-its-bits",
        ),
        pytest.param(  # jax.jit(jax.random.normal)(seed2) first
            "12:3",
            "cell 12, line 3 drew from a key (bits 0000000005000000) that cell 12, line 2 had already used",
            id="a-typed-key-a-jitted-program-used-up",
        ),
        pytest.param(  # JAX's checker follows typed keys only: jaxpure reads where the program wraps it
            "13:13",
            "cell 13, line 13 drew from a key (bits 0000000007000000) that cell 13, line 12 had already used",
            id="a-legacy-key-a-jitted-program-used-up",
        ),
        pytest.param(
            "13:16",
            "cell 13, line 16 drew from a key (bits 0000000008000000) that cell 13, line 15 had already used",
            id="a-legacy-key-wrapped-inside-a-jit-the-program-calls",
        ),
    ],
)
def test_key_reuse_in_a_notebook_is_seen_in_the_run_and_named_by_cell(checked, where, evidence) -> None:
    runtime = _runtime(checked, "guide.ipynb", where, "JP302")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == f"cell {where.split(':')[0]}"
    assert evidence in runtime["evidence"]


def test_module_level_reuse_the_run_cannot_show_says_why_it_is_skipped(checked) -> None:
    runtime = _runtime(checked, "guide.ipynb", "10:7", "JP302")  # first used by an ahead-of-time executable
    assert runtime["status"] == "skipped"
    assert runtime["via"] == "cell 10"
    assert runtime["evidence"].startswith("cell 10, line 7 ran 1 time: no key it drew had been used before")


def test_a_line_whose_harm_needs_no_trace_says_it_only_ran_eagerly(checked) -> None:
    runtime = _runtime(checked, "guide.ipynb", "11:2", "JP304")  # a fixed seed is fixed eagerly too
    assert runtime["status"] == "skipped"
    assert runtime["evidence"] == (
        "cell 11, line 2 ran 1 time in the run, never under a JAX trace: its experiment had no traced call to run on"
    )


def test_notebook_evidence_names_cells_but_leaves_other_files_lines_alone() -> None:
    from jaxpure.files.notebook import extract
    from jaxpure.runtime.watch import _in_cells

    source = extract((RUNTIME_FIXTURES / "project" / "guide.ipynb").read_text(encoding="utf-8"))
    evidence = 'line 14 ran; File "/x/train.py", line 14, in step'
    assert _in_cells(evidence, source) == 'cell 6, line 2 ran; File "/x/train.py", line 14, in step'


def test_a_function_of_a_notebook_whose_cells_raised_is_still_run_from_the_namespace(checked) -> None:
    runtime = _runtime(checked, "notebook.ipynb", "3:9", "JP101")  # rough: defined in cell 3, never called
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "after cell 7"  # the last cell; 5 and 7 raised


def test_the_commands_output_goes_to_stderr_only(checked) -> None:
    _, completed = checked
    assert "tracing train_step\n" in completed.stderr  # the script's own print
    assert "short test summary info" in completed.stderr
    assert "short test summary info" not in completed.stdout
    assert completed.returncode == 1  # findings; the failing test does not decide it


def test_the_users_tests_pass_and_fail_as_without_jaxpure(checked, project) -> None:
    plain = subprocess.run(
        shlex.split(PYTEST),
        cwd=project,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    without = sorted(_OUTCOME.findall(plain.stdout))
    assert ("FAILED", "tests/test_model.py::test_model_step_fails") in without
    assert len(without) == 11
    assert sorted(_OUTCOME.findall(checked[1].stderr)) == without


def test_an_experiment_puts_back_what_the_flagged_line_mutates(checked) -> None:
    runtime = _runtime(checked, "watched/model.py", 78, "JP105")
    assert runtime["status"] == "confirmed"
    assert runtime["via"] == "pytest tests/test_model.py::test_logged_double_traces_once"
    # ... and that test, which counts the appends, passes (test_the_users_tests_pass_and_fail_as_without_jaxpure)


_UNDISTURBED_STATE = """\
import jax
import jax.numpy as jnp

COUNTER = jax.new_ref(jnp.array(3.0))


def count_steps(carry, _):
    COUNTER[...] = COUNTER[...] + 1.0
    print("counting")
    return carry, None


def test_a_captured_ref_is_updated_once_per_step():
    jax.lax.scan(count_steps, None, None, length=5)
    assert float(COUNTER[...]) == 8.0


def test_a_traced_sum_is_printed():
    @jax.jit
    def total(x):
        print("total", jnp.sum(x))
        return jnp.sum(x)

    assert float(total(jnp.ones(3))) == 3.0
"""
_UNDISTURBED_GRAPH = """\
import jax.numpy as jnp
from flax import nnx

link_traces = 0
square_traces = 0


class Node(nnx.Module):
    def __init__(self):
        self.link = nnx.data(None)


def test_a_call_that_changes_its_arguments_graph_traces_again():
    @nnx.jit(graph=True, graph_updates=True)
    def link_to_itself(node):
        global link_traces
        link_traces += 1
        node.link = node

    node = Node()
    link_to_itself(node)
    link_to_itself(node)
    assert link_traces == 2


def test_a_cached_scan_is_not_traced_again():
    @nnx.scan(graph_updates=True)
    def square(count, x):
        global square_traces
        square_traces += 1
        return count + 1, x**2

    count, _ = square(jnp.array(0), jnp.arange(5))
    square(count, jnp.arange(5))
    assert square_traces == 1
"""


def test_experiments_leave_the_users_state_and_jax_caches_as_they_were(tmp_path) -> None:
    """Each of these tests failed under jaxpure before: a JAX ``Ref`` captured by a scan body was
    stepped again by an experiment on that body, a probe raised into the traced function (``jnp`` taken for an
    array), the experiment's traces served the user's next call (no retrace where the graph changed),
    and clearing JAX's caches made the user's cached scan trace again."""
    pytest.importorskip("flax.nnx")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_state.py").write_text(_UNDISTURBED_STATE)
    (tmp_path / "tests" / "test_graph.py").write_text(_UNDISTURBED_GRAPH)
    completed = _jaxpure(tmp_path, "--runtime", "--run", PYTEST, ".")
    outcomes = sorted(_OUTCOME.findall(completed.stderr))
    assert outcomes == [("PASSED", f"tests/{name}") for name in (
        "test_graph.py::test_a_cached_scan_is_not_traced_again",
        "test_graph.py::test_a_call_that_changes_its_arguments_graph_traces_again",
        "test_state.py::test_a_captured_ref_is_updated_once_per_step",
        "test_state.py::test_a_traced_sum_is_printed",
    )], completed.stderr[-3000:]  # fmt: skip
    # Module state, not the tests' own variables (a test's trace counter is no finding, SPEC §8).
    runtime = {(f["path"], f["line"]): f["runtime"] for f in json.loads(completed.stdout)["findings"]}
    # The Ref's write is staged, no finding; the print beside it is, and its experiment re-ran the body.
    assert ("tests/test_state.py", 8) not in runtime
    assert runtime[("tests/test_state.py", 9)]["status"] == "confirmed"  # JP101, and the Ref put back
    assert runtime[("tests/test_state.py", 21)]["status"] == "confirmed"  # JP101
    assert "on the tracing call only" in runtime[("tests/test_state.py", 21)]["evidence"]
    for line in (16, 29):  # JP104: the experiments ran (two calls each), and the tests above still passed
        assert "after 2 calls of" in runtime[("tests/test_graph.py", line)]["evidence"]


def test_the_run_does_not_leave_instrumented_bytecode_behind(checked, project) -> None:
    cached = [p for p in project.rglob("*.pyc") if p.name.startswith(("model", "test_model", "train"))]
    for pyc in cached:
        assert b"__jaxpure_line__" not in pyc.read_bytes(), pyc


def test_a_crash_or_a_hang_skips_what_it_reached_and_nothing_else(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.jaxpure.runtime]\ntimeout = 20\n"
        f"run = [{json.dumps(PYTHON + ' crash.py')}, {json.dumps(PYTHON + ' hang.py')}]\n"
    )
    body = (
        "import ctypes, sys, time\nimport jax\n\n@jax.jit\ndef step(x):\n"
        "    print('tracing', x)\n    {end}\n    return x\n\nstep(1.0)\n"
    )
    (tmp_path / "crash.py").write_text(body.format(end="ctypes.string_at(0)"))
    (tmp_path / "hang.py").write_text(body.format(end="time.sleep(600)"))
    completed = _jaxpure(tmp_path, "--runtime", "--select", "JP101", ".")
    runtime = {f["path"]: f["runtime"] for f in json.loads(completed.stdout)["findings"]}
    assert runtime["crash.py"]["status"] == "skipped"
    assert "crash.py` crashed with SIGSEGV after this line ran" in runtime["crash.py"]["evidence"]
    assert runtime["hang.py"]["status"] == "skipped"
    assert "hang.py` timed out after 20 s after this line ran" in runtime["hang.py"]["evidence"]


def test_probes_fit_trees_that_pytest_rewrote() -> None:
    rewrite = pytest.importorskip("_pytest.assertion.rewrite")
    source = b"def test_x():\n    x = 1\n    assert x == 1\n"
    tree = ast.parse(source)
    rewrite.rewrite_asserts(tree, source, "test_x.py", None)  # leaves nodes without end lines
    compile(instrument(tree, [Span(0, 2, 2, 5, 10, entry=True)]), "test_x.py", "exec")


def test_probes_keep_every_line_number_and_the_statements_behaviour() -> None:
    source = "def f(x, n):\n    if x > n:\n        return 1 // n\n    elif n:\n        return 2\n    return 3\n"
    tree = instrument(ast.parse(source), [Span(0, 2, 2, 8, 13), Span(1, 4, 4, 10, 11)])
    seen: list[tuple] = []
    namespace = {
        "__jaxpure_line__": lambda ids, names: seen.append((ids, names)),
        "__jaxpure_raised__": lambda ids: seen.append(("raised", ids)),
    }
    exec(compile(tree, "f.py", "exec"), namespace)
    assert [namespace["f"](2, 1), namespace["f"](0, 1)] == [1, 2]
    assert seen == [((0,), ("x", "n")), ((0,), ("x", "n")), ((1,), ("n",))]
    with pytest.raises(TypeError) as raised:
        namespace["f"](None, 1)
    assert raised.traceback[-1].lineno + 1 == 2  # the error still points at the `if` line
    assert seen[-1] == ("raised", (0,))
    with pytest.raises(ZeroDivisionError) as raised:
        namespace["f"](2, 0)  # raises in the `if` body: lines inside the wrapped statement keep theirs
    assert raised.traceback[-1].lineno + 1 == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"pytest tests/"', ("pytest tests/",)),
        ('["pytest -x", "python t.py"]', ("pytest -x", "python t.py")),
    ],
)
def test_run_commands_come_from_the_configuration(tmp_path, value, expected) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.jaxpure.runtime]\nrun = {value}\n")
    assert load_config(tmp_path / "pyproject.toml").runtime.run == expected


@pytest.mark.parametrize("value", ["3", '[""]', "[1, 2]"])
def test_a_bad_run_setting_names_the_key(tmp_path, value) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.jaxpure.runtime]\nrun = {value}\n")
    with pytest.raises(ConfigError, match="'run' must be a command string or a list of them"):
        load_config(tmp_path / "pyproject.toml")


@pytest.mark.parametrize("format_name", ["text", "json", "sarif", "github"])
def test_every_format_names_where_the_evidence_came_from(format_name) -> None:
    from jaxpure.findings import Finding, Report, RuntimeResult
    from jaxpure.output import FORMATS, OutputContext

    runtime = RuntimeResult("confirmed", "cpu", "printed 1 time over 2 calls", via="pytest tests/t.py::test_step")
    finding = Finding("src/m.py", 3, 5, 3, 12, "JP101", "print() runs once at trace time").with_runtime(runtime)
    output = FORMATS[format_name](Report([finding], files=1), OutputContext())
    if format_name in ("json", "sarif"):
        assert '"via": "pytest tests/t.py::test_step"' in output
    else:
        assert "via pytest tests/t.py::test_step: printed 1 time over 2 calls" in output


_UNCOPYABLE_ARGUMENTS = """\
import jax
import jax.numpy as jnp


class Stats:
    \"\"\"A pytree of arrays that refuses to be deep-copied.\"\"\"

    def __init__(self, values):
        self.values = dict(values)

    def __getitem__(self, name):
        return self.values[name]

    def __setitem__(self, name, value):
        self.values[name] = value

    def __deepcopy__(self, memo):
        raise TypeError("Stats cannot be copied")

    def __repr__(self):
        return f"Stats({self.values!r})"


jax.tree_util.register_pytree_node(
    Stats, lambda s: (tuple(s.values.values()), tuple(s.values)), lambda names, leaves: Stats(zip(names, leaves))
)


@jax.jit
def count(stats, x):
    stats["n"] = stats["n"] + 1
    return x


def test_a_copy_is_counted():
    stats = Stats({"n": jnp.array(0)})
    count(stats, jnp.ones(2))
    assert int(stats["n"]) == 0
"""
_SHARED_ARGUMENT = """\
import jax
import jax.numpy as jnp
from flax import nnx


@jax.jit
def accumulate(v, x):
    v["total"] = v["total"] + x
    return x


def test_a_hijax_variable_is_updated():
    v = nnx.Variable({"total": jnp.array(0.0)}, hijax=True)
    accumulate(v, 2.0)
    assert float(v["total"]) == 2.0
"""


def _judged_by_the_real_call(folder: Path, name: str, source: str) -> dict:
    (folder / "tests").mkdir()
    (folder / "tests" / name).write_text(source)
    completed = _jaxpure(folder, "--runtime", "--run", PYTEST, ".")
    outcomes = _OUTCOME.findall(completed.stderr)
    assert outcomes and all(outcome == "PASSED" for outcome, _ in outcomes), completed.stderr[-3000:]
    (finding,) = json.loads(completed.stdout)["findings"]
    assert finding["code"] == "JP203"
    return finding["runtime"]


def test_an_argument_no_experiment_can_copy_is_judged_by_the_real_call(tmp_path) -> None:
    """JP203 on an argument that cannot be deep-copied: how the arguments print before and after
    the user's own call decides. A pytree jit rebuilds leaves the caller's object as it was."""
    runtime = _judged_by_the_real_call(tmp_path, "test_uncopyable.py", _UNCOPYABLE_ARGUMENTS)
    assert runtime["status"] == "confirmed", runtime
    assert "print after the call as before it" in runtime["evidence"]


def test_a_mutable_reference_argument_takes_the_update_and_refutes_jp203(tmp_path) -> None:
    """A hijax Variable is a mutable reference: the update reaches the caller under jit."""
    pytest.importorskip("flax.nnx")
    runtime = _judged_by_the_real_call(tmp_path, "test_shared.py", _SHARED_ARGUMENT)
    assert runtime["status"] == "not-reproduced", runtime
    assert "changed through the call of accumulate (jax.jit)" in runtime["evidence"]
