"""Which names a block of code binds in its own scope.

Two fixes need it: an item-assignment fix rebinds ``x``, which is only safe
when ``x`` is already local to the function (otherwise Python would make it
local everywhere in the function, and every earlier read would fail); and an
added import must not take a name the module already uses.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst


class _Binder(cst.CSTVisitor):
    """Collects bound names without entering nested scopes."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.declared: set[str] = set()  # ``global`` / ``nonlocal`` names

    # Nested scopes: their own name is bound here; their body is not ours.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.bound.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.bound.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_CompFor(self, node: cst.CompFor) -> bool:
        # Comprehension targets are local to the comprehension; a walrus inside is not.
        node.iter.visit(self)
        for condition in node.ifs:
            condition.visit(self)
        if node.inner_for_in is not None:
            node.inner_for_in.visit(self)
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name.name)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self.bound.add(_alias_binding(alias))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self.bound.add(_alias_binding(alias))

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(item.name.value for item in node.names)

    def _bind(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.bound.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)


def _alias_binding(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    name: cst.BaseExpression = alias.name
    while isinstance(name, cst.Attribute):
        name = name.value
    return name.value if isinstance(name, cst.Name) else ""


def names_bound_in(nodes: Iterable[cst.CSTNode]) -> set[str]:
    """Names that ``nodes`` bind in the scope they belong to."""
    binder = _Binder()
    for node in nodes:
        node.visit(binder)
    return binder.bound


def local_names(function: cst.FunctionDef) -> set[str]:
    """Names local to ``function``: its parameters and what its body binds, minus global/nonlocal."""
    binder = _Binder()
    function.body.visit(binder)
    return (parameter_names(function) | binder.bound) - binder.declared


def parameter_names(function: cst.FunctionDef) -> set[str]:
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return {param.name.value for param in every}


def first_parameter(function: cst.FunctionDef) -> str | None:
    params = [*function.params.posonly_params, *function.params.params]
    return params[0].name.value if params else None
