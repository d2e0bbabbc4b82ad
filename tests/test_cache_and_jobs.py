"""The cache never returns stale findings, and parallel runs report what serial runs do.

Every check runs ``python -m jaxpure check`` in a subprocess from a folder
under ``tmp_path`` (the cache goes to ``.jaxpure_cache`` there). The rule for
staleness tests: after any change, a cached run must print exactly what a
``--no-cache`` run of the same tree prints.
"""

from __future__ import annotations

import ast
import dataclasses
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from jaxpure.analysis.cstnodes import TRIVIA, children, code_children
from jaxpure.analysis.segments import node_positions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def jaxpure(cwd: Path, *args: str, version: str | None = None) -> subprocess.CompletedProcess:
    """``jaxpure check ARGS`` in ``cwd``; ``version`` runs it as if jaxpure had that version."""
    if version is None:
        command = [sys.executable, "-m", "jaxpure", "check", *args]
    else:
        code = (
            "import sys, jaxpure; jaxpure.__version__ = sys.argv[1]; "
            "from jaxpure.cli import main; sys.exit(main(['check', *sys.argv[2:]]))"
        )
        command = [sys.executable, "-c", code, version, *args]
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode in (0, 1), completed.stderr
    return completed


def check(cwd: Path, *args: str, version: str | None = None) -> str:
    """The cached run's report, after asserting that it is what a run without the cache reports."""
    cached = jaxpure(cwd, *args, version=version).stdout
    fresh = jaxpure(cwd, "--no-cache", *args, version=version).stdout
    assert cached == fresh
    return cached


def codes(report: str, file: str) -> list[str]:
    """``['JP101@10', ...]`` for the findings in ``file`` (path ending), in report order."""
    found = []
    for line in report.splitlines():
        path, _, rest = line.partition(":")
        if path.endswith(file) and rest:
            number, _, rest = rest.partition(":")
            _, _, rest = rest.partition(": ")
            found.append(f"{rest.split()[0]}@{number}")
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of fixtures/project (a package whose jitted code calls helpers in another module)."""
    shutil.copytree(FIXTURES / "project", tmp_path / "project")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# -- staleness -----------------------------------------------------------------------------


def test_editing_a_file_changes_its_findings(project: Path) -> None:
    before = check(project, "project")
    assert "JP501@22" in codes(before, "helpers.py")
    host, device = "np.log(np.exp(logits) / np.exp(logits).sum())", "jnp.log(jnp.exp(logits) / jnp.exp(logits).sum())"
    edit(project / "project" / "helpers.py", host, device)
    after = check(project, "project")
    assert "JP501@22" not in codes(after, "helpers.py")
    edit(project / "project" / "helpers.py", device, host)
    assert check(project, "project") == before  # back to the first version: the first results


def test_a_caller_in_another_module_changes_the_callee_findings(project: Path) -> None:
    """helpers.py is unchanged; whether its code is traced depends on model.py."""
    before = check(project, "project")
    assert "JP101@10" in codes(before, "helpers.py")  # normalize() is called from jitted forward()
    # forward() stops calling normalize(): helpers.py's bytes are the same, its print is no longer traced.
    edit(project / "project" / "model.py", "h = normalize(x)", "h = x")
    after = check(project, "project")
    assert "JP101@10" not in codes(after, "helpers.py")
    # describe() becomes reachable from traced code: a finding appears in the untouched helpers.py.
    edit(
        project / "project" / "model.py",
        "    return helpers.log_softmax_host(logits)",
        "    helpers.describe(logits)\n    return helpers.log_softmax_host(logits)",
    )
    assert any(code.startswith("JP101@") for code in codes(check(project, "project"), "helpers.py"))


def test_editing_an_imported_module_changes_findings_reached_from_its_callers(project: Path) -> None:
    before = check(project, "project")
    assert "JP401@16" in codes(before, "helpers.py")  # clip_by_norm, reached from jitted train_step
    edit(
        project / "project" / "helpers.py",
        "    if norm > max_norm:  # expect: JP401\n        g = g * (max_norm / norm)\n",
        "    g = jnp.where(norm > max_norm, g * (max_norm / norm), g)\n",
    )
    after = check(project, "project")
    assert not [c for c in codes(after, "helpers.py") if c.startswith("JP401")]
    assert codes(after, "model.py") == codes(before, "model.py")


def test_editing_an_imported_function_changes_what_its_callers_find(project: Path) -> None:
    """train.py is unchanged; whether its ``if`` is on a traced value depends on what helpers.py returns."""
    before = check(project, "project")
    guard = next(int(c.split("@")[1]) for c in codes(before, "train.py") if c.startswith("JP401"))
    predicate = "    return isinstance(x, (int, float))  # a Python bool, whatever x is"
    edit(project / "project" / "helpers.py", predicate, "    return x > 0  # now an array")
    after = check(project, "project")
    assert f"JP401@{guard - 2}" in codes(after, "train.py")  # the guard on is_concrete(x)
    edit(project / "project" / "helpers.py", "    return x > 0  # now an array", predicate)
    assert check(project, "project") == before


def test_adding_and_removing_a_module_of_the_package(project: Path) -> None:
    before = check(project, "project")
    (project / "project" / "extra.py").write_text(
        textwrap.dedent("""
        import jax

        from project.helpers import describe


        @jax.jit
        def probe(x):
            return describe(x)
    """)
    )
    with_extra = check(project, "project")
    assert codes(with_extra, "helpers.py") != codes(before, "helpers.py")  # describe() is now traced
    (project / "project" / "extra.py").unlink()
    assert check(project, "project") == before


def test_changing_extend_transforms_in_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "step.py").write_text(
        textwrap.dedent("""
        import jax.numpy as jnp
        import mylib


        @mylib.compile
        def step(x):
            print("tracing", x)
            return jnp.sin(x)
    """)
    )
    (tmp_path / "pyproject.toml").write_text("[tool.jaxpure]\nselect = []\n")
    assert codes(check(tmp_path, "step.py"), "step.py") == []
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nextend-transforms = { "mylib.compile" = "staging" }\n')
    assert codes(check(tmp_path, "step.py"), "step.py") == ["JP101@8"]
    (tmp_path / "pyproject.toml").write_text("[tool.jaxpure]\nselect = []\n")
    assert codes(check(tmp_path, "step.py"), "step.py") == []


def _plant(cache_file: Path, message: str) -> None:
    """Rewrite every result in a cache file so that a run that reads it prints ``message``."""
    data = pickle.loads(cache_file.read_bytes())

    def tamper(result):
        result.findings = [dataclasses.replace(finding, message=message) for finding in result.findings]
        return result

    data["entries"] = {k: pickle.dumps(tamper(pickle.loads(v))) for k, v in data["entries"].items()}
    runs = {}
    for key, value in data["runs"].items():
        record = pickle.loads(value)
        record["results"] = [tamper(r) for r in record["results"]]
        runs[key] = pickle.dumps(record)
    data["runs"] = runs
    cache_file.write_bytes(pickle.dumps(data))


def test_a_new_version_does_not_read_the_old_versions_results(project: Path) -> None:
    check(project, "project", version="1.0")
    [old] = list((project / ".jaxpure_cache").glob("1.0-*.pickle"))
    _plant(old, "PLANTED")
    # The planted file is read by the version that wrote it (so the cache really is used) ...
    assert "PLANTED" in jaxpure(project, "project", version="1.0").stdout
    # ... and by no other version.
    new = jaxpure(project, "project", version="2.0").stdout
    assert "PLANTED" not in new and new == jaxpure(project, "--no-cache", "project").stdout
    assert len(list((project / ".jaxpure_cache").glob("2.0-*.pickle"))) == 1


def test_a_corrupt_cache_is_a_cold_run(project: Path) -> None:
    before = check(project, "project")
    for file in (project / ".jaxpure_cache").glob("*.pickle"):
        file.write_bytes(b"not a pickle")
    assert check(project, "project") == before


def test_a_warm_run_with_nothing_changed_does_not_import_libcst(project: Path) -> None:
    check(project, "project")
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jaxpure", "check", "project"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    imported = {line.split("|")[-1].strip() for line in completed.stderr.splitlines() if "|" in line}
    assert "libcst" not in imported
    assert "jax" not in imported


# -- parallel runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("cache", [False, True])
def test_parallel_and_serial_runs_report_the_same(tmp_path: Path, cache: bool) -> None:
    shutil.copytree(FIXTURES, tmp_path / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    options = () if cache else ("--no-cache",)
    serial = jaxpure(tmp_path, *options, "--jobs", "1", "fixtures")
    parallel = jaxpure(tmp_path, *options, "--jobs", "2", "fixtures")
    assert serial.stdout and parallel.stdout == serial.stdout
    assert parallel.returncode == serial.returncode
    if cache:  # and a warm parallel run too
        assert jaxpure(tmp_path, "--jobs", "2", "fixtures").stdout == serial.stdout


# -- the fast paths are the slow paths' results ---------------------------------------------------


def _fixture_modules() -> list[cst.Module]:
    modules = []
    for path in sorted(FIXTURES.rglob("*.py")):
        try:
            modules.append(cst.parse_module(path.read_text()))
        except cst.ParserSyntaxError:
            continue
    return modules


def test_children_are_libcsts_children_and_code_children_drop_only_layout() -> None:
    for module in _fixture_modules():
        stack: list[cst.CSTNode] = [module]
        while stack:
            node = stack.pop()
            expected = list(node.children)
            assert [id(c) for c in children(node)] == [id(c) for c in expected]
            assert [id(c) for c in code_children(node)] == [id(c) for c in expected if not isinstance(c, TRIVIA)]
            stack.extend(expected)


def test_positions_are_libcsts_positions() -> None:
    from libcst.metadata import MetadataWrapper, PositionProvider

    for module in _fixture_modules()[:10]:
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        assert node_positions(module) == dict(expected)


@pytest.mark.parametrize(
    "handled",
    [
        ("Name", "Call", "Attribute", "FunctionDef", "Lambda", "arg", "Constant", "keyword"),
        ("Call", "Attribute", "Subscript", "BinOp", "Compare", "comprehension"),  # names and contexts skipped
        ("Call", "Load", "Store", "Add", "Eq"),  # contexts and operators handled: visited as NodeVisitor does
    ],
)
def test_the_fast_index_visitor_visits_as_ast_nodevisitor_does(handled: tuple[str, ...]) -> None:
    from jaxpure.analysis.astvisit import FastNodeVisitor

    def recording(base: type) -> type:
        def _record(self, node):
            self.seen.append(f"{type(node).__name__}@{getattr(node, 'lineno', '')}")
            self.generic_visit(node)

        methods = {f"visit_{name}": _record for name in handled}
        return type("Recorder", (base,), methods)

    Fast, Slow = recording(FastNodeVisitor), recording(ast.NodeVisitor)
    for path in sorted(FIXTURES.rglob("*.py")):
        tree = ast.parse(path.read_text())
        fast, slow = Fast(), Slow()
        fast.seen, slow.seen = [], []
        fast.visit(tree)
        slow.visit(tree)
        assert fast.seen == slow.seen


def test_a_module_analyzed_again_in_a_run_reuses_its_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    from jaxpure.analysis import segments
    from jaxpure.config import Config
    from jaxpure.driver.modules import ParsedModules, analyze_text

    source = (FIXTURES / "jp1_side_effects.py").read_text()
    given = {"untraced_returns": frozenset({"other:f"})}  # from another module: a later round's analysis
    fresh = analyze_text(source, "m.py", Config(), "m", **given).findings
    parsed = ParsedModules()
    first = analyze_text(source, "m.py", Config(), "m", parsed=parsed, **given).findings
    parses: list[str] = []
    real_parse = segments.parse_module
    monkeypatch.setattr(segments, "parse_module", lambda text: parses.append(text) or real_parse(text))
    again = analyze_text(source, "m.py", Config(), "m", parsed=parsed, **given).findings
    assert first == again == fresh and fresh
    assert parses == []  # nothing parsed again
    edited = analyze_text(source + "\n", "m.py", Config(), "m", parsed=parsed, **given).findings
    assert parses and edited == fresh  # another text is parsed anew


def test_the_key_reuse_shortcut_keeps_every_reuse() -> None:
    """Untraced functions whose key consumers take different keys are not parsed; those that can reuse one still are."""
    from jaxpure.api import check_source

    source = textwrap.dedent("""
        import jax


        def draw(key):
            return jax.random.normal(key, (3,))


        def once(key):
            return jax.random.normal(key, (3,))


        def twice(key):
            a = jax.random.normal(key, (3,))
            b = jax.random.uniform(key, (3,))
            return a + b


        def split_then_draw(key):
            k1, k2 = jax.random.split(key)
            return jax.random.normal(k1, (3,)) + jax.random.uniform(key=k2, shape=(3,))


        def same_item_twice(keys):
            a = jax.random.normal(keys[0], (3,))
            return a + jax.random.uniform(keys[0], (3,))


        def by_keyword_and_position(key):
            a = jax.random.normal(key=key, shape=(3,))
            return a + jax.random.bernoulli(key, 0.5)


        def in_a_loop(key):
            return [jax.random.normal(key, (3,)) for _ in range(3)]


        def through_a_helper(key):
            a = jax.random.normal(key, (3,))
            return a + draw(key)


        class Sampler:
            def draw(self, key):
                return jax.random.normal(key, (3,))

            def through_a_method(self, key):
                a = jax.random.normal(key, (3,))
                return a + self.draw(key)
    """)
    found = {(f.code, f.trace.function) for f in check_source(source, "keys.py")}
    assert {code for code, function in found if function == "twice"} == {"JP302"}
    assert {code for code, function in found if function == "in_a_loop"} == {"JP303"}
    assert {code for code, function in found if function == "same_item_twice"} == {"JP302"}
    assert {code for code, function in found if function == "by_keyword_and_position"} == {"JP302"}
    assert {code for code, function in found if function == "through_a_helper"} == {"JP302"}
    assert {code for code, function in found if function == "Sampler.through_a_method"} == {"JP302"}
    assert not {function for _, function in found} & {"once", "draw", "Sampler.draw", "split_then_draw"}


def test_a_parallel_run_leaves_libcst_to_its_workers() -> None:
    """The parent only hands out files and collects results: importing libcst there (to unpickle a
    result, or for the rules' metadata the output shows) stalled the workers and the end of the run."""
    script = textwrap.dedent("""
        import sys
        from jaxpure.api import check_paths
        from jaxpure.output import FORMATS, OutputContext
        report = check_paths(["fixtures"], jobs=2)
        assert report.findings and FORMATS["json"](report, OutputContext(rules=report.rules))
        print("libcst" in sys.modules, "jaxpure.analysis.analyzer" in sys.modules)
    """)
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["False", "False"]


def test_an_analysis_leaves_no_cyclic_garbage_and_collections_on() -> None:
    """Collections are paused while a module is analyzed (``modules._collected_after``), and what
    the analysis built is freed by reference counting: no cycle keeps a module's trees alive
    until a cyclic collection walks them."""
    import gc

    from jaxpure.config import Config
    from jaxpure.driver.modules import analyze_text

    source = textwrap.dedent(
        """
        import jax
        import numpy as np

        @jax.jit
        def step(x, key):
            noise = jax.random.normal(key, x.shape)
            other = jax.random.normal(key, x.shape)
            return np.sin(x) + noise + other + (lambda y: y * 2)(x)

        def untraced(key):
            a = jax.random.uniform(key)
            return a + jax.random.uniform(key)

        class Holder:
            def method(self, x):
                return jax.jit(lambda y: y + 1)(x)
        """
    )
    analyze_text(source, "m.py", Config())  # imports and caches first
    assert gc.isenabled()
    gc.collect()
    gc.disable()  # a caller that manages collections itself: they stay off, and nothing collects
    try:
        findings = analyze_text(source, "m.py", Config()).findings
        assert not gc.isenabled()
        assert gc.collect() < 50  # before: the walkers' cycles held the trees, thousands of objects
    finally:
        gc.enable()
    assert {f.code for f in findings} >= {"JP302"}
