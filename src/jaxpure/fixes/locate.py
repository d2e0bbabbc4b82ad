"""Finding the libcst node a finding points at, in the whole-module tree.

Findings are plain values (line and column, no node), so the fixer parses the
module once, with positions, and matches node type and start position. This
runs only on files that have something to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from jaxpure.findings import Finding

# The node types any fixer can rewrite; only these are indexed.
_INDEXED = (cst.Call, cst.Assign, cst.AugAssign, cst.If, cst.IfExp)


@dataclass(frozen=True, slots=True)
class Located:
    node: cst.CSTNode
    span: CodeRange
    function: cst.FunctionDef | None
    in_method: bool
    is_elif: bool


class NodeIndex:
    """The indexed nodes of one module, by start position (1-based line, 0-based column)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # a deep copy costs more than the parse
        self.positions = wrapper.resolve(PositionProvider)
        collector = _Collector(self.positions)
        module.visit(collector)
        self._by_start = collector.by_start

    def find(self, finding: Finding, node_types: tuple[type[cst.CSTNode], ...]) -> Located | None:
        """The node of one of ``node_types`` that starts where ``finding`` does (its end breaks ties)."""
        candidates = [
            located
            for located in self._by_start.get((finding.line, finding.column - 1), [])
            if isinstance(located.node, node_types)
        ]
        exact_end = [
            c for c in candidates if (c.span.end.line, c.span.end.column + 1) == (finding.end_line, finding.end_column)
        ]
        chosen = exact_end or candidates
        # Nested nodes can share a start (``f(x)(y)``): the outermost is listed first.
        return chosen[0] if chosen else None

    def span(self, node: cst.CSTNode) -> CodeRange:
        return self.positions[node]


class _Collector(cst.CSTVisitor):
    def __init__(self, positions) -> None:
        self.positions = positions
        self.by_start: dict[tuple[int, int], list[Located]] = {}
        self._scopes: list[cst.CSTNode] = []  # enclosing FunctionDef / ClassDef nodes
        self._elifs: set[int] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scopes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.If) and isinstance(node.orelse, cst.If):
            self._elifs.add(id(node.orelse))
        if isinstance(node, _INDEXED):
            self._record(node)
        return super().on_visit(node)

    def _record(self, node: cst.CSTNode) -> None:
        span = self.positions[node]
        function = next((s for s in reversed(self._scopes) if isinstance(s, cst.FunctionDef)), None)
        in_method = (
            len(self._scopes) >= 2 and self._scopes[-1] is function and isinstance(self._scopes[-2], cst.ClassDef)
        )
        located = Located(node, span, function, in_method, id(node) in self._elifs)
        self.by_start.setdefault((span.start.line, span.start.column), []).append(located)
