"""libcst trees for just the parts of a module that need them.

A module's top-level statements start at column 0, so the lines of one
statement parse on their own as a module: its line numbers are shifted by a
constant and its columns are unchanged. Only statements that hold a traced
function (or code the "everywhere" rules look at) are ever parsed with libcst;
the rest of the module is known from the cheap ``ast`` index alone. A method
or a nested function is parsed without the rest of its class or enclosing
function (``SegmentCache.function``), and node positions are computed only
for segments that report something.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import libcst as cst
from libcst._nodes.base import CSTNode
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from jaxpure.analysis.cstnodes import code_children as cst_children

if TYPE_CHECKING:
    from jaxpure.analysis.index import FunctionInfo


@dataclass(slots=True)
class Segment:
    module: cst.Module
    line_offset: int
    functions: dict[str, cst.FunctionDef]  # qualname -> node
    _positions: dict[cst.CSTNode, CodeRange] | None = None

    @property
    def positions(self) -> dict[cst.CSTNode, CodeRange]:
        """Every node's range in the segment, computed on first use.

        libcst's PositionProvider regenerates the segment's code to find them,
        which costs as much as the parse; most segments report nothing, so
        only those that do pay for it.
        """
        if self._positions is None:
            self._positions = node_positions(self.module)
        return self._positions

    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """1-based (line, column, end_line, end_column) of ``node`` in the whole file."""
        where = self.positions[node]
        offset = self.line_offset
        return (where.start.line + offset, where.start.column + 1, where.end.line + offset, where.end.column + 1)


class SegmentCache:
    """Parses each top-level statement or function (see ``function``) at most once per module analysis."""

    def __init__(
        self, lines: list[str], spans: list[tuple[int, int]], functions: Mapping[str, FunctionInfo] | None = None
    ) -> None:
        self._lines = lines
        self._spans = spans
        self._functions = functions or {}
        self._parsed: dict[int, Segment] = {}
        self._units: dict[str, Segment | None] = {}  # a function's own lines, parsed (None: they do not parse alone)

    def get(self, top: int) -> Segment:
        segment = self._parsed.get(top)
        if segment is None:
            first, last = self._spans[top]
            try:
                module = parse_module("".join(self._lines[first - 1 : last]))
            except cst.ParserSyntaxError as error:  # at its line in the file, not in the statement
                raise cst.ParserSyntaxError(
                    error.message, lines=self._lines, raw_line=error.raw_line + first - 1, raw_column=error.raw_column
                ) from None
            segment = self._parsed[top] = Segment(module, first - 1, _function_table(module.body, ""))
        return segment

    def function(self, info: FunctionInfo) -> tuple[cst.FunctionDef, Segment]:
        """A function's node, from the smallest unit that holds it.

        A function that is not a module statement of its own (a method, a
        function nested in another) is parsed on its own, not with its whole
        class or enclosing function (classes are the largest statements of most
        modules, and only some of their methods need a closer look): its lines,
        which start at its own indentation, parse as the body of a one-line
        ``class _:`` header, so its columns are unchanged and its lines shift by
        a constant. A unit already parsed that holds it (an enclosing function,
        the whole statement) is used as it is.
        """
        key = info.source_qualname  # how the code names it (a redefinition's qualname says which one)
        whole = self._parsed.get(info.top)
        if whole is not None and key == info.qualname and key in whole.functions:
            return whole.functions[key], whole
        unit: FunctionInfo | None = info
        while unit is not None:
            segment = self._units.get(unit.qualname)
            if segment is not None and key in segment.functions:
                return segment.functions[key], segment
            unit = self._functions.get(unit.parent) if unit.parent is not None else None
        segment = self._unit(info)
        if segment is None or key not in segment.functions:
            segment = self.get(info.top)
        return segment.functions[key], segment

    def _unit(self, function: FunctionInfo) -> Segment | None:
        if function.qualname in self._units:
            return self._units[function.qualname]
        segment = None
        first, last = function.span
        if 0 < first <= last <= len(self._lines) and first > self._spans[function.top][0]:
            head = self._lines[first - 1]
            code = head.lstrip(" \t")
            # The unit must start its line (not ``class A: def f(self): ...``) at some indentation.
            if code.startswith(("@", "def", "async")) and len(code) < len(head):
                try:
                    module = parse_module("class _:\n" + "".join(self._lines[first - 1 : last]))
                except cst.ParserSyntaxError:
                    module = None  # the whole statement is parsed instead, and reports the error
                if module is not None and len(module.body) == 1 and isinstance(module.body[0], cst.ClassDef):
                    source = function.source_qualname
                    prefix = source[: len(source) - len(function.name)]
                    segment = Segment(module, first - 2, _function_table(_inner(module.body[0]), prefix))
        self._units[function.qualname] = segment
        return segment


def node_positions(module: cst.Module) -> dict[cst.CSTNode, CodeRange]:
    """``MetadataWrapper(module).resolve(PositionProvider)``, for half the cost.

    The wrapper deep-copies the tree (``unsafe_skip_copy`` avoids that) and,
    before running the provider, walks the whole tree once more for the
    batchable providers, of which there are none here. This runs the
    provider's code generation alone; should libcst's internals differ, it
    falls back to the wrapper.
    """
    try:
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=provider
        )
        module._codegen(state)
        # The provider stores a CodeRange for each node itself (no lazy values), as ``resolve`` returns them.
        return cast(dict[cst.CSTNode, CodeRange], dict(provider._computed))
    except (AttributeError, TypeError):
        return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))


def parse_module(text: str) -> cst.Module:
    """``libcst.parse_module`` without the per-node validation of the parser's own output.

    Every node libcst builds runs ``_validate`` from ``__post_init__``: a
    quarter of the parse, spent re-checking what the parser just produced
    (libcst's own PERF note in ``CSTNode.__post_init__`` suggests skipping it
    when parsing). The hook is switched off for the parse only.
    """
    if not text.endswith("\n"):
        text += "\n"
    setattr(CSTNode, "__post_init__", _unvalidated)  # noqa: B010 - mypy forbids assigning to a method
    try:
        return cst.parse_module(text)
    finally:
        setattr(CSTNode, "__post_init__", _VALIDATED)  # noqa: B010


def _unvalidated(self: CSTNode) -> None:
    pass


_VALIDATED = CSTNode.__post_init__


def _function_table(body: Sequence[cst.CSTNode], prefix: str) -> dict[str, cst.FunctionDef]:
    table: dict[str, cst.FunctionDef] = {}
    _add_functions(body, prefix, table)
    return table


def _add_functions(body: Sequence[cst.CSTNode], prefix: str, table: dict[str, cst.FunctionDef]) -> None:
    # A module-level function, not a closure that calls itself: that closure and its cell form
    # a cycle, which would keep the table (and the trees) alive until a cyclic collection.
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            name = statement.name.value
            qualname = f"{prefix}{name}"
            table[qualname] = statement
            _add_functions(_inner(statement), f"{qualname}.<locals>.", table)
        elif isinstance(statement, cst.ClassDef):
            _add_functions(_inner(statement), f"{prefix}{statement.name.value}.", table)
        elif isinstance(statement, cst.BaseCompoundStatement):
            _add_functions(_compound_bodies(statement), prefix, table)


def _inner(node: cst.FunctionDef | cst.ClassDef) -> list[cst.CSTNode]:
    body = node.body
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []


_HOLDS_BLOCKS = (cst.BaseSuite, cst.If, cst.Else, cst.ExceptHandler, cst.Finally, cst.ExceptStarHandler, cst.MatchCase)


def _compound_bodies(node: cst.BaseCompoundStatement) -> list[cst.CSTNode]:
    """Statements nested in if/for/while/try/with blocks (where functions can be defined too)."""
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        for child in cst_children(current):
            if isinstance(child, cst.IndentedBlock):
                found.extend(child.body)
            elif isinstance(child, _HOLDS_BLOCKS):  # a function defined in a `case` block, too
                stack.append(child)
    return found
