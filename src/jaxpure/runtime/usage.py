"""How a function's body uses each parameter, read from its source: what kind of value to build.

``params["w"]`` and ``params["enc"]["w"]`` mean a dict with those keys;
``state.append(x)`` a list; ``cfg.hidden`` an object jaxpure cannot invent.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

LIST_METHODS = frozenset({"append", "extend", "insert", "remove", "reverse"})
DICT_METHODS = frozenset({"update", "setdefault", "items", "keys", "values", "get", "popitem"})


@dataclass
class Usage:
    keys: dict = field(default_factory=dict)  # nested string keys read or written: {"enc": {"w": {}}}
    container: str | None = None  # "dict" | "list"
    attributes: set[str] = field(default_factory=set)  # attribute names read on it


def parameter_usage(function) -> dict[str, Usage]:
    """Usage of every parameter of ``function``; empty where its source cannot be read."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return {}
    definition = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if definition is None:
        return {}
    names = {a.arg for a in [*definition.args.posonlyargs, *definition.args.args, *definition.args.kwonlyargs]}
    usages = {name: Usage() for name in names}
    for node in ast.walk(definition):
        if isinstance(node, ast.Subscript):
            path = _string_key_path(node)
            if path and path[0] in usages:
                _insert(usages[path[0]].keys, path[1:])
                usages[path[0]].container = "dict"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in usages:
            usage = usages[node.value.id]
            if node.attr in LIST_METHODS:
                usage.container = usage.container or "list"
            elif node.attr in DICT_METHODS:
                usage.container = "dict"
            else:
                usage.attributes.add(node.attr)
    return usages


def _string_key_path(node: ast.Subscript) -> list[str] | None:
    """``p["a"]["b"]`` -> ``["p", "a", "b"]``; None unless every index is a string literal."""
    keys: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Subscript):
        index = current.slice
        if not (isinstance(index, ast.Constant) and isinstance(index.value, str)):
            return None
        keys.insert(0, index.value)
        current = current.value
    return [current.id, *keys] if isinstance(current, ast.Name) else None


def _insert(tree: dict, path: list[str]) -> None:
    for key in path:
        tree = tree.setdefault(key, {})
