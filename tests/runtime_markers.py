"""Findings declared by ``# runtime:`` comments in fixtures/runtime (see its README)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from jaxpure.findings import Finding, TraceInfo

RUNTIME_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runtime"
_MARKER = re.compile(
    r"#\s*runtime:\s*(?P<code>JP\d{3})\s+(?P<status>confirmed|not-reproduced|skipped)"
    r"(?P<options>(?:\s+[a-z_]+=\S+)*)\s*(?:\|\s*(?P<evidence>.*?))?\s*$"
)


@dataclass(frozen=True)
class Expectation:
    finding: Finding
    status: str
    evidence: str

    @property
    def id(self) -> str:
        path = Path(self.finding.path).relative_to(RUNTIME_FIXTURES).as_posix()
        return f"{path}:{self.finding.line}:{self.finding.code}"


def expectations(path: Path) -> list[Expectation]:
    text = path.read_text(encoding="utf-8")
    functions = _function_spans(ast.parse(text))
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _MARKER.search(line)
        if match:
            found.append(_expectation(path, number, line, match, functions))
    return found


def all_expectations() -> list[Expectation]:
    files = sorted(p for p in RUNTIME_FIXTURES.rglob("*.py") if p.name != "examples.py")
    return [expectation for path in files for expectation in expectations(path)]


def _expectation(path: Path, number: int, line: str, match: re.Match, functions) -> Expectation:
    options = dict(option.split("=", 1) for option in match.group("options").split())
    code_text = line[: match.start()].rstrip()
    span = options.get("span")
    column = code_text.index(span) + 1 if span else len(code_text) - len(code_text.lstrip()) + 1
    end_column = column + len(span) if span else len(code_text) + 1
    function = options.get("function") or _innermost(functions, number)
    untraced = options.get("kind") == "none"
    trace = TraceInfo(
        function=function,
        transform=None if untraced else options.get("transform", "jax.jit"),
        kind=None if untraced else options.get("kind", "staging"),
        root=None if untraced else options.get("root", function),
        static_params=tuple(filter(None, options.get("static", "").split(","))),
    )
    finding = Finding(
        str(path), number, column, number, end_column, match.group("code"), "declared by a fixture", trace
    )
    return Expectation(finding, match.group("status"), match.group("evidence") or "")


def _function_spans(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualname) of every function, nested ones as ``outer.<locals>.inner``."""
    spans = []

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = prefix + child.name
                spans.append((child.lineno, child.end_lineno, qualname))
                visit(child, qualname + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


def _innermost(spans, line: int) -> str | None:
    containing = [(start, qualname) for start, end, qualname in spans if start <= line <= end]
    return max(containing)[1] if containing else None
