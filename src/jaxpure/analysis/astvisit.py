"""``ast.NodeVisitor`` with the same visits, at about half the cost.

The index pass visits every node of every module, so the visitor's own
overhead counts: ``NodeVisitor.visit`` builds a method name and looks it up
on every node, and ``generic_visit`` goes through the ``iter_fields``
generator. Here the method is looked up once per node class, fields are read
straight from ``_fields``, and the childless nodes no visitor handles
(``Load``, ``Store``, operators) are not visited at all, which changes
nothing since visiting them does nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import ClassVar

_AST = ast.AST
_OLD_CONSTANTS = ("Num", "Str", "Bytes", "NameConstant", "Ellipsis")


class FastNodeVisitor(ast.NodeVisitor):
    """Drop-in for ``ast.NodeVisitor`` (``visit_<Class>`` methods, ``generic_visit``)."""

    _dispatch: ClassVar[dict[type[ast.AST], Callable | None]] = {}  # one per subclass: node class -> method

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}

    def _method_for(self, kind: type[ast.AST]) -> Callable | None:
        cls = type(self)
        method = getattr(cls, f"visit_{kind.__name__}", None)
        if method is ast.NodeVisitor.visit_Constant and not any(hasattr(cls, f"visit_{old}") for old in _OLD_CONSTANTS):
            method = None  # NodeVisitor's shim for the pre-3.8 visit_Num & co., which this visitor lacks
        if method is None:
            method = cls.generic_visit
            if method is FastNodeVisitor.generic_visit and (not kind._fields or kind is ast.Constant):
                method = None  # no child nodes and nothing to do: skip it
        self._dispatch[kind] = method
        return method

    def visit(self, node: ast.AST):
        kind = type(node)
        try:
            method = self._dispatch[kind]
        except KeyError:
            method = self._method_for(kind)
        if method is not None:
            return method(self, node)
        return None

    def generic_visit(self, node: ast.AST) -> None:
        # ``child_nodes`` inlined: this is the index's innermost loop.
        visit = self.visit
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        visit(item)
            elif isinstance(value, _AST):
                visit(value)


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` as a list, without the generator's cost."""
    found: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(item for item in value if isinstance(item, _AST))
        elif isinstance(value, _AST):
            found.append(value)
    return found
