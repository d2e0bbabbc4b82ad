"""Expressions nested too deeply to analyze, found on the ``ast`` before any libcst work.

libcst's native parser takes time quadratic in how deeply an expression
nests: a chain of subscripts ``x[0][0]...`` 1,000 deep parses in 0.9 s, 2,000
deep in 4 s, and a file with a 10,000-term sum took 33 s. CPython parses such code
(brackets stop at 200 levels, but operator chains, attribute and call or
subscript trailers, conditional expressions and lambdas nest without
brackets), so the bound is jaxpure's own: an expression more than
``MAX_EXPRESSION_DEPTH`` operations deep makes the file a JP000. The deepest
expression in the JAX code measured (optax, flax, equinox, haiku, numpyro,
jax: 1,147 modules) is 13 deep; in all 4,772 modules of the packages installed
beside them, generated tables included, under 100.

Depth counts the expression nodes on a path, names and constants left out:
``x + x + x`` is 2 deep (a sum is a chain of additions), ``-x`` is 1,
``x.a.b`` 2, ``f(g(x))`` 2. Statements do not count: an expression in a
nested block starts again at 0 (block nesting stops at 100 in CPython).

Only statements and expressions long enough to reach the bound are walked
(each level takes at least one character of source), so a module of ordinary
code costs a walk over its long statements: 4% of ``ast.parse``'s time.
"""

from __future__ import annotations

import ast
from itertools import accumulate

from jaxpure.analysis.astvisit import child_nodes

MAX_EXPRESSION_DEPTH = 1_000

_LEAVES = (ast.Name, ast.Constant)


def too_deeply_nested(tree: ast.AST, lines: list[str], limit: int = MAX_EXPRESSION_DEPTH) -> tuple[int, int] | None:
    """(line, column), both 1-based, of the first expression (in the text) nested more than ``limit`` deep, or None.

    ``lines``: the module's lines as ``source.source_lines`` splits them (as Python numbers them).
    """
    before = list(accumulate(map(len, lines), initial=0))  # characters before each line
    if before[-1] < limit:
        return None

    def long_enough(node: ast.AST) -> bool:
        """Whether ``node``'s source has at least ``limit`` characters (at most: bytes and whole lines count)."""
        first = getattr(node, "lineno", None)
        if first is None:  # no position (``match_case``, operators): look inside
            return True
        if getattr(node, "decorator_list", None):  # a def or class starts at its ``def`` or ``class``, after them
            return True
        last = getattr(node, "end_lineno", None) or first
        if first == last:
            return (getattr(node, "end_col_offset", None) or 0) - getattr(node, "col_offset", 0) >= limit
        return before[min(last, len(lines))] - before[first - 1] >= limit

    found: ast.expr | None = None
    stack: list[ast.AST] = [tree]
    while stack:  # statements and the other nodes that are not expressions (iterative: blocks nest too)
        node = stack.pop()
        for item in child_nodes(node):
            if not long_enough(item):
                continue
            if not isinstance(item, ast.expr):
                stack.append(item)
            elif _deeper_than(item, limit) and (found is None or _position(item) < _position(found)):
                found = item
    if found is None:
        return None
    line = lines[found.lineno - 1] if found.lineno <= len(lines) else ""
    return found.lineno, len(line.encode("utf-8")[: found.col_offset].decode("utf-8", "replace")) + 1


def _position(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _deeper_than(root: ast.expr, limit: int) -> bool:
    stack: list[tuple[ast.AST, int]] = [(root, 0 if isinstance(root, _LEAVES) else 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in child_nodes(node):
            if not isinstance(child, ast.expr):  # comprehensions, keywords, a lambda's arguments
                stack.append((child, depth))
            elif not isinstance(child, _LEAVES):
                stack.append((child, depth + 1))
    return False
