"""Probes put into the flagged files only, as they are compiled (no JAX here).

Each innermost statement that holds a flagged line becomes::

    __jaxpure_line__((3, 7), ("x", "n"))   # which findings, and the names their span reads
    try:
        <the statement>
    except BaseException:
        __jaxpure_raised__((3, 7))          # sees sys.exc_info(); the exception goes on as before
        raise

Line numbers are kept (the probe nodes take the statement's position), so
tracebacks, ``LineProbe`` and JAX's error messages point where they did.
Code in other files is never touched, so it runs at full speed.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import Any, TypeVar

LINE_HOOK = "__jaxpure_line__"
RAISED_HOOK = "__jaxpure_raised__"
ENTER_HOOK = "__jaxpure_enter__"
EXIT_HOOK = "__jaxpure_exit__"

_Function = ast.FunctionDef | ast.AsyncFunctionDef
_Node = TypeVar("_Node", bound=ast.AST)


@dataclass(frozen=True)
class Span:
    """A finding's id and where it sits (1-based lines, 1-based columns, end exclusive)."""

    id: int
    line: int
    end_line: int
    column: int
    end_column: int
    entry: bool = False  # also watch the calls of the function around it (a root outside any transform)


_REAL_PATHS: dict[str, str] = {}


def flagged(filename: str, spans: dict[str, list[Span]]) -> list[Span] | None:
    """The spans of the findings in ``filename``, by the name it is compiled under or its real path."""
    if not isinstance(filename, str) or not filename or filename.startswith("<"):
        return None
    found = spans.get(filename)
    if found is None and filename not in _REAL_PATHS:
        _REAL_PATHS[filename] = os.path.realpath(filename)
    return found if found is not None else spans.get(_REAL_PATHS.get(filename, ""))


def instrument(tree: ast.Module, spans: list[Span]) -> ast.Module:
    """``tree`` with probes around the innermost statements holding the spans' first lines."""
    if spans:
        # Every new node gets its position from its statement: ``ast.fix_missing_locations`` would
        # give nodes that pytest's assertion rewriter left without an end line an end before their start.
        tree.body = _block(tree.body, spans)[0]
        _watch_calls(tree, [s for s in spans if s.entry])
    return tree


def _watch_calls(tree: ast.Module, spans: list[Span]) -> None:
    """The innermost function around an ``entry`` span gets its calls watched::

    def f(...):
        __jaxpure_enter__((3,))   # its arguments, as they arrive
        try:
            <body>
        finally:
            __jaxpure_exit__((3,))
    """
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        nested = [n for n in functions if n is not function and _contains(function, n)]
        ids = [
            s.id
            for s in spans
            if _contains_line(function, s.line) and not any(_contains_line(n, s.line) for n in nested)
        ]
        if ids:
            _wrap_body(function, ids)


def _contains(outer: _Function, inner: _Function) -> bool:
    return outer.lineno <= inner.lineno and _end_line(inner) <= _end_line(outer)


def _contains_line(function: _Function, line: int) -> bool:
    return function.body[0].lineno <= line <= _end_line(function)


def _end_line(node: ast.stmt) -> int:
    return node.end_lineno or node.lineno  # always set on parsed code


def _wrap_body(function: _Function, ids: list[int]) -> None:
    body = function.body
    docstring = body[:1] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else []
    rest = body[len(docstring) :]
    if not rest:
        return
    first, last = rest[0], rest[-1]
    id_tuple = ast.Tuple([ast.Constant(i) for i in ids], ast.Load())
    enter = _placed(ast.Expr(_call(ENTER_HOOK, [id_tuple])), first)
    leave = _placed(ast.Expr(_call(EXIT_HOOK, [ast.Tuple([ast.Constant(i) for i in ids], ast.Load())])), last)
    guarded = ast.Try(body=rest, handlers=[], orelse=[], finalbody=[leave])
    guarded.lineno, guarded.col_offset = first.lineno, first.col_offset
    guarded.end_lineno, guarded.end_col_offset = last.end_lineno, last.end_col_offset
    function.body = [*docstring, enter, guarded]


def _block(statements: list[ast.stmt], spans: list[Span]) -> tuple[list[ast.stmt], set[int]]:
    """The block rewritten, and the ids whose probe went into it (at any depth)."""
    result: list[ast.stmt] = []
    claimed: set[int] = set()
    for statement in statements:
        first = min(
            [
                statement.lineno,
                *(d.lineno for d in getattr(statement, "decorator_list", [])),
            ]
        )
        inside = [s for s in spans if first <= s.line <= (statement.end_lineno or statement.lineno)]
        inner = _children(statement, inside) if inside else set()
        own = [s for s in inside if s.id not in inner]
        claimed |= inner | {s.id for s in own}
        result.extend(_wrapped(statement, own) if own else [statement])
    return result, claimed


def _children(statement: ast.stmt, spans: list[Span]) -> set[int]:
    """Rewrite the statement's nested blocks in place; the ids they took."""
    claimed: set[int] = set()
    for name in ("body", "orelse", "finalbody"):
        block = getattr(statement, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            new, taken = _block(block, spans)
            setattr(statement, name, new)
            claimed |= taken
    for holder in [
        *getattr(statement, "handlers", []),
        *getattr(statement, "cases", []),
    ]:
        new, taken = _block(holder.body, spans)
        holder.body = new
        claimed |= taken
    return claimed


def _wrapped(statement: ast.stmt, spans: list[Span]) -> list[ast.stmt]:
    ids = ast.Tuple([ast.Constant(s.id) for s in spans], ast.Load())
    names = ast.Tuple([ast.Constant(n) for n in _operand_names(statement, spans)], ast.Load())
    probe = ast.Expr(_call(LINE_HOOK, [ids, names]))
    if isinstance(statement, ast.Global | ast.Nonlocal):  # a declaration: nothing to raise
        return [_placed(probe, statement), statement]
    handler = ast.ExceptHandler(
        type=ast.Name("BaseException", ast.Load()),
        name=None,
        body=[
            _placed(ast.Expr(_call(RAISED_HOOK, [ids])), statement),
            _placed(ast.Raise(), statement),
        ],
    )
    guarded = ast.Try(
        body=[statement],
        handlers=[_placed(handler, statement)],
        orelse=[],
        finalbody=[],
    )
    guarded.lineno, guarded.col_offset = (
        statement.lineno,
        statement.col_offset,
    )  # the statement keeps its own
    guarded.end_lineno, guarded.end_col_offset = (
        statement.end_lineno,
        statement.end_col_offset,
    )
    return [_placed(probe, statement), guarded]


def _call(name: str, args: list[ast.expr]) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), args, [])


def _placed(node: _Node, at: ast.stmt) -> _Node:
    """Give a new node (and its new children) the statement's first line, so numbering stays."""
    for child in ast.walk(node):
        if "lineno" in child._attributes:
            located: Any = child  # a node with a position: its class lists ``lineno`` among its attributes
            located.lineno, located.col_offset = at.lineno, at.col_offset
            located.end_lineno, located.end_col_offset = at.lineno, at.col_offset
    return node


def _operand_names(statement: ast.stmt, spans: list[Span]) -> list[str]:
    """Names read inside the findings' spans (a compound statement: its header only)."""
    header_only = bool(getattr(statement, "body", None))
    names: list[str] = []
    for node in ast.walk(statement):
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load) or node.id in names:
            continue
        if any(_within(node, span, header_only) for span in spans):
            names.append(node.id)
    return names


def _within(node: ast.Name, span: Span, header_only: bool) -> bool:
    end_line = span.line if header_only else span.end_line
    assert node.end_lineno is not None and node.end_col_offset is not None  # always set on parsed code
    start = (node.lineno, node.col_offset + 1)
    return (span.line, span.column) <= start and (
        node.end_lineno,
        node.end_col_offset + 1,
    ) <= (
        end_line,
        span.end_column if end_line == span.end_line else 10**9,
    )
