"""The vocabulary every fixer shares: its context, the rewrite it returns, its refusal.

A fixer is two functions over the libcst node a finding points at, and one
over the finding's transform:

- ``refusal(node)``: cheap and local to the node; ``None`` when the node has a
  shape the fixer can rewrite, otherwise the reason, in words for the user.
  The driver calls it (through ``is_fixable``) for every finding of a fixable rule.
- ``rewrite(node, context)``: builds the replacement, given what only the
  whole module knows (import aliases, the enclosing function); raises
  ``Refused`` when the module makes the rewrite unsafe.
- ``transform_refusal(transform)``: why the fix cannot serve under the
  transform the finding was traced by (``jax.debug.print`` under
  ``jax.eval_shape`` never prints); both the analyzer and ``--fix`` ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from jaxpure.fixes.imports import ImportRequest, ModuleNames
from jaxpure.fixes.refusal import Refused


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Replace ``original`` by ``replacement`` (several statements for a compound one)."""

    original: cst.CSTNode
    replacement: tuple[cst.CSTNode, ...]
    imports: frozenset[ImportRequest] = frozenset()


@dataclass(frozen=True, slots=True)
class FixContext:
    """What the module around a flagged node tells a fixer."""

    names: ModuleNames
    function: cst.FunctionDef | None  # the innermost enclosing ``def``
    in_method: bool  # ``function`` is defined directly in a class body
    is_elif: bool  # the node is the ``If`` of an ``elif``


@dataclass(frozen=True, slots=True)
class Fixer:
    codes: tuple[str, ...]
    node_types: tuple[type[cst.CSTNode], ...]
    refusal: Callable[[cst.CSTNode], str | None]
    rewrite: Callable[[cst.CSTNode, FixContext], Rewrite]
    # Why the fix cannot serve under a transform (``jax.eval_shape`` never runs a callback); None: it can.
    transform_refusal: Callable[[str | None], str | None] = lambda transform: None


EMPTY_MODULE = cst.Module(body=[])


def source_of(node: cst.CSTNode) -> str:
    """The code of any node, as it would print."""
    return EMPTY_MODULE.code_for_node(node)


def dotted(text: str) -> cst.BaseExpression:
    """``"jax.debug.print"`` as a Name/Attribute chain."""
    return cst.parse_expression(text)


__all__ = ["FixContext", "Fixer", "ImportRequest", "Refused", "Rewrite", "dotted", "source_of"]
