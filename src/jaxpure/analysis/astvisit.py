"""``ast.NodeVisitor`` with the same visits, at about half the cost.

The index pass visits every node of every module, so the visitor's own
overhead counts: ``NodeVisitor.visit`` builds a method name and looks it up
on every node, and ``generic_visit`` goes through the ``iter_fields``
generator. Here the method is looked up once per node class, fields are read
straight from ``_fields``, and the childless nodes no visitor handles
(``Load``, ``Store``, operators) are not visited at all, which changes
nothing since visiting them does nothing. Nor are names (the most common
node: a quarter of a module) when the visitor handles neither them nor
their context: a ``Name`` holds nothing but a string and that context; and
``generic_visit`` reads only the fields that can hold a node to visit (not
``ctx``, ``op``, ``ops``: stateless singletons, when the visitor handles
none of them) and dispatches children itself.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import ClassVar

_AST = ast.AST
_OLD_CONSTANTS = ("Num", "Str", "Bytes", "NameConstant", "Ellipsis")
# Nodes whose fields hold no node but an expression context (``Load``, ``Store``, ``Del``).
_ONLY_CONTEXT: dict[type[ast.AST], tuple[str, ...]] = {
    ast.Name: ("visit_Name", "visit_Load", "visit_Store", "visit_Del")
}
# Fields that hold only stateless singletons (expression contexts, operators), and their classes.
_SINGLETON_FIELDS = frozenset({"ctx", "op", "ops"})
_SINGLETONS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


class FastNodeVisitor(ast.NodeVisitor):
    """Drop-in for ``ast.NodeVisitor`` (``visit_<Class>`` methods, ``generic_visit``)."""

    _dispatch: ClassVar[dict[type[ast.AST], Callable | None]] = {}  # one per subclass: node class -> method
    _child_fields: ClassVar[dict[type[ast.AST], tuple[str, ...]]] = {}  # one per subclass: fields to visit
    _skips_singletons: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}
        cls._child_fields = {}
        handled = (f"visit_{kind.__name__}" for base in _SINGLETONS for kind in (base, *base.__subclasses__()))
        cls._skips_singletons = not any(hasattr(cls, name) for name in handled)

    def _method_for(self, kind: type[ast.AST]) -> Callable | None:
        cls = type(self)
        method = getattr(cls, f"visit_{kind.__name__}", None)
        if method is ast.NodeVisitor.visit_Constant and not any(hasattr(cls, f"visit_{old}") for old in _OLD_CONSTANTS):
            method = None  # NodeVisitor's shim for the pre-3.8 visit_Num & co., which this visitor lacks
        if method is None:
            method = cls.generic_visit
            if method is FastNodeVisitor.generic_visit and self._visits_nothing_in(kind):
                method = None  # no child nodes and nothing to do: skip it
        self._dispatch[kind] = method
        return method

    def _visits_nothing_in(self, kind: type[ast.AST]) -> bool:
        """Whether a node of this class (and what it holds) has nothing for this visitor."""
        if not kind._fields or kind is ast.Constant:
            return True
        handlers = _ONLY_CONTEXT.get(kind)
        return handlers is not None and not any(hasattr(type(self), handler) for handler in handlers)

    def visit(self, node: ast.AST):
        kind = type(node)
        try:
            method = self._dispatch[kind]
        except KeyError:
            method = self._method_for(kind)
        if method is not None:
            return method(self, node)
        return None

    def _fields_for(self, kind: type[ast.AST]) -> tuple[str, ...]:
        fields = kind._fields
        if self._skips_singletons:
            fields = tuple(name for name in fields if name not in _SINGLETON_FIELDS)
        self._child_fields[kind] = fields
        return fields

    def generic_visit(self, node: ast.AST) -> None:
        # ``child_nodes`` and ``visit`` inlined: this is the index's innermost loop.
        kind = type(node)
        fields = self._child_fields.get(kind)
        if fields is None:
            fields = self._fields_for(kind)
        dispatch = self._dispatch
        for name in fields:
            value = getattr(node, name, None)
            children = value if type(value) is list else (value,)
            for child in children:
                if not isinstance(child, _AST):
                    continue
                child_kind = type(child)
                method = dispatch[child_kind] if child_kind in dispatch else self._method_for(child_kind)
                if method is not None:
                    method(self, child)


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
