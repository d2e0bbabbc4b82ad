"""libcst trees for just the parts of a module that need them.

A module's top-level statements start at column 0, so the lines of one
statement parse on their own as a module: its line numbers are shifted by a
constant and its columns are unchanged. Only statements that hold a traced
function (or code the "everywhere" rules look at) are ever parsed with libcst;
the rest of the module is known from the cheap ``ast`` index alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider


@dataclass(slots=True)
class Segment:
    module: cst.Module
    line_offset: int
    positions: dict[cst.CSTNode, CodeRange]
    functions: dict[str, cst.FunctionDef]  # qualname -> node

    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """1-based (line, column, end_line, end_column) of ``node`` in the whole file."""
        where = self.positions[node]
        offset = self.line_offset
        return (where.start.line + offset, where.start.column + 1, where.end.line + offset, where.end.column + 1)


class SegmentCache:
    """Parses each top-level statement at most once per module analysis."""

    def __init__(self, lines: list[str], spans: list[tuple[int, int]]) -> None:
        self._lines = lines
        self._spans = spans
        self._parsed: dict[int, Segment] = {}

    def get(self, top: int) -> Segment:
        segment = self._parsed.get(top)
        if segment is None:
            segment = self._parsed[top] = self._parse(top)
        return segment

    def _parse(self, top: int) -> Segment:
        first, last = self._spans[top]
        text = "".join(self._lines[first - 1 : last])
        if not text.endswith("\n"):
            text += "\n"
        module = cst.parse_module(text)
        # The default deep copy costs more than the parse itself (TorchFix).
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        positions = dict(wrapper.resolve(PositionProvider))
        return Segment(module, first - 1, positions, _function_table(module))


def _function_table(module: cst.Module) -> dict[str, cst.FunctionDef]:
    table: dict[str, cst.FunctionDef] = {}

    def walk(body, prefix: str, in_class: bool) -> None:
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                name = statement.name.value
                qualname = f"{prefix}{name}"
                table[qualname] = statement
                walk(_inner(statement), f"{qualname}.<locals>.", False)
            elif isinstance(statement, cst.ClassDef):
                walk(_inner(statement), f"{prefix}{statement.name.value}.", True)
            elif isinstance(statement, cst.BaseCompoundStatement):
                walk(_compound_bodies(statement), prefix, in_class)

    walk(module.body, "", False)
    return table


def _inner(node: cst.FunctionDef | cst.ClassDef) -> list[cst.CSTNode]:
    body = node.body
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []


def _compound_bodies(node: cst.BaseCompoundStatement) -> list[cst.CSTNode]:
    """Statements nested in if/for/while/try/with blocks (where functions can be defined too)."""
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        for child in current.children:
            if isinstance(child, cst.IndentedBlock):
                found.extend(child.body)
            elif isinstance(child, cst.BaseSuite | cst.If | cst.Else | cst.ExceptHandler | cst.Finally | cst.ExceptStarHandler):
                stack.append(child)
    return found
