"""jaxpure's own code: the layers hold, no import cycles, ruff and mypy are clean.

These run the same tools a contributor runs (configured in pyproject.toml),
so CI fails on a layer broken, a cycle added, a lint or a type error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "plugins")])}


def _tool(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    assert found is not None, f"{name} is not installed: pip install -e '.[test]'"
    return found


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)


def test_layers_only_import_downward() -> None:
    completed = _run(_tool("lint-imports"), "--no-cache")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return groups


def test_no_import_cycles_type_only_imports_included() -> None:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "plugins")]
    try:
        graph = grimp.build_graph("jaxpure", exclude_type_checking_imports=False, cache_dir=None)
    finally:
        del sys.path[:2]
    assert _cycles(graph, set(graph.modules)) == []


def test_ruff_lint() -> None:
    completed = _run(_tool("ruff"), "check", "--no-cache", ".")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def test_ruff_format() -> None:
    completed = _run(_tool("ruff"), "format", "--check", "--no-cache", ".")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def test_mypy_on_src() -> None:
    completed = _run(sys.executable, "-m", "mypy", "--no-incremental")
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
