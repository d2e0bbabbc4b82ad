"""Property-based fuzzing of the static checker (see docs/reliability.md).

Three sources of input:

- random *valid* programs from ``hypothesmith.from_grammar()``, made to reach
  the analyzer: a ``import jax`` header, ``@jax.jit`` on every ``def``, and the
  whole program also as the body of one jitted function;
- random *invalid* programs: the annotated fixtures under ``fixtures/`` with
  random byte and line deletions, insertions and duplications;
- random bytes, decoded as a file would be.

For each, the checker never raises, is deterministic (the same input gives
the same findings), and reports positions inside the file
(``1 <= line <= number of lines + 1``, ``column >= 1``).

CI runs a bounded number of examples. A longer run::

    JAXPURE_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py

(each test gets that many examples; add ``-p no:cacheprovider`` for a fresh
Hypothesis database, ``--hypothesis-seed=N`` to replay a run).
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from pathlib import Path

import hypothesis
import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxpure.api import check_paths, check_source
from jaxpure.files.source import Unreadable, decode, source_lines
from jaxpure.findings import Finding

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# hypothesmith compiles what it generates: `1()` and the like warn, which is no concern here.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")
_EXAMPLES = int(os.environ.get("JAXPURE_FUZZ_EXAMPLES", "0"))


def _settings(default: int):
    """CI: ``default`` examples; ``JAXPURE_FUZZ_EXAMPLES`` overrides for a long run."""
    return settings(
        max_examples=_EXAMPLES or default,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not _EXAMPLES,  # CI: the same examples every run, no flaky red builds
        database=None if not _EXAMPLES else hypothesis.settings.default.database,
    )


# -- the properties ------------------------------------------------------------------


def _key(finding: Finding) -> tuple:
    return (
        finding.path,
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        finding.code,
        finding.message,
    )


def assert_well_behaved(text: str) -> list[Finding]:
    """Never raises, deterministic, positions inside the file. Returns the findings."""
    first = check_source(text, "fuzzed.py")  # an exception here fails the test with its traceback
    second = check_source(text, "fuzzed.py")
    assert [_key(f) for f in first] == [_key(f) for f in second], "not deterministic"
    lines = len(source_lines(text))
    for finding in first:
        assert 1 <= finding.line <= lines + 1, f"line outside the file ({lines} lines): {finding}"
        assert finding.column >= 1, finding
        assert (finding.end_line, finding.end_column) >= (finding.line, finding.column), finding
        assert finding.code.startswith("JP") and finding.message, finding
    return first


# libcst (which the analyzer parses statements with) rejects a backslash continuation on a
# line of only whitespace at the start of a block (`if 1:\n  \\\n  x = 1`), which CPython
# accepts: a known libcst limitation, reported as JP000 "syntax error (libcst)".
_LIBCST_LIMITATION = re.compile(r"^[ \t\f]*\\\r?$", re.MULTILINE)


def assert_no_jp000(text: str, findings: list[Finding]) -> None:
    """A program Python parses is analyzed, not reported as unanalyzable."""
    unanalyzable = [f for f in findings if f.code == "JP000"]
    if unanalyzable and _LIBCST_LIMITATION.search(text) and all("(libcst)" in f.message for f in unanalyzable):
        return
    assert not unanalyzable, "JP000 on a program Python parses"


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# -- valid programs ----------------------------------------------------------------------

_DEF = re.compile(r"^(?P<indent>[ \t]*)(async\s+)?def\s", re.MULTILINE)
_HEADER = "import jax\nimport jax.numpy as jnp\nfrom jax import lax\n\n"


def jitted(program: str) -> str:
    """``program`` with a JAX header and ``@jax.jit`` on every ``def`` (at its own indentation)."""
    return _HEADER + _DEF.sub(lambda m: f"{m.group('indent')}@jax.jit\n{m.group(0)}", program)


def as_jitted_body(program: str) -> str:
    """``program`` as the body of one jitted function whose arguments are traced."""
    body = "".join("    " + line if line.strip() else line for line in source_lines(program))
    return _HEADER + "@jax.jit\ndef fuzzed(x, y, *args, **kwargs):\n" + (body or "    pass\n") + "    return x\n"


@_settings(60)
@given(hypothesmith.from_grammar())
def test_valid_programs_with_jitted_functions(program: str) -> None:
    text = jitted(program)
    if not _parses(text):  # a decorator before `def` inside a one-line compound statement, say
        return
    findings = assert_well_behaved(text)
    assert_no_jp000(text, findings)


@_settings(60)
@given(hypothesmith.from_grammar())
def test_valid_programs_as_a_traced_body(program: str) -> None:
    text = as_jitted_body(program)
    if not _parses(text):  # `from m import *`, `__future__` imports: not allowed in a function
        return
    findings = assert_well_behaved(text)
    assert_no_jp000(text, findings)


# -- valid programs shaped like JAX code ------------------------------------------------------
# hypothesmith's programs seldom define functions, and never call JAX: these do, built from
# the constructs the rules look at, nested at random.

_NAMES = st.sampled_from(["x", "y", "key", "k", "params", "state", "i", "n", "cache", "self", "out"])
_ATOMS = st.sampled_from(
    [
        "x",
        "y",
        "key",
        "params",
        "state",
        "0",
        "1.5",
        "None",
        "True",
        "'s'",
        "x.shape[0]",
        "x.ndim",
        "jnp.zeros(3)",
        "jnp.sum(x)",
        "np.sum(x)",
        "np.asarray(x)",
        "jax.random.normal(key, (3,))",
        "jax.random.split(key)",
        "jax.random.PRNGKey(0)",
        "x.at[0].set(1.0)",
        "x[x > 0]",
        "jnp.nonzero(x)",
        "float(x)",
        "int(y)",
        "x.item()",
        "len(x)",
        "range(n)",
        "time.time()",
        "random.random()",
        "os.environ['A']",
        "lax.cond(x > 0, lambda v: v, lambda v: -v, x)",
        "jax.lax.fori_loop(0, 3, lambda i, v: v + i, x)",
        "jax.jit(lambda v: v)(x)",
        "jax.grad(lambda v: (v ** 2).sum())(x)",
        "jax.vmap(lambda v: v)(x)",
        "jax.debug.print('{}', x)",
        "self.w",
        "cache.get('a')",
        "[v for v in x]",
        "{**params}",
        "(x, y)",
    ]
)


def _make_expressions() -> st.SearchStrategy[str]:
    base = _ATOMS | st.integers(-3, 10**20).map(str) | st.text(max_size=5).map(repr)
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "*", "@", ">", "==", "and", "or", "if x else"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(
                st.sampled_from(["jnp.where", "jnp.sin", "print", "f", "g", "np.mean", "bool", "jax.device_get"]),
                st.lists(inner, max_size=3),
            ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            inner.map(lambda e: f"(lambda v: {e})"),
            st.tuples(inner, _NAMES, inner).map(lambda t: f"[{t[0]} for {t[1]} in {t[2]}]"),
            st.tuples(_NAMES, inner).map(lambda t: f"({t[0]} := {t[1]})"),
        ),
        max_leaves=6,
    )


_EXPRESSIONS = _make_expressions()


_DECORATORS = st.sampled_from(
    [
        "",
        "@jax.jit\n",
        "@jax.vmap\n",
        "@jax.grad\n",
        "@partial(jax.jit, static_argnums=(0,))\n",
        "@functools.partial(jax.jit, static_argnames=('n',))\n",
        "@jax.checkpoint\n",
        "@eqx.filter_jit\n",
        "@nnx.jit\n",
        "@staticmethod\n",
        "@property\n",
    ]
)


@st.composite
def _block(draw, depth: int) -> list[str]:
    expression = _EXPRESSIONS
    simple = st.one_of(
        st.tuples(_NAMES, expression).map(lambda t: f"{t[0]} = {t[1]}"),
        expression.map(lambda e: f"print({e})"),
        expression,
        st.tuples(_NAMES, expression, expression).map(lambda t: f"{t[0]}[{t[1]}] = {t[2]}"),
        st.tuples(_NAMES, expression).map(lambda t: f"{t[0]} += {t[1]}"),
        st.tuples(_NAMES, expression).map(lambda t: f"{t[0]}.append({t[1]})"),
        _NAMES.map(lambda n: f"global {n}"),
        expression.map(lambda e: f"return {e}"),
        expression.map(lambda e: f"assert {e}"),
        expression.map(lambda e: f"yield {e}"),
        st.just("key, sub = jax.random.split(key)"),
        st.just("pass"),
        st.just("self.count += 1"),
    )
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        if depth >= 3 or draw(st.booleans()):
            lines.append(draw(simple))
            continue
        kind = draw(st.sampled_from(["if", "for", "while", "def", "class", "with", "try", "match"]))
        body = ["    " + line for line in draw(_block(depth + 1))]
        test = draw(expression)
        if kind == "if":
            lines += [f"if {test}:", *body]
            if draw(st.booleans()):
                lines += ["else:", *("    " + line for line in draw(_block(depth + 1)))]
        elif kind == "for":
            lines += [f"for {draw(_NAMES)} in {test}:", *body]
        elif kind == "while":
            lines += [f"while {test}:", *body]
        elif kind == "def":
            decorator = draw(_DECORATORS)
            lines += [*decorator.splitlines(), f"def {draw(_NAMES)}_fn(x, y=None, *args, n=3, **kw):", *body]
        elif kind == "class":
            lines += [f"class C{depth}(nn.Module):", *body]
        elif kind == "with":
            lines += [f"with {test} as {draw(_NAMES)}:", *body]
        elif kind == "try":
            lines += ["try:", *body, "except Exception as error:", "    raise"]
        else:
            lines += [
                f"match {test}:",
                f"    case {{'a': {draw(_NAMES)}}} if {draw(_NAMES)}:",
                *("    " + line for line in body),
                "    case _:",
                "        pass",
            ]
    return lines


_JAX_HEADER = (
    "import functools, os, random, time\nfrom functools import partial\nimport numpy as np\n"
    "import jax\nimport jax.numpy as jnp\nfrom jax import lax\nimport equinox as eqx\n"
    "from flax import nnx\nimport flax.linen as nn\n\nCOUNT = 0\n\n"
)


@st.composite
def jax_programs(draw) -> str:
    functions = []
    for number in range(draw(st.integers(1, 3))):
        body = ["    " + line for line in draw(_block(1))]
        decorator = draw(_DECORATORS.filter(lambda d: d not in ("@staticmethod\n", "@property\n")))
        functions.append(f"{decorator}def fn{number}(x, y, key, params, n=3):\n" + "\n".join(body) + "\n")
    tail = draw(st.sampled_from(["", "step = jax.jit(fn0)\nstep(1, 2, 3, {})\n", "jax.vmap(fn0)(1, 2, 3, {})\n"]))
    return _JAX_HEADER + "\n\n".join(functions) + "\n" + tail


@_settings(120)
@given(jax_programs())
def test_jax_shaped_programs(text: str) -> None:
    if not _parses(text):  # `return` in a class body, `yield` outside a function: not Python
        return
    findings = assert_well_behaved(text)
    assert_no_jp000(text, findings)


# -- invalid programs: mutated fixtures -----------------------------------------------------

_FIXTURE_FILES = sorted(FIXTURES.glob("*.py")) + sorted(FIXTURES.glob("project/*.py"))
_SNIPPETS = [
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b",",
    b"\n",
    b"\r",
    b"\r\n",
    b"    ",
    b"\t",
    b"\\",
    b"\\\n",
    b"'",
    b'"',
    b'"""',
    b"#",
    b"# noqa",
    b"# noqa: JP1",
    b"# jaxpure: skip-file",
    b"@jax.jit\n",
    b"def f(x):\n",
    b"print(x)",
    b"global y\n",
    b"lambda: ",
    b"if x:\n",
    b"else:\n",
    b"return ",
    b"yield ",
    b"await ",
    b"async ",
    b"match x:\n case 1:\n",
    b"x := 1",
    b"*",
    b"**",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\x0c",
    b"\xe2\x80\xa8",
    b"\xc3\xa9",
    b"# -*- coding: latin-1 -*-\n",
    b"jax.random.PRNGKey(0)",
    b"x.at[0].set(1)",
    b"jnp.where(x)",
]


@st.composite
def mutated_fixture(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(_FIXTURE_FILES)).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["delete", "insert", "snippet", "line_delete", "line_duplicate", "line_swap"]))
        position = draw(st.integers(0, len(data)))
        if kind == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "snippet":
            data[position:position] = draw(st.sampled_from(_SNIPPETS))
        else:
            lines = data.splitlines(keepends=True)
            if len(lines) < 2:
                continue
            index = draw(st.integers(0, len(lines) - 1))
            other = draw(st.integers(0, len(lines) - 1))
            if kind == "line_delete":
                del lines[index]
            elif kind == "line_duplicate":
                lines.insert(other, lines[index])
            else:
                lines[index], lines[other] = lines[other], lines[index]
            data = bytearray(b"".join(lines))
    return bytes(data)


def assert_file_well_behaved(data: bytes) -> None:
    text = decode(data)
    if isinstance(text, Unreadable):
        assert 1 <= text.line <= data.count(b"\n") + 1 and text.column >= 1 and text.reason
        return
    assert_well_behaved(text)


@_settings(150)
@given(mutated_fixture())
def test_mutated_fixtures(data: bytes) -> None:
    assert_file_well_behaved(data)


@_settings(60)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_bytes(data: bytes) -> None:
    assert_file_well_behaved(data)


# -- through the whole pipeline (discovery, reading, workers' task wrapper) -----------------


@_settings(25)
@given(mutated_fixture())
def test_mutated_fixtures_through_check_paths(tmp_path_factory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "mutated.py").write_bytes(data)
    (folder / "clean.py").write_bytes(b"import jax\n\n@jax.jit\ndef f(x):\n    print(x)\n    return x\n")
    report = check_paths([str(folder)])
    assert report.internal_errors == []
    assert [(f.line, f.code) for f in report.findings if f.path.endswith("clean.py")] == [(5, "JP101")]
    total = data.count(b"\n") + data.count(b"\r") + 1  # an upper bound on the lines of the file
    for finding in report.findings:
        if finding.path.endswith("mutated.py"):
            assert 1 <= finding.line <= total + 1, finding
