"""The safe fixes: fixture pairs, what each fix refuses, runtime equivalence, and write safety.

Fixture pairs ``fixtures/fixes/<name>.in.py`` → ``<name>.out.py`` are checked
twice: with jaxpure's own analyzer (``check_source``) and with a small fake
analyzer that flags every candidate node in every function (so fixes are
exercised even where the real analysis would not reach). The fixed modules
are then imported and run: eagerly they compute what the originals compute,
and under ``jax.jit`` they now do too.
"""

from __future__ import annotations

import dataclasses
import errno
import importlib.util
import inspect
import io
import os
import stat
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import jax
import jax.numpy as jnp
import libcst as cst
import numpy as np
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from jaxpure.api import check_source
from jaxpure.config import Config
from jaxpure.driver.engine import check_files
from jaxpure.driver.fixing import run_fixes
from jaxpure.driver.selection import Selection
from jaxpure.files.discovery import discover
from jaxpure.findings import Finding
from jaxpure.fixes import files as files_module
from jaxpure.fixes import fix_file, fix_source, is_fixable, refusal_reason
from jaxpure.fixes.apply import NOT_RECHECKED
from jaxpure.fixes.jp2_at_update import AT_METHODS
from jaxpure.fixes.jp501_jnp import JNP_TWINS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes"
PAIRS = sorted(path.name.removesuffix(".in.py") for path in FIXTURES.glob("*.in.py"))
FAKE_ONLY = {"imports_none"}  # no jax transform in it: only the fake analyzer flags anything


# -- a fake analyzer: every candidate node inside a function ---------------------------------------


class _FakeAnalyzer(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "print":
            self._report(node, "JP101")
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        if func is not root and isinstance(root, cst.Name) and root.value == "np":
            self._report(node, "JP501")

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(isinstance(target.target, cst.Subscript) for target in node.targets):
            self._report(node, "JP201")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Subscript):
            self._report(node, "JP202")

    def visit_If(self, node: cst.If) -> None:
        if isinstance(node.test, cst.Comparison):
            self._report(node, "JP401")

    def visit_IfExp(self, node: cst.IfExp) -> None:
        if isinstance(node.test, cst.Comparison):
            self._report(node, "JP401")

    def _report(self, node: cst.CSTNode, code: str) -> None:
        if self.depth:
            where = self.get_metadata(PositionProvider, node)
            self.findings.append(
                Finding(
                    "m.py", where.start.line, where.start.column + 1, where.end.line, where.end.column + 1, code, code
                )
            )


def fake_check(source: str) -> list[Finding]:
    analyzer = _FakeAnalyzer()
    MetadataWrapper(cst.parse_module(source)).visit(analyzer)
    return analyzer.findings


def real_check(path: Path):
    return lambda source: check_source(source, str(path))


def _pair(name: str) -> tuple[Path, str, str]:
    source = FIXTURES / f"{name}.in.py"
    return source, source.read_text(), (FIXTURES / f"{name}.out.py").read_text()


def _fix_with_fake(source: str):
    return fix_source(source, fake_check(source), fake_check)


def _run_code(source: str, namespace: dict | None = None) -> dict:
    """Run generated test code (a fixed module or snippet) and return its namespace."""
    namespace = {} if namespace is None else namespace
    exec(source, namespace)  # the point is to run what the fix produced
    return namespace


# -- fixture pairs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAIRS)
def test_fixture_pair_with_fake_analyzer(name):
    _, before, after = _pair(name)
    assert _fix_with_fake(before).source == after


@pytest.mark.parametrize("name", sorted(set(PAIRS) - FAKE_ONLY))
def test_fixture_pair_with_jaxpure_analyzer(name):
    path, before, after = _pair(name)
    recheck = real_check(path)
    findings = recheck(before)
    assert findings, "the fixture must give the real analyzer something to fix"
    outcome = fix_source(before, findings, recheck)
    assert outcome.source == after
    # The findings JSON's "fixable" never promises a fix that --fix then refuses, nor hides one.
    refused = {(f.line, f.code) for f, _ in outcome.refused}
    for finding in findings:
        if finding.code in ("JP101", "JP201", "JP202", "JP401", "JP501"):
            assert finding.fixable == ((finding.line, finding.code) not in refused), finding


@pytest.mark.parametrize("name", PAIRS)
def test_fixing_is_idempotent(name):
    path, _, after = _pair(name)
    assert _fix_with_fake(after).source == after
    if name not in FAKE_ONLY:
        assert fix_source(after, real_check(path)(after), real_check(path)).source == after


REFUSALS = {
    "jp101_print": {
        24: "end= other than a newline",
        25: "print(*...)",
        26: "flush=",
    },
    "jp2_at_update": {
        39: "x[i] //= v has no .at[] method",
        40: "chained assignment",
        41: "boolean-mask index",
        42: "nested item assignment",
        43: "BUFFER is not local to refused",
        50: "rebinding an attribute of self",
    },
    "jp401_where": {
        51: "no else branch",
        53: "reads y after assigning it",
        59: "list/dict/set/tuple display",
        63: "one branch assigns and another returns",
    },
    "jp501_jnp": {
        22: "np.array(..., copy=...)",
        23: "np.take has no jnp twin",
        25: "np.where with 1 positional arguments",
    },
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_fixes_say_why(name):
    _, before, _ = _pair(name)
    outcome = _fix_with_fake(before)
    reasons = {finding.line: reason for finding, reason in outcome.refused}
    assert set(reasons) == set(REFUSALS[name])
    for line, expected in REFUSALS[name].items():
        assert expected in reasons[line]


def test_from_numpy_import_is_refused_by_name():
    path, before, _ = _pair("jp501_jnp")
    outcome = fix_source(before, check_source(before, str(path)), real_check(path))
    reasons = {finding.line: reason for finding, reason in outcome.refused}
    assert "from numpy import f" in reasons[24]


# -- the fixed modules compute what the originals meant ---------------------------------------------


@dataclass(frozen=True)
class Case:
    fixture: str
    function: str
    args: tuple
    numpy_original: bool = False  # item assignment needs a mutable NumPy array to run at all


def _grid() -> np.ndarray:
    return np.arange(16, dtype=np.float32).reshape(4, 4) / 4


RUNTIME_CASES = [
    Case("jp101_print", "report", (np.arange(3, dtype=np.float32), np.float32(0.25))),
    Case("jp2_at_update", "update", (_grid(), np.float32(0.5)), numpy_original=True),
    Case("jp2_at_update", "update_grid", (_grid(), 1), numpy_original=True),
    Case("jp2_at_update", "update_local_object", (np.arange(4, dtype=np.float32),), numpy_original=True),
    *[Case("jp401_where", "relu_and_sign", (np.float32(v),)) for v in (2.0, -3.0)],
    *[Case("jp401_where", "absolute", (np.float32(v),)) for v in (2.0, -3.0)],
    *[Case("jp401_where", "clamp", (np.float32(v), np.float32(0.0), np.float32(1.0))) for v in (-1.0, 0.5, 3.0)],
    *[Case("jp401_where", "pair", (np.float32(v),)) for v in (2.0, 0.5)],
    *[Case("jp401_where", "halve_if_large", (np.float32(v),)) for v in (20.0, 3.0)],
    Case("jp501_jnp", "normalize", (np.array([1.0, -2.0, 0.5], dtype=np.float32),)),
    Case("jp501_jnp", "statistics", (_grid(),)),
    Case("imports_from_jax_debug", "show", (np.arange(3, dtype=np.float32),)),
    *[Case("imports_aliases", "pick", (np.float32(v),)) for v in (2.0, -3.0)],
    Case("imports_none", "show", (np.float32(1.5),)),
]


def _load(name: str, side: str) -> ModuleType:
    path = FIXTURES / f"{name}.{side}.py"
    spec = importlib.util.spec_from_file_location(f"jaxpure_fix_fixture_{name}_{side}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python_function(module: ModuleType, name: str):
    function = getattr(module, name)
    return getattr(function, "__wrapped__", function)  # the body itself, without the jit


def _run(function, args, capsys, *, staged: bool):
    capsys.readouterr()
    result = (jax.jit(function) if staged else function)(*args)
    jax.effects_barrier()  # staged debug prints run asynchronously
    return result, capsys.readouterr().out


def _assert_same_values(expected, actual):
    leaves_expected, leaves_actual = jax.tree.leaves(expected), jax.tree.leaves(actual)
    assert len(leaves_expected) == len(leaves_actual)
    for e, a in zip(leaves_expected, leaves_actual, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-6)


def _case_id(case: Case) -> str:
    return f"{case.fixture}.{case.function}{case.args if np.ndim(case.args[0]) == 0 else ''}"


@pytest.mark.parametrize("case", RUNTIME_CASES, ids=_case_id)
def test_fixed_module_computes_the_same_eagerly_and_under_jit(case, capsys):
    original = _python_function(_load(case.fixture, "in"), case.function)
    fixed = _python_function(_load(case.fixture, "out"), case.function)
    as_numpy = [np.array(a) if isinstance(a, np.ndarray) else a for a in case.args]
    as_jax = [jnp.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in case.args]

    expected, expected_out = _run(original, as_numpy if case.numpy_original else as_jax, capsys, staged=False)
    eager, eager_out = _run(fixed, as_jax, capsys, staged=False)
    staged, staged_out = _run(fixed, as_jax, capsys, staged=True)

    _assert_same_values(expected, eager)
    _assert_same_values(expected, staged)
    assert eager_out == expected_out
    assert sorted(staged_out.splitlines()) == sorted(expected_out.splitlines())  # debug prints are unordered


@pytest.mark.parametrize("case", RUNTIME_CASES, ids=_case_id)
def test_original_module_breaks_under_jit(case, capsys):
    """What the fix is for: the original does not stage as it runs eagerly."""
    original = _python_function(_load(case.fixture, "in"), case.function)
    as_jax = [jnp.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in case.args]
    try:
        _, out = _run(original, as_jax, capsys, staged=True)
    except (TypeError, jax.errors.JAXTypeError, jax.errors.ConcretizationTypeError):
        return
    assert "Tracer" in out, "the original printed no tracer and did not fail"


# -- JP101: print → jax.debug.print -----------------------------------------------------------------


PRINT_CASES = [
    ("print(x)", 'jax.debug.print("{}", x)'),
    ("print()", 'jax.debug.print("")'),
    ('print("plain")', 'jax.debug.print("plain")'),
    ('print(f"{x:>{w}}|")', 'jax.debug.print("{:>{}}|", x, w)'),
    ('print(f"{x!s:>12}")', 'jax.debug.print("{!s:>12}", x)'),
    ('print(f"{ x = }")', 'jax.debug.print(" x = {!r}", x)'),
    ('print(f"{x=:.2f}")', 'jax.debug.print("x={:.2f}", x)'),
    ('print("a" f"{x}" "b")', 'jax.debug.print("a{}b", x)'),
    ('print("tab\\there", x, sep="")', 'jax.debug.print("tab\\there{}", x)'),
    ('print(b"raw", x)', 'jax.debug.print("{} {}", b"raw", x)'),
    ('print(x, w, sep=None, end="\\n", file=None, flush=False)', 'jax.debug.print("{} {}", x, w)'),
    ('print("{", x)', 'jax.debug.print("{} {}", "{", x)'),
    ('print("}")', 'jax.debug.print("{}", "}")'),
    ('print(x, "{y}")', 'jax.debug.print("{} {{y}}", x)'),
    ('print(f"{x.shape!r}")', 'jax.debug.print("{}", repr(x.shape))'),
    ("print(f'{x}')", "jax.debug.print('{}', x)"),
    # Text built before print runs (str(), repr(), str.format, +) would hold the tracer: its values become fields.
    ('print("x is {}".format(x))', 'jax.debug.print("x is {}", x)'),
    ('print("{:.2f} and {!r} ({})".format(x, x, w))', 'jax.debug.print("{:.2f} and {!r} ({})", x, x, w)'),
    ('print("x=" + str(x) + "!", repr(x))', 'jax.debug.print("x={!s}! {!r}", x, x)'),
    ("print(str(x))", 'jax.debug.print("{!s}", x)'),
    ('print("shape " + str(x.shape))', 'jax.debug.print("shape {}", str(x.shape))'),
    ('print("{{x}} {}".format(x))', 'jax.debug.print("{}{}", "{x} ", x)'),
]


def _fixed_statement(statement: str) -> str:
    source = f"import jax\n\n\ndef f(x, w):\n    {statement}\n"
    outcome = _fix_with_fake(source)
    assert not outcome.refused, outcome.refused
    return outcome.source.splitlines()[4].strip()


@pytest.mark.parametrize(("statement", "expected"), PRINT_CASES)
def test_print_becomes_debug_print(statement, expected):
    assert _fixed_statement(statement) == expected


@pytest.mark.parametrize(("statement", "_"), PRINT_CASES)
def test_debug_print_shows_what_print_showed(statement, _, capsys):
    """Run both versions on real values: the text must be identical, staged or not."""
    fixed = _fixed_statement(statement)
    x, w = jnp.float32(1.5), 8

    def run(line: str, *, staged: bool) -> str:
        namespace = _run_code(f"def f(x, w):\n    {line}\n    return x\n", {"jax": jax})
        return _run(namespace["f"], (x, w), capsys, staged=staged)[1]

    printed = run(statement, staged=False)
    assert run(fixed, staged=False) == printed
    assert run(fixed, staged=True) == printed


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ('print(x, end="")', "end="),
        ("print(x, sep=s)", "sep= is not a string literal"),
        ("print(x, file=sys.stderr)", "file="),
        ("print(x, flush=True)", "flush="),
        ("print(*xs)", "print(*...)"),
        ('print(f"{x.shape:>5}")', "format spec applied to .shape"),
        ('print("x is %s" % x)', "%-formatting"),
        ('print("{0}".format(x))', "numbered or named str.format() field"),
        ('print("{a}".format(a=x))', "keyword or unpacked arguments"),
        ('print("{} {}".format(x))', "fewer arguments than fields"),
        ('print("{}".format(x, y))', "more arguments than fields"),
    ],
)
def test_print_fix_refusals(statement, reason):
    node = cst.parse_statement(statement).body[0].value
    assert not is_fixable("JP101", node)
    assert reason in refusal_reason("JP101", node)


def test_a_print_split_over_lines_keeps_its_closing_line_and_comments():
    """Found in equinox (tree_pprint): the closing parenthesis on its own line stays there."""
    source = "import jax\n\n\ndef f(x):\n    print(\n        pformat(\n            x,\n        )  # why\n    )\n"
    outcome = _fix_with_fake(source)
    assert not outcome.refused
    assert outcome.source.endswith(
        '    jax.debug.print(\n        "{}",\n        pformat(\n            x,\n        )  # why\n    )\n'
    )


PRINT_UNDER = "import jax\n\n\ndef f(x):\n    print(x)\n    return x\n\n\n{transform}(f)(1.0)\n"


@pytest.mark.parametrize(
    ("transform", "reason"),
    [
        ("jax.eval_shape", "under jax.eval_shape the function is traced, never run"),
        ("jax.make_jaxpr", "under jax.make_jaxpr the function is traced, never run"),
        ("jax.export.export", "jax.export.export cannot serialize the host callback"),
    ],
)
def test_print_under_a_transform_that_never_runs_callbacks_is_refused(transform, reason):
    """Found in equinox: a trace-time debug print under eval_shape, the only output it ever gives."""
    source = PRINT_UNDER.format(transform=transform)
    findings = check_source(source, "m.py")
    assert [(f.code, f.fixable) for f in findings] == [("JP101", False)]  # the JSON says so too
    findings = [dataclasses.replace(f, fixable=True) for f in findings]  # and --fix would refuse it anyway
    outcome = fix_source(source, findings, real_check(Path("m.py")))
    assert not outcome.changed
    assert [f.line for f, _ in outcome.refused] == [5]
    assert reason in outcome.refused[0][1]


def test_print_under_jit_is_still_fixed():
    source = PRINT_UNDER.format(transform="jax.jit")
    outcome = fix_source(source, check_source(source, "m.py"), real_check(Path("m.py")))
    assert 'jax.debug.print("{}", x)' in outcome.source and not outcome.refused


def test_debug_print_under_eval_shape_and_export_does_not_do_what_print_did(capsys):
    """Why those refusals: eval_shape/make_jaxpr never run the callback; export cannot serialize it."""

    def with_print(x):
        print("traced", x.shape)
        return x

    def with_debug_print(x):
        jax.debug.print("staged {}", x)
        return x

    x = jnp.ones(2)
    jax.eval_shape(with_print, x)
    assert capsys.readouterr().out == "traced (2,)\n"
    jax.eval_shape(with_debug_print, x)
    jax.make_jaxpr(with_debug_print)(x)
    jax.effects_barrier()
    assert capsys.readouterr().out == ""
    with pytest.raises(NotImplementedError, match="host_callbacks"):
        jax.export.export(jax.jit(with_debug_print))(jax.ShapeDtypeStruct((2,), jnp.float32))


# -- JP201/JP202: .at[] updates ---------------------------------------------------------------------


@pytest.mark.parametrize(("operator", "method"), [(op, m) for op, m in AT_METHODS.items()])
def test_at_methods_exist_and_match_numpy(operator, method):
    symbol = cst.Module([]).code_for_node(operator()).strip()
    reference = np.arange(1, 5, dtype=np.float32)
    _run_code(f"reference[1:3] {symbol} 2.0", {"reference": reference})
    source = f"def f(x):\n    x[1:3] {symbol} 2.0\n    return x\n"
    fixed = _fix_with_fake(source).source
    assert f".at[1:3].{method}(2.0)" in fixed
    namespace = _run_code(fixed)
    x = jnp.arange(1, 5, dtype=jnp.float32)
    np.testing.assert_allclose(np.asarray(jax.jit(namespace["f"])(x)), reference, rtol=1e-6)


def test_at_update_of_tuple_value_keeps_it_one_argument():
    fixed = _fix_with_fake("def f(x):\n    x[0:2] = 1.0, 2.0\n    return x\n").source
    assert "x = x.at[0:2].set((1.0, 2.0))" in fixed


def test_at_update_refuses_a_global_and_a_closure_name():
    source = (
        "import jax.numpy as jnp\nG = jnp.zeros(3)\n\ndef f(v):\n    G[0] = v\n\n"
        "def g(y):\n    def h(v):\n        y[0] = v\n    return h\n"
    )
    reasons = [reason for _, reason in _fix_with_fake(source).refused]
    assert any("G is not local to f" in r for r in reasons)
    assert any("y is not local to h" in r for r in reasons)


def test_at_update_refuses_the_first_parameter_of_a_method_by_any_name():
    source = "class M:\n    def f(me, v):\n        me.w[0] = v\n        return v\n"
    ((_, reason),) = _fix_with_fake(source).refused
    assert "rebinding an attribute of the instance" in reason


# -- JP401: jnp.where -------------------------------------------------------------------------------


def test_where_refuses_a_condition_with_calls_evaluated_twice():
    source = (
        "def f(x):\n    if g(x) > 0:\n        a = x\n        b = 1\n    else:\n        a = -x\n        b = 2\n"
        "    return a, b\n"
    )
    ((_, reason),) = _fix_with_fake(source).refused
    assert "evaluated once per output" in reason


def _fix_where_only(source: str):
    return fix_source(source, [f for f in fake_check(source) if f.code == "JP401"], fake_check)


WHERE_HEADER = "import math\nimport numpy as np\nimport jax.numpy as jnp\nfrom jax import lax\n\n\n"


@pytest.mark.parametrize(
    ("if_true", "if_false", "callee"),
    [
        ("helper(x)", "x", "helper"),
        ('site["fn"].log_prob(v, c)', 'site["fn"].log_prob(v)', 'site["fn"].log_prob'),  # numpyro
        ("self.scale(x)", "x", "self.scale"),
        ("np.random.normal()", "x", "np.random.normal"),
        ("x", "make()(x)", "make()"),
    ],
)
def test_where_refuses_a_value_that_calls_what_may_raise_or_act(if_true, if_false, callee):
    """jnp.where runs both values: a call that only made sense on its own branch would now run on both."""
    body = f"    if c > 0:\n        y = {if_true}\n    else:\n        y = {if_false}\n    return y\n"
    source = WHERE_HEADER + "class M:\n    def f(self, x, c, site, v):\n" + textwrap.indent(body, "    ")
    outcome = _fix_where_only(source)
    assert not outcome.changed
    ((_, reason),) = outcome.refused
    assert f"a value calls {callee}(...), which jnp.where would run whichever way" in reason


@pytest.mark.parametrize(
    "value",
    [
        "jnp.sin(x)",
        "lax.exp(x)",
        "np.exp(x)",
        "np.linalg.norm(x)",
        "math.sqrt(2.0) * x",
        "x.sum()",
        "x.at[0].set(1.0)",
        "abs(x)",
    ],
)
def test_where_takes_values_that_only_compute(value):
    source = WHERE_HEADER + f"def f(x, c):\n    y = {value} if c > 0 else x\n    return y\n"
    outcome = _fix_where_only(source)
    assert not outcome.refused
    assert f"y = jnp.where(c > 0, {value}, x)" in outcome.source


def test_where_refuses_a_later_output_reading_an_earlier_one():
    source = (
        "def f(x, a):\n    if x > 0:\n        a = x\n        b = a\n    else:\n        a = -x\n        b = 0\n"
        "    return a, b\n"
    )
    ((_, reason),) = _fix_with_fake(source).refused
    assert "reads a after assigning it" in reason


def test_where_uses_the_if_values_from_before_the_if():
    """``x = x + 1`` in a branch reads the old x; the single where does too."""
    source = (
        "import jax.numpy as jnp\n\ndef f(x):\n    if x > 0:\n        x = x + 1\n    else:\n        x = x - 1\n"
        "    return x\n"
    )
    fixed = _fix_with_fake(source).source
    assert "x = jnp.where(x > 0, x + 1, x - 1)" in fixed


def test_an_elif_alone_becomes_an_else_holding_the_where():
    """The first test is static (a string compare), the elif traced: only the elif changes."""
    source = textwrap.dedent(
        """\
        import jax.numpy as jnp


        def f(x, s):
            if s == "abs":
                return x
            elif x > 0:  # positive
                return x
            else:
                return 0.0 * x
        """
    )

    def analyzer(text: str) -> list[Finding]:
        return [f for f in fake_check(text) if "s ==" not in text.splitlines()[f.line - 1]]

    outcome = fix_source(source, analyzer(source), analyzer)
    assert outcome.source.endswith(
        '    if s == "abs":\n        return x\n    else:\n'
        "        # positive\n        return jnp.where(x > 0, x, 0.0 * x)\n"
    )
    namespace = _run_code(outcome.source)
    assert float(jax.jit(namespace["f"], static_argnums=1)(-2.0, "relu")) == 0.0


def test_ifexp_comment_in_parentheses_is_not_lost():
    source = "def f(x):\n    return (x  # keep\n            if x > 0 else -x)\n"
    ((_, reason),) = _fix_with_fake(source).refused
    assert "drop a comment" in reason


# -- JP501: the allow-list ---------------------------------------------------------------------------


def _resolve(module, path: str):
    for part in path.split("."):
        module = getattr(module, part)
    return module


@pytest.mark.parametrize("path", sorted(JNP_TWINS))
def test_every_jnp_twin_exists_and_takes_its_keywords(path):
    assert callable(_resolve(np, path))
    function = _resolve(jnp, path)
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        assert not JNP_TWINS[path].keywords
        return
    for keyword in JNP_TWINS[path].keywords:
        assert keyword in parameters, f"jnp.{path} has no {keyword}="


# -- is_fixable: cheap and node-local ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "statement", "pick", "expected"),
    [
        ("JP101", 'print(f"{x}")', lambda s: s.body[0].value, True),
        ("JP101", "print(x, end='')", lambda s: s.body[0].value, False),
        ("JP201", "x[i] = v", lambda s: s.body[0], True),
        ("JP201", "x[i], y = v", lambda s: s.body[0], False),
        ("JP202", "x[i] += v", lambda s: s.body[0], True),
        ("JP202", "x[i] %= v", lambda s: s.body[0], False),
        ("JP202", "self.x[i] += v", lambda s: s.body[0], False),
        ("JP501", "np.sum(x, axis=0)", lambda s: s.body[0].value, True),
        ("JP501", "np.sum(x, out=y)", lambda s: s.body[0].value, False),
        ("JP401", "y = a if x > 0 else b", lambda s: s.body[0].value, True),
        ("JP401", "y = (a, 1) if x > 0 else (b, 2)", lambda s: s.body[0].value, False),
        ("JP401", "if x > 0:\n    y = 1\nelse:\n    y = 2", lambda s: s, True),
        ("JP401", "if x > 0:\n    y = 1", lambda s: s, False),
        ("JP101", "x[i] = v", lambda s: s.body[0], False),  # wrong node type
        ("JP102", 'print("x")', lambda s: s.body[0].value, False),  # no fixer for the code
    ],
)
def test_is_fixable(code, statement, pick, expected):
    assert is_fixable(code, pick(cst.parse_statement(statement + "\n"))) is expected


# -- imports -------------------------------------------------------------------------------------------


def test_jnp_import_sorts_among_jax_imports():
    source = "import jax\nimport jax.random as jr\nimport numpy as np\n\ndef f(x):\n    return np.sum(x)\n"
    fixed = _fix_with_fake(source).source
    assert fixed.startswith("import jax\nimport jax.numpy as jnp\nimport jax.random as jr\nimport numpy as np\n")


def test_existing_jax_numpy_spellings_are_reused():
    for imports, spelled in [
        ("from jax import numpy as jx\nimport numpy as np\n", "jx.sum"),
        ("import jax.numpy\nimport numpy as np\n", "jax.numpy.sum"),
    ]:
        fixed = _fix_with_fake(imports + "\ndef f(x):\n    return np.sum(x)\n").source
        assert fixed == imports + f"\ndef f(x):\n    return {spelled}(x)\n"


def test_a_taken_name_refuses_rather_than_shadows():
    source = "jax = None\n\ndef f(x):\n    print(x)\n"
    ((_, reason),) = _fix_with_fake(source).refused
    assert "the name jax is taken" in reason


def test_import_after_stdlib_only_block():
    source = "import os\nimport sys\n\ndef f(x):\n    print(x)\n"
    assert _fix_with_fake(source).source.startswith("import os\nimport sys\nimport jax\n\ndef f(x):\n")


# -- the safety of fix_source -----------------------------------------------------------------------


SIMPLE = "import jax\n\n\ndef f(x, y):\n    print(x)\n    print(y)\n"


def test_a_fix_the_recheck_still_flags_is_refused_and_the_other_applied():
    def stubborn(source: str) -> list[Finding]:
        # Pretends the analyzer still sees a problem on line 5 whatever is there.
        return [f for f in fake_check(source)] + (
            [] if "print(x)" in source else [Finding("m.py", 5, 5, 5, 30, "JP101", "")]
        )

    outcome = fix_source(SIMPLE, fake_check(SIMPLE), stubborn)
    assert [f.line for f in outcome.applied] == [6]
    assert [(f.line, r) for f, r in outcome.refused] == [(5, "the re-check still reports it after the rewrite")]
    assert outcome.source == SIMPLE.replace("print(y)", 'jax.debug.print("{}", y)')


def test_a_rewrite_the_analyzer_cannot_read_is_refused():
    def breaks(source: str) -> list[Finding]:
        return fake_check(source) if source == SIMPLE else [Finding("m.py", 1, 1, 1, 1, "JP000", "")]

    outcome = fix_source(SIMPLE, fake_check(SIMPLE), breaks)
    assert not outcome.changed
    assert {r for _, r in outcome.refused} == {"the re-check cannot analyze the rewritten module"}


def test_a_recheck_crash_is_a_refusal_not_a_crash():
    def crashes(source: str) -> list[Finding]:
        if source != SIMPLE:
            raise RuntimeError("boom")
        return fake_check(source)

    outcome = fix_source(SIMPLE, fake_check(SIMPLE), crashes)
    assert not outcome.changed
    assert all("re-check failed on the rewritten code: boom" in r for _, r in outcome.refused)


def test_a_finding_the_recheck_does_not_report_is_refused_unverified():
    """A finding reached through a call from another module: a one-module re-check cannot see it go."""
    outcome = fix_source(SIMPLE, fake_check(SIMPLE), lambda source: [])
    assert not outcome.changed
    assert [r for _, r in outcome.refused] == [NOT_RECHECKED, NOT_RECHECKED]


def test_stale_findings_are_refused():
    stale = Finding("m.py", 2, 1, 2, 5, "JP101", "")
    outcome = fix_source(SIMPLE, [stale], fake_check)
    assert not outcome.changed
    assert "not where the finding says" in outcome.refused[0][1]


def test_findings_without_a_fixer_are_ignored():
    other = Finding("m.py", 5, 5, 5, 13, "JP102", "")
    outcome = fix_source(SIMPLE, [other], fake_check)
    assert (outcome.changed, outcome.applied, outcome.refused) == (False, (), ())


def test_unparsable_source_is_left_alone():
    broken = "def f(:\n    print(x)\n"
    outcome = fix_source(broken, [Finding("m.py", 2, 5, 2, 13, "JP101", "")], fake_check)
    assert not outcome.changed and outcome.refused[0][1] == "the module does not parse"


def test_only_the_findings_asked_for_are_fixed():
    """A finding the caller left out (--select, a baseline) is not fixed by a later round."""
    source = SIMPLE + "    return np.exp(x)\n"
    asked = [f for f in fake_check(source) if f.line == 5]
    outcome = fix_source(source, asked, fake_check)
    assert outcome.source == source.replace("print(x)", 'jax.debug.print("{}", x)')
    assert [f.line for f in outcome.applied] == [5]


def test_a_later_round_fixes_no_code_that_was_not_asked_for():
    """Fixing the JP201 inside the if makes the if fixable, but JP401 was not asked for."""
    source = "def f(x, y):\n    if x > 0:\n        y[0] = x\n    else:\n        y[0] = -x\n    return y\n"
    asked = [f for f in fake_check(source) if f.code == "JP201"]
    outcome = fix_source(source, asked, fake_check)
    assert sorted(f.code for f in outcome.applied) == ["JP201", "JP201"]
    assert "    if x > 0:\n        y = y.at[0].set(x)\n" in outcome.source


def test_overlapping_fixes_are_applied_in_rounds():
    """The JP201 fixes turn the if's branches into plain assignments, which JP401 can then rewrite."""
    source = textwrap.dedent(
        """\
        import jax.numpy as jnp


        def f(x, y):
            if x > 0:
                y[0] = x
            else:
                y[0] = -x
            return y
        """
    )
    outcome = _fix_with_fake(source)
    assert "    y = jnp.where(x > 0, y.at[0].set(x), y.at[0].set(-x))\n" in outcome.source
    assert sorted(f.code for f in outcome.applied) == ["JP201", "JP201", "JP401"]
    assert not outcome.refused
    y = jnp.zeros(2)
    namespace = _run_code(outcome.source)
    assert float(jax.jit(namespace["f"])(-2.0, y)[0]) == 2.0


# -- files: diff, atomic write, faults ----------------------------------------------------------------


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    path = tmp_path / "m.py"
    path.write_text(SIMPLE)
    return path


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".jaxpure-tmp")]


def test_diff_writes_nothing(module_file):
    result = fix_file(module_file, fake_check(SIMPLE), fake_check, write=False)
    assert module_file.read_text() == SIMPLE and not result.written
    assert f"--- a/{module_file}" in result.diff
    assert "\n-    print(x)\n" in result.diff and '\n+    jax.debug.print("{}", x)\n' in result.diff


def test_fix_writes_and_keeps_permissions(module_file):
    module_file.chmod(0o640)
    result = fix_file(module_file, fake_check(SIMPLE), fake_check, write=True)
    assert result.written and result.error is None
    assert 'jax.debug.print("{}", y)' in module_file.read_text()
    assert stat.S_IMODE(module_file.stat().st_mode) == 0o640
    assert _leftovers(module_file.parent) == []
    again = fix_file(module_file, fake_check(module_file.read_text()), fake_check, write=True)
    assert not again.written and again.diff == ""


def test_newlines_and_encoding_are_kept(tmp_path):
    path = tmp_path / "crlf.py"
    text = "# -*- coding: latin-1 -*-\r\nimport jax\r\n\r\ndef f(x):\r\n    print('caf\xe9', x)\r\n"
    path.write_bytes(text.encode("latin-1"))
    fix_file(path, fake_check(text), fake_check, write=True)
    assert path.read_bytes() == text.replace("print('caf\xe9', x)", "jax.debug.print('caf\xe9 {}', x)").encode(
        "latin-1"
    )


def test_a_symlink_stays_a_link(tmp_path, module_file):
    link = tmp_path / "link.py"
    link.symlink_to(module_file)
    assert fix_file(link, fake_check(SIMPLE), fake_check, write=True).written
    assert link.is_symlink() and "jax.debug.print" in module_file.read_text()


def test_read_only_file_is_not_written(module_file):
    module_file.chmod(0o444)
    result = fix_file(module_file, fake_check(SIMPLE), fake_check, write=True)
    assert not result.written and "read-only" in result.error
    assert module_file.read_text() == SIMPLE and _leftovers(module_file.parent) == []


def test_full_disk_leaves_the_original(module_file, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files_module.os, "fsync", no_space)
    result = fix_file(module_file, fake_check(SIMPLE), fake_check, write=True)
    assert not result.written and "No space left on device" in result.error
    assert module_file.read_text() == SIMPLE and _leftovers(module_file.parent) == []


def test_interrupt_before_the_swap_leaves_the_original(module_file, monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(files_module.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fix_file(module_file, fake_check(SIMPLE), fake_check, write=True)
    assert module_file.read_text() == SIMPLE and _leftovers(module_file.parent) == []


def test_a_killed_process_never_leaves_a_truncated_file(module_file):
    """SIGKILL mid-write: no cleanup runs, and still the original is whole."""
    child = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from jaxpure.fixes import files
        def slow_sync(fd):
            print("written", flush=True)
            time.sleep(60)
        files.os.fsync = slow_sync
        path = Path({str(module_file)!r})
        files.write_atomically(path, b"x = 1\\n" * 100000, expected=path.read_bytes())
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "written"
    finally:
        process.kill()
        process.wait()
    assert module_file.read_text() == SIMPLE


def test_a_file_changed_since_read_is_left_alone(module_file):
    edited = SIMPLE + "# edited meanwhile\n"

    def recheck_while_someone_saves(source: str) -> list[Finding]:
        module_file.write_text(edited)
        return fake_check(source)

    result = fix_file(module_file, fake_check(SIMPLE), recheck_while_someone_saves, write=True)
    assert not result.written and "changed on disk" in result.error
    assert module_file.read_text() == edited and _leftovers(module_file.parent) == []


def test_unreadable_file_is_reported(tmp_path):
    result = fix_file(tmp_path / "missing.py", [], fake_check, write=True)
    assert result.outcome is None and "cannot read it" in result.error


def _check_and_fix(folder: Path, monkeypatch) -> tuple[list[Finding], str]:
    monkeypatch.chdir(folder)
    config = Config()
    selection = Selection(config)
    report = check_files(discover(["."]), config, selection)
    findings = list(report.findings)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    run_fixes(report, config, selection, diff=False)
    return findings, stderr.getvalue()


def test_the_recheck_knows_the_module_name(tmp_path, monkeypatch):
    """``from . import filter_jit`` resolves only with the module's name, as the check gave it."""
    (tmp_path / "equinox").mkdir()
    (tmp_path / "equinox" / "__init__.py").write_text("")
    module = tmp_path / "equinox" / "sub.py"
    module.write_text(
        "import jax\n\nfrom . import filter_jit\n\n\n@filter_jit\ndef f(x):\n    print(x)\n    return x\n"
    )
    findings, stderr = _check_and_fix(tmp_path, monkeypatch)
    assert [f.code for f in findings] == ["JP101"]
    assert 'jax.debug.print("{}", x)' in module.read_text()
    assert "jaxpure: fixes applied: 1 (JP101: 1) in 1 file(s); refused: 0" in stderr


def test_a_finding_from_another_module_is_refused_with_the_reason(tmp_path, monkeypatch):
    """Found in numpyro: the re-check of one file does not have the calls from the others."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    helper = "import jax\n\n\ndef g(x):\n    print(x)\n    return jax.numpy.sin(x)\n"
    (tmp_path / "pkg" / "helpers.py").write_text(helper)
    (tmp_path / "pkg" / "main.py").write_text(
        "import jax\n\nfrom .helpers import g\n\n\n@jax.jit\ndef step(x):\n    return g(x)\n"
    )
    findings, stderr = _check_and_fix(tmp_path, monkeypatch)
    assert [(f.path, f.code) for f in findings] == [("pkg/helpers.py", "JP101")]
    assert (tmp_path / "pkg" / "helpers.py").read_text() == helper
    assert f"pkg/helpers.py:5:5: JP101 fix refused: {NOT_RECHECKED}" in stderr
    assert "fixes applied: 0 in 0 file(s); refused: 1 (JP101: 1)" in stderr


def test_notebooks_are_not_rewritten(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text('{"cells": []}')
    result = fix_file(notebook, [Finding(str(notebook), 1, 1, 1, 9, "JP101", "")], fake_check, write=True)
    assert not result.written and "notebooks" in result.error
    assert notebook.read_text() == '{"cells": []}'


def test_a_dict_indexed_through_a_string_constant_is_never_rewritten_to_at():
    """SPEC §8: --fix must never turn a working dict assignment into ``.at[...]``."""
    source = textwrap.dedent(
        """\
        import jax


        @jax.jit
        def f(x):
            tree = jax.tree_util.tree_map(lambda v: v, {"w": x})
            name = "w"
            tree[name] = x + 1
            tree[name] += 1
            return tree
        """
    )
    recheck = real_check(Path("module.py"))
    assert [f.code for f in recheck(source)] == []
    assert fix_source(source, recheck(source), recheck).source == source
    # Where the index is not a string the target is an array, and the fix applies.
    array_source = source.replace('name = "w"', "name = 0").replace('{"w": x}', "x")
    assert sorted(f.code for f in recheck(array_source)) == ["JP201", "JP202"]
    assert "tree = tree.at[name].set(x + 1)" in fix_source(array_source, recheck(array_source), recheck).source
