"""Hostile inputs: what a linter in CI meets in a real repository (see docs/reliability.md).

Each case runs through the real command line (``python -m jaxpure check ...
--no-cache`` in a subprocess, in ``tmp_path``) next to a ``witness.py`` with a
real finding, so every case also checks that the rest of the run goes on and
still reports what it should. No case may print a Python traceback.
"""

from __future__ import annotations

import errno
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jaxpure.api import check_paths, check_source

ROOT = Path(__file__).resolve().parents[1]

JIT_PRINT = "import jax\n\n\n@jax.jit\ndef f(x):\n    print(x)\n    return x\n"  # JP101 at 6:5
WITNESS = ("witness.py", 6, 5, "JP101")


def run_check(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    environment.pop("NO_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        errors="backslashreplace",
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def findings_of(stdout: str) -> set[tuple[str, int, int, str]]:
    """``path:line:col: CODE message`` lines as (path, line, column, code)."""
    found = set()
    for line in stdout.splitlines():
        location, _, rest = line.partition(": ")
        path, line_number, column = location.rsplit(":", 2)
        found.add((path, int(line_number), int(column), rest.split()[0]))
    return found


def messages_of(stdout: str, path: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith(f"{path}:")]


def with_witness(tmp_path: Path) -> Path:
    (tmp_path / WITNESS[0]).write_text(JIT_PRINT)
    return tmp_path


# -- one hostile file next to the witness --------------------------------------------------

LATIN_1 = "# -*- coding: latin-1 -*-\nimport jax\n\n\n@jax.jit\ndef f(x):\n    print(x)  # café\n    return x\n"
NEW_SYNTAX = """\
import jax


@jax.jit
def matcher(x, mode):
    match mode:
        case {"kind": "a", **rest}:
            print(x)
        case [first, *others]:
            y = [z for w in others if (z := w * 2)]
        case Point(x=0) | None:
            pass
        case _:
            pass
    return x


@jax.jit
def walrus(x):
    ys = [(t := v) for v in range(3)]
    print(ys, t)
    return x


@jax.jit
def groups(x):
    try:
        y = x + 1
    except* ValueError as eg:
        print(eg)
    except* (TypeError, KeyError):
        pass
    return x
"""
PEP_695 = """\
import jax

type Alias[T] = list[T]


class Box[T]:
    @jax.jit
    def f(self, x):
        print(x)
        return x


@jax.jit
def g[T](x: T) -> T:
    print(x)
    return x
"""


def _deep(expression: str) -> bytes:
    return f"import jax\n\n\n@jax.jit\ndef f(x):\n    y = {expression}\n    print(y)\n    return y\n".encode()


# (name, file bytes, expected findings in that file as (line, column, code), a message fragment or None)
CASES = [
    ("syntax_error", b"import jax\n\n\n@jax.jit\ndef f(x):\n    return x +\n", {(6, 15, "JP000")}, "syntax error"),
    ("unclosed_bracket", b"import jax\nx = [1,\n  2,\n", {(2, 5, "JP000")}, "never closed"),
    ("bad_indentation", b"import jax\n\ndef f(x):\nreturn x\n", {(4, 1, "JP000")}, "indented block"),
    ("inconsistent_tabs", b"import jax\nif 1:\n\tif 1:\n        x = 1\n", {(4, 1, "JP000")}, "tabs and spaces"),
    ("not_utf8", b"import jax\nx = 1\ny = '\xff\xfe'\n", {(3, 1, "JP000")}, "cannot decode"),
    ("bad_coding_cookie", b"# -*- coding: klingon -*-\nimport jax\n", {(1, 1, "JP000")}, "klingon"),
    ("latin1_with_cookie", LATIN_1.encode("latin-1"), {(7, 5, "JP101")}, None),
    ("binary_nul", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), {(1, 1, "JP000")}, "binary"),
    ("random_blob", random.Random(0).randbytes(4096) + b"\x00", {(1, 1, "JP000")}, "binary"),
    ("utf8_bom", b"\xef\xbb\xbf" + JIT_PRINT.encode(), {(6, 5, "JP101")}, None),
    ("crlf", JIT_PRINT.replace("\n", "\r\n").encode(), {(6, 5, "JP101")}, None),
    (
        "mixed_line_endings",
        b"import jax\r\n\n\r@jax.jit\rdef f(x):\r\n    print(x)\n    return x\r",
        {(6, 5, "JP101")},
        None,
    ),
    ("no_final_newline", JIT_PRINT.rstrip("\n").encode(), {(6, 5, "JP101")}, None),
    (
        "form_feed_and_unicode_breaks",  # str.splitlines() breaks at \f, \x1c, \x85, \u2028: Python does not
        "import jax\n\x0c\n# a \u2028 b \x1c c\nS = 'x\x85y'\n\n@jax.jit\ndef f(x):\n    print(x)\n".encode(),
        {(8, 5, "JP101")},
        None,
    ),
    ("tabs", JIT_PRINT.replace("    ", "\t").encode(), {(6, 2, "JP101")}, None),
    ("empty", b"", set(), None),
    ("only_comments", b"# one\n# two\n#!/usr/bin/env python\n# jax jax jax\n", set(), None),
    ("only_blank_lines", b"\n\n   \n\t\n\r\n", set(), None),
    ("python2_print", b"import jax\nprint 'hello'\n", {(2, 1, "JP000")}, "Missing parentheses"),
    (
        "python2_except",
        b"import jax\ntry:\n    pass\nexcept Exception, e:\n    pass\n",
        {(4, 8, "JP000")},
        "syntax error",
    ),
    ("python2_octal_and_backticks", b"import jax\nx = 0777\ny = `x`\n", {(2, 5, "JP000")}, None),
    ("invalid_escape_is_not_an_error", b"import jax\nPATTERN = '\\d+'\n", set(), None),
    ("newest_syntax_in_jit", NEW_SYNTAX.encode(), {(8, 13, "JP101"), (21, 5, "JP101"), (30, 9, "JP101")}, None),
    (
        "function_defined_in_a_match_case",  # was a KeyError: libcst's function table missed `case` blocks
        (
            b"import jax\n\n\ndef outer(x):\n    match x:\n        case {'a': y}:\n            @jax.jit\n"
            b"            def inner(v):\n                print(v)\n        case _:\n            pass\n"
        ),
        {(9, 17, "JP101")},
        None,
    ),
    ("skip_file", b"# jaxpure: skip-file\n" + JIT_PRINT.encode(), set(), None),
    # 1,000 deep: the parser's limit is 200 brackets (a syntax error for Python too); other
    # nesting parses and is analyzed in full.
    ("deep_parentheses", _deep("(" * 1000 + "x" + ")" * 1000), {(6, 209, "JP000")}, "too many nested parentheses"),
    ("deep_calls", _deep("g(" * 1000 + "x" + ")" * 1000), {(6, 410, "JP000")}, "too many nested parentheses"),
    ("deep_sum", _deep(" + ".join(["x"] * 1000)), {(7, 5, "JP101")}, None),
    ("deep_string_concatenation", _deep(" ".join(['"a"'] * 1000)), {(7, 5, "JP101")}, None),
    ("deep_unary", _deep("-" * 1000 + "x"), {(7, 5, "JP101")}, None),
    ("deep_attributes", _deep("x" + ".a" * 1000), {(7, 5, "JP101")}, None),
    ("deep_lambdas", _deep("lambda: " * 1000 + "x"), {(7, 5, "JP101")}, None),
    ("deep_boolean", _deep(" and ".join(["x"] * 1000)), {(6, 9, "JP405"), (7, 5, "JP101")}, None),
    ("deep_subscripts", _deep("x" + "[0]" * 1000), {(7, 5, "JP101")}, None),
    # Over 1,000 levels: libcst's parser is quadratic in the depth (10,000 terms took 33-95 s,
    # 2,980 subscripts 10-22 s), so the file is a JP000 at the expression, found on the ast.
    ("deep_sum_over_the_limit", _deep(" + ".join(["x"] * 10_000)), {(6, 9, "JP000")}, "too deeply nested"),
    ("deep_subscripts_over_the_limit", _deep("x" + "[0]" * 2980), {(6, 9, "JP000")}, "too deeply nested"),
    ("deep_unary_over_the_limit", _deep("-" * 1001 + "x"), {(6, 9, "JP000")}, "over 1,000 levels deep"),
    (
        "deep_multiline_sum_over_the_limit",  # one term a line, in parentheses, assigned to a non-ASCII name
        _deep("(x +\n" + "".join("        x +\n" for _ in range(1500)) + "        x)").replace(b"y =", "é =".encode()),
        {(6, 10, "JP000")},
        None,
    ),
    (
        "deep_blocks",
        (
            "import jax\n\n\n@jax.jit\ndef f(x):\n"
            + "".join("    " * (i + 1) + f"if {i}:\n" for i in range(90))
            + "    " * 91
            + "print(x)\n"
        ).encode(),
        {(96, 365, "JP101")},
        None,
    ),
]
if sys.version_info < (3, 12):
    CASES.append(("pep695_generics", PEP_695.encode(), {(3, 6, "JP000")}, "PEP 695 syntax needs Python 3.12+"))
else:
    CASES.append(("pep695_generics", PEP_695.encode(), {(9, 9, "JP101"), (15, 5, "JP101")}, None))


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """Every hostile file of ``CASES`` in one folder with the witness, checked in one run."""
    folder = with_witness(tmp_path_factory.mktemp("hostile"))
    for name, data, _, _ in CASES:
        (folder / f"{name}.py").write_bytes(data)
    return run_check(folder, ".")


@pytest.mark.parametrize(("name", "data", "expected", "fragment"), CASES, ids=[case[0] for case in CASES])
def test_hostile_file(
    hostile_run: subprocess.CompletedProcess, name: str, data: bytes, expected: set, fragment: str | None
) -> None:
    found = findings_of(hostile_run.stdout)
    assert {(line, column, code) for path, line, column, code in found if path == f"{name}.py"} == expected
    assert WITNESS in found, "a hostile file stopped the rest of the run"
    if fragment is not None:
        assert any(fragment in message for message in messages_of(hostile_run.stdout, f"{name}.py")), hostile_run.stdout
    assert hostile_run.returncode == 1  # JP000 is a finding too; no internal error


@pytest.mark.parametrize("name", ["syntax_error", "not_utf8", "binary_nul", "deep_sum", "python2_print"])
def test_hostile_file_alone(tmp_path: Path, name: str) -> None:
    """A few cases on their own too: nothing depends on the company a file keeps."""
    data, expected = next((case[1], case[2]) for case in CASES if case[0] == name)
    (tmp_path / f"{name}.py").write_bytes(data)
    result = run_check(tmp_path, f"{name}.py")
    assert {(line, column, code) for _, line, column, code in findings_of(result.stdout)} == expected
    assert result.returncode == 1


def test_deep_nesting_through_the_api_raises_nothing() -> None:
    text = _deep(" + ".join(["x"] * 1001)).decode()  # 1,000 additions: the most analyzed
    assert [(f.line, f.code) for f in check_source(text)] == [(7, "JP101")]
    text = _deep(" + ".join(["x"] * 1002)).decode()
    assert [(f.line, f.column, f.code) for f in check_source(text)] == [(6, 9, "JP000")]
    # Found wherever it stands: a decorator (above the `def` a def's position starts at), a
    # default, a `with`, a guard, an f-string.
    deep = "x" + "[0]" * 1001
    for text, where in [
        (f"import jax\n\n\n@jax.jit\n@wrap({deep})\ndef f(x):\n    return x\n", (5, 2)),
        (f"import jax\n\n\n@jax.jit\ndef f(x, y={deep}):\n    return x\n", (5, 12)),
        (f"import jax\nwith open({deep}) as f:\n    pass\n", (2, 6)),
        (f"import jax\nmatch jax:\n    case 1 if {deep}:\n        pass\n", (3, 15)),
        (f"import jax\nprint(f'{{{deep}}}')\n", (2, 1)),
    ]:
        assert [(f.line, f.column, f.code) for f in check_source(text)] == [(*where, "JP000")], text[:40]
    # Too deep even for the retry on a large stack: a clear JP000, never a RecursionError.
    text = _deep("-" * 100_000 + "x").decode()
    assert [f.code for f in check_source(text)] == ["JP000"]
    # A syntax error before such nesting: the message is built without handing the file to
    # libcst, whose native parser overflows the C stack (a segfault) on it.
    text = "import jax\ntype X = int\ny = " + "-" * 100_000 + "x\n"
    assert [(f.line, f.code) for f in check_source(text)] == [(2, "JP000")]


def test_nested_conditional_expressions_and_long_elif_chains_finish(tmp_path: Path) -> None:
    """1,000 nested ``a if c else ...`` and an ``elif`` chain of 2,000 traced branches: one JP401
    each. Both were cubic in the JP401 fix's availability check (36 s and minutes); the timeout
    is generous, what matters is that they finish."""
    with_witness(tmp_path)
    (tmp_path / "conditional.py").write_bytes(_deep("x if x else " * 1000 + "x"))
    chain = "".join(f"    elif x > {i}:\n        y = {i}\n" for i in range(1, 2000))
    (tmp_path / "chain.py").write_text(
        "import jax\n\n\n@jax.jit\ndef f(x):\n    if x > 0:\n        y = 0\n"
        f"{chain}    else:\n        y = 1\n    return y\n"
    )
    found = findings_of(run_check(tmp_path, ".", timeout=60).stdout)
    assert sum(1 for path, _, _, code in found if path == "conditional.py" and code == "JP401") == 1000
    assert ("conditional.py", 7, 5, "JP101") in found
    assert sum(1 for path, _, _, code in found if path == "chain.py" and code == "JP401") == 2000
    assert WITNESS in found


def test_the_jp401_fix_check_looks_at_each_node_of_nested_conditionals_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear, not quadratic: the check asked once per finding walks each node once in all."""
    from jaxpure.fixes import jp401_where

    calls = 0
    children = jp401_where.code_children

    def counting(node):
        nonlocal calls
        calls += 1
        return children(node)

    monkeypatch.setattr(jp401_where, "code_children", counting)
    findings = check_source(_deep("x if x else " * 500 + "x").decode())
    assert sum(f.code == "JP401" for f in findings) == 500
    assert 0 < calls < 10 * 500  # about 3 nodes a level, each visited once (and read once more by its parent)


def test_a_5_mb_generated_module(tmp_path: Path) -> None:
    parts = ["import jax\nimport jax.numpy as jnp\n\n"]
    size, i = 0, 0
    while size < 5 * 1024 * 1024:
        chunk = f"WEIGHT_{i} = ({i}, {i * 7 % 13}, 'name_{i}', {i}.5)\n"
        if i % 500 == 0:
            chunk += f"\n\ndef helper_{i}(x):\n    return x * {i}\n\n\n"
        parts.append(chunk)
        size += len(chunk)
        i += 1
    text = "".join(parts) + JIT_PRINT.replace("import jax\n", "")
    (tmp_path / "generated_pb2.py").write_text(text)
    with_witness(tmp_path)
    result = run_check(tmp_path, ".")
    last_print = text.count("\n") - 1
    assert findings_of(result.stdout) == {WITNESS, ("generated_pb2.py", last_print, 5, "JP101")}


def test_a_module_of_10_000_functions(tmp_path: Path) -> None:
    parts = ["import jax\n"]
    for i in range(5_000):  # 10,000 functions: half jitted, each calling one of the other half
        parts.append(f"\n\n@jax.jit\ndef f{i}(x):\n    return g{i}(x) + {i}\n\n\ndef g{i}(x):\n    return x\n")
    parts.append("\n\n@jax.jit\ndef last(x):\n    print(x)\n    return x\n")
    text = "".join(parts)
    (tmp_path / "many.py").write_text(text)
    with_witness(tmp_path)
    result = run_check(tmp_path, ".")
    assert findings_of(result.stdout) == {WITNESS, ("many.py", text.count("\n") - 1, 5, "JP101")}


# -- the walked tree -------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loops_and_dangling_symlinks(tmp_path: Path) -> None:
    with_witness(tmp_path)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(JIT_PRINT)
    try:
        (package / "loop").symlink_to("..", target_is_directory=True)  # a directory loop
        (package / "self_loop").symlink_to(package, target_is_directory=True)
        (package / "dangling.py").symlink_to(tmp_path / "nowhere.py")
        (package / "cycle_a.py").symlink_to(package / "cycle_b.py")  # two links pointing at each other
        (package / "cycle_b.py").symlink_to(package / "cycle_a.py")
    except OSError as error:
        pytest.skip(f"cannot create symlinks here: {error}")
    result = run_check(tmp_path, ".", timeout=60)
    assert findings_of(result.stdout) == {WITNESS, ("pkg/a.py", 6, 5, "JP101")}
    assert result.returncode == 1

    # Named on the command line, a broken link is reported (JP000), not a crash.
    result = run_check(tmp_path, "pkg/dangling.py", "pkg/cycle_a.py", "witness.py", timeout=60)
    found = findings_of(result.stdout)
    assert ("pkg/dangling.py", 1, 1, "JP000") in found and ("pkg/cycle_a.py", 1, 1, "JP000") in found
    assert WITNESS in found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_called_py_does_not_hang(tmp_path: Path) -> None:
    with_witness(tmp_path)
    os.mkfifo(tmp_path / "pipe.py")
    result = run_check(tmp_path, ".", timeout=60)  # walked: passed over
    assert findings_of(result.stdout) == {WITNESS}
    for cache in ([], ["--no-cache"]):  # named: JP000, with and without the cache reading its bytes
        command = [sys.executable, "-m", "jaxpure", "check", "pipe.py", "witness.py", *cache]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        assert ("pipe.py", 1, 1, "JP000") in findings_of(done.stdout) and WITNESS in findings_of(done.stdout)
        assert "not a regular file" in done.stdout


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path: Path) -> None:
    with_witness(tmp_path)
    secret = tmp_path / "secret.py"
    secret.write_text(JIT_PRINT)
    secret.chmod(0)
    try:
        result = run_check(tmp_path, ".")
    finally:
        secret.chmod(0o644)
    assert findings_of(result.stdout) == {WITNESS, ("secret.py", 1, 1, "JP000")}
    assert "Permission denied" in result.stdout


def test_unreadable_file_and_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root ``chmod 000`` does not stop reading: the refusal is simulated where the OS would give it."""
    with_witness(tmp_path)
    (tmp_path / "secret.py").write_text(JIT_PRINT)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.py").write_text(JIT_PRINT)
    real_read_bytes, real_scandir = Path.read_bytes, os.scandir

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read_bytes(self)

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(os, "scandir", scandir)
    report = check_paths([str(tmp_path)])
    found = {Path(f.path).relative_to(tmp_path).as_posix(): f for f in report.findings}
    assert sorted(found) == ["locked", "secret.py", "witness.py"]
    assert found["secret.py"].code == "JP000" and "cannot read file: Permission denied" in found["secret.py"].message
    assert found["locked"].code == "JP000" and "cannot read directory" in found["locked"].message
    assert (found["witness.py"].line, found["witness.py"].code) == (6, "JP101")
    assert report.internal_errors == []


def test_paths_with_spaces_and_non_ascii_names(tmp_path: Path) -> None:
    with_witness(tmp_path)
    for folder, name in [("dir with spaces", "my file.py"), ("naïve_日本", "módulo.py"), ("-dash", "-x.py")]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(JIT_PRINT)
    result = run_check(tmp_path, ".", env={"PYTHONIOENCODING": "ascii"})  # a console that cannot show them
    assert len(findings_of(result.stdout)) == 4
    result = run_check(
        tmp_path, "--format", "json", "--", "dir with spaces/my file.py", "naïve_日本/módulo.py", "-dash/-x.py"
    )
    data = json.loads(result.stdout)
    expected = ["-dash/-x.py", "dir with spaces/my file.py", "naïve_日本/módulo.py"]
    assert sorted(f["path"] for f in data["findings"]) == expected


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="file names must be valid Unicode there")
def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    with_witness(tmp_path)
    try:
        with open(os.path.join(os.fsencode(tmp_path), b"bad\xffname.py"), "w") as handle:
            handle.write(JIT_PRINT)
    except (OSError, UnicodeError) as error:
        pytest.skip(f"the file system refuses the name: {error}")
    for env in ({}, {"PYTHONIOENCODING": "utf-8"}):  # strict UTF-8 output must not crash either
        result = run_check(tmp_path, ".", env=env)
        assert len(findings_of(result.stdout)) == 2 and WITNESS in findings_of(result.stdout)


def test_gitignore_with_lines_git_would_pass_over(tmp_path: Path) -> None:
    with_witness(tmp_path)
    (tmp_path / ".gitignore").write_text("!\n[z-a]\n\\\nignored_*.py\n")
    (tmp_path / "ignored_one.py").write_text(JIT_PRINT)
    result = run_check(tmp_path, ".")
    assert findings_of(result.stdout) == {WITNESS}


# -- the command line and its configuration ------------------------------------------------------


@pytest.mark.parametrize("paths", [["missing.py"], ["witness.py", "missing dir/"], ["nowhere/ü.py"]])
def test_a_path_that_does_not_exist(tmp_path: Path, paths: list[str]) -> None:
    with_witness(tmp_path)
    result = run_check(tmp_path, *paths)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such file or directory" in lines[0]
    missing = next(p for p in paths if p != "witness.py")
    assert missing in lines[0]


CONFIGS = [
    ("invalid_toml", "[tool.jaxpure\nselect = 1\n", "invalid TOML"),
    ("not_utf8", b"[tool.jaxpure]\nselect = ['\xff']\n", "not valid UTF-8"),
    ("select_not_a_list", '[tool.jaxpure]\nselect = "JP1"\n', "'select' must be a list of strings"),
    ("select_not_strings", "[tool.jaxpure]\nselect = [1, 2]\n", "'select'"),
    ("bad_code", '[tool.jaxpure]\nignore = ["E501"]\n', "'ignore': 'E501'"),
    ("unknown_key", '[tool.jaxpure]\nselekt = ["JP1"]\n', "selekt"),
    ("unknown_runtime_key", "[tool.jaxpure.runtime]\ndevise = 'cpu'\n", "devise"),
    ("exclude_not_a_list", "[tool.jaxpure]\nexclude = 3\n", "'exclude'"),
    ("exclude_invalid_pattern", '[tool.jaxpure]\nexclude = ["[z-a]"]\n', "'exclude' pattern '[z-a]'"),
    ("exclude_bare_negation", '[tool.jaxpure]\nexclude = ["!"]\n', "'exclude' pattern '!'"),
    ("per_file_ignores_list", '[tool.jaxpure]\nper-file-ignores = ["x"]\n', "'per-file-ignores'"),
    ("per_file_ignores_codes", '[tool.jaxpure.per-file-ignores]\n"x.py" = "JP1"\n', "'x.py'"),
    ("extend_transforms_kind", '[tool.jaxpure.extend-transforms]\n"a.b" = 1\n', "'a.b'"),
    ("extend_transforms_name", '[tool.jaxpure.extend-transforms]\n"not a name" = "staging"\n', "'not a name'"),
    ("runtime_not_a_table", "[tool.jaxpure]\nruntime = 3\n", "'runtime' must be a table"),
    ("jaxpure_not_a_table", "[tool]\njaxpure = 3\n", "must be a table"),
    ("device", '[tool.jaxpure.runtime]\ndevice = "quantum"\n', "'device'"),
    ("timeout_string", '[tool.jaxpure.runtime]\ntimeout = "60"\n', "'timeout'"),
    ("timeout_bool", "[tool.jaxpure.runtime]\ntimeout = true\n", "'timeout'"),
    ("timeout_infinite", "[tool.jaxpure.runtime]\ntimeout = inf\n", "'timeout'"),
    ("timeout_nan", "[tool.jaxpure.runtime]\ntimeout = nan\n", "'timeout'"),
    ("examples_nul", '[tool.jaxpure.runtime]\nexamples = "a\\u0000b"\n', "'examples'"),
]


@pytest.mark.parametrize(("name", "content", "fragment"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_a_broken_configuration(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    name: str,
    content: str | bytes,
    fragment: str,
) -> None:
    """In-process through ``jaxpure.cli.main`` (an exception escaping it fails the test)."""
    from jaxpure.cli import main

    with_witness(tmp_path)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.chdir(tmp_path)
    status = main(["check", ".", "--no-cache"])
    out, err = capsys.readouterr()
    assert status == 2, out
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("jaxpure: error: ") and "pyproject.toml" in lines[0]
    assert fragment in lines[0]


def test_a_pyproject_whose_tool_is_not_a_table(tmp_path: Path) -> None:
    """Not ours to judge when it has no [tool.jaxpure]: the run goes on with the defaults."""
    with_witness(tmp_path)
    (tmp_path / "pyproject.toml").write_text('tool = "jaxpure"\n')
    result = run_check(tmp_path, ".")
    assert findings_of(result.stdout) == {WITNESS}
    (tmp_path / "other.toml").write_text("tool = 3\n")
    result = run_check(tmp_path, ".", "--config", "other.toml")
    assert result.returncode == 2 and "'tool' must be a table" in result.stderr


def test_a_configuration_file_that_is_missing_or_a_folder(tmp_path: Path) -> None:
    with_witness(tmp_path)
    for config in ("missing.toml", "."):
        result = run_check(tmp_path, ".", "--config", config)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1


def test_warnings_as_errors_neither_crash_nor_turn_into_findings(tmp_path: Path) -> None:
    """CI often runs with ``PYTHONWARNINGS=error``: a deprecation inside a dependency
    (pathspec's "gitwildmatch") or a ``SyntaxWarning`` in the checked code must not matter."""
    with_witness(tmp_path)
    (tmp_path / "escapes.py").write_text("import jax\nPATTERN = '\\d+'\nx = 1 is 1\n")
    (tmp_path / ".gitignore").write_text("build/\n*.tmp.py\n")
    (tmp_path / "pyproject.toml").write_text('[tool.jaxpure]\nexclude = ["generated/"]\n')
    for i in range(10):  # enough files for worker processes
        (tmp_path / f"clean_{i}.py").write_text("import jax\n\n\ndef f(x):\n    return x\n")
    result = run_check(tmp_path, ".", "--jobs", "2", env={"PYTHONWARNINGS": "error"})
    assert findings_of(result.stdout) == {WITNESS}
    assert result.returncode == 1


def test_findings_do_not_depend_on_hash_randomization(tmp_path: Path) -> None:
    fixtures = [
        "fixtures/project",
        "fixtures/jp3_random.py",
        "fixtures/contexts_transitive.py",
        "fixtures/jp2_mutation.py",
    ]
    outputs = {
        run_check(ROOT, *fixtures, "--format", "json", env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1 and json.loads(outputs.pop())["findings"]


# -- internal errors -----------------------------------------------------------------------------

_INJECT = textwrap.dedent("""
    import os, sys
    import jaxpure.analysis.analyzer
    from jaxpure.cli import main

    original = jaxpure.analysis.analyzer.ModuleAnalyzer.run

    def run(self):
        if self.path.endswith("victim.py"):
            {action}
        return original(self)

    jaxpure.analysis.analyzer.ModuleAnalyzer.run = run
    sys.exit(main(["check", ".", "--no-cache", "--jobs", "{jobs}"]))
""")


def _inject(tmp_path: Path, action: str, jobs: int, others: int = 1) -> subprocess.CompletedProcess:
    with_witness(tmp_path)
    for i in range(others - 1):
        (tmp_path / f"other_{i}.py").write_text(JIT_PRINT)
    (tmp_path / "victim.py").write_text(JIT_PRINT)
    code = _INJECT.replace("{action}", action).replace("{jobs}", str(jobs))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )


def test_an_internal_error_is_reported_for_its_file_and_the_run_goes_on(tmp_path: Path) -> None:
    result = _inject(tmp_path, 'raise ValueError("injected failure")', jobs=1)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert findings_of(result.stdout) == {WITNESS}  # the other file is still checked and reported
    assert "jaxpure: internal error in victim.py: ValueError: injected failure" in result.stderr
    assert "please report" in result.stderr


def test_an_internal_error_whose_message_itself_fails(tmp_path: Path) -> None:
    action = textwrap.dedent("""
        class Nasty(Exception):
            def __str__(self):
                raise RecursionError("str() of this error recurses")
        raise Nasty()
    """).replace("\n", "\n            ")
    result = _inject(tmp_path, action, jobs=1)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert findings_of(result.stdout) == {WITNESS}
    assert "internal error in victim.py: Nasty: <message unavailable>" in result.stderr


def test_a_worker_process_that_dies_is_reported_for_its_file(tmp_path: Path) -> None:
    result = _inject(tmp_path, "os._exit(3)", jobs=2, others=10)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    found = findings_of(result.stdout)
    assert WITNESS in found and len(found) == 10  # every file but the victim
    assert "internal error in victim.py" in result.stderr and "died" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="closes file descriptors the POSIX way")
def test_closed_stdout_and_stderr(tmp_path: Path) -> None:
    """``jaxpure check >&- 2>&-``: only the exit status is wanted, and it is still right."""
    with_witness(tmp_path)

    def close_output() -> None:
        os.close(1)
        os.close(2)

    status = subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "."],
        cwd=tmp_path,
        preexec_fn=close_output,
        timeout=120,
        check=False,
    ).returncode
    assert status == 1


# ~240 kB of report
MANY_FINDINGS = "import jax\n\n\n@jax.jit\ndef f(x):\n" + "    print(x)\n" * 3000 + "    return x\n"


def test_output_cut_short_by_a_closed_pipe(tmp_path: Path) -> None:
    """``jaxpure check | head -1``: no traceback when the reader goes away, and the findings' status."""
    (tmp_path / "many.py").write_text(MANY_FINDINGS)  # more than a pipe holds
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    error = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in error and "BrokenPipeError" not in error


@pytest.mark.parametrize(
    ("files", "args", "status"),
    [
        ({"many.py": MANY_FINDINGS}, (), 1),
        ({"many.py": MANY_FINDINGS}, ("--format", "json"), 1),
        ({"many.py": MANY_FINDINGS}, ("--show-source",), 1),
        ({"clean.py": "import jax\n"}, (), 0),
        ({"fixable.py": "import jax\n\n\n@jax.jit\ndef f(x):\n    print(x)\n    return x\n"}, ("--fix", "--diff"), 1),
    ],
)
@pytest.mark.parametrize("stderr_too", [False, True], ids=["stdout", "stdout_and_stderr"])
def test_a_reader_gone_before_the_report_keeps_the_exit_status(
    tmp_path: Path, files: dict[str, str], args: tuple[str, ...], status: int, stderr_too: bool
) -> None:
    """A pipe whose reader has already gone (a sure broken pipe, unlike ``| head``, which races the
    writer): the output stops, the exit status is still the findings' (``set -o pipefail`` sees it)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "jaxpure", "check", "--no-cache", *args, "."],
            cwd=tmp_path,
            stdout=writer,
            stderr=writer if stderr_too else subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)
    assert result.returncode == status
    if not stderr_too:
        error = result.stderr.decode()
        assert "Traceback" not in error and "Exception ignored" not in error, error
        summary = "fixes would apply" if "--diff" in args else "Found" if status else "No findings"
        assert summary in error  # the summary still goes to stderr


def test_a_file_too_large_to_be_source(tmp_path: Path) -> None:
    """Over 50 MiB a ``.py`` file is data: reported, not read (the file here is sparse: no 50 MiB written)."""
    with_witness(tmp_path)
    with open(tmp_path / "huge.py", "wb") as handle:
        handle.truncate(51 * 1024 * 1024)
    result = run_check(tmp_path, ".")
    assert findings_of(result.stdout) == {WITNESS, ("huge.py", 1, 1, "JP000")}
    assert "too large" in result.stdout
