"""A fast ``node.children`` for libcst trees.

libcst computes ``CSTNode.children`` by running a visitor that rebuilds the
node (dataclass construction and validation included) on every access; on
the corpus that was a third of jaxpure's time. The children of a node are
just the values of its node-valued fields, in the order its
``_visit_and_replace_children`` visits them. That order is fixed per class
(some fields are visited only when they are set, e.g. an f-string's
``format_spec``): it is read once per class from that method's source, every
``visit_*(self, "field", ...)`` call in turn, and the fields are then read
with ``getattr``. Without the source (a zipped install) it falls back to
libcst's own ``children``. ``tests/test_cache_and_jobs.py`` checks the result
is identical to libcst's on every node of the fixtures.

``code_children`` is the same without the fields that only ever hold layout
(whitespace, comments, newlines) or punctuation (commas, dots, brackets):
two thirds of a libcst tree, and nothing the analysis looks at. Every walk of
the analysis uses it.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from operator import attrgetter

import libcst as cst

_VISITED_FIELD = re.compile(r'visit_\w+\(\s*self,\s*"(\w+)"')

_ACCESSORS: dict[type, Callable[[cst.CSTNode], list[cst.CSTNode]]] = {}
_CODE_ACCESSORS: dict[type, Callable[[cst.CSTNode], list[cst.CSTNode]]] = {}

# Layout and punctuation: a field whose declared type admits only these holds no code.
TRIVIA: tuple[type, ...] = (
    cst.BaseParenthesizableWhitespace,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Comment,
    cst.Newline,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
)


class _FieldRecorder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False  # the node's own fields only

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _visited_fields(node: cst.CSTNode) -> tuple[str, ...] | None:
    try:
        source = inspect.getsource(type(node)._visit_and_replace_children)
    except (OSError, TypeError):
        return None
    fields = tuple(dict.fromkeys(_VISITED_FIELD.findall(source)))
    # Every field the method visits here must be among those found, or the source is not what we expect.
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    return fields if set(recorder.fields) <= set(fields) else None


def _libcst_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    return list(node.children)


def _accessor(fields: tuple[str, ...]) -> Callable[[cst.CSTNode], list[cst.CSTNode]]:
    if not fields:
        return lambda node: []
    get = attrgetter(*fields)
    single = len(fields) == 1
    default = cst.MaybeSentinel.DEFAULT

    def accessor(node: cst.CSTNode) -> list[cst.CSTNode]:
        found: list[cst.CSTNode] = []
        for value in (get(node),) if single else get(node):
            kind = type(value)
            if kind is tuple or kind is list:
                found.extend(value)
            elif value is not None and value is not default:  # unset optional fields are no children
                found.append(value)
        return found

    return accessor


def _node_classes(hint: object) -> list[type] | None:
    """The CSTNode classes a field's type admits (``Sequence[X]``, unions, optionals); None if unclear."""
    if isinstance(hint, type):
        return [hint] if issubclass(hint, cst.CSTNode) else []
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return []
    arguments = typing.get_args(hint)
    if origin is None or not arguments:
        return None
    found: list[type] = []
    for argument in arguments:
        classes = _node_classes(argument)
        if classes is None:
            return None
        found.extend(classes)
    return found


def _code_fields(node: cst.CSTNode, fields: tuple[str, ...]) -> tuple[str, ...]:
    try:
        hints = typing.get_type_hints(type(node))
    except Exception:  # unresolvable annotations: keep every field
        return fields
    kept = []
    for name in fields:
        classes = _node_classes(hints.get(name))
        if not classes or not all(issubclass(c, TRIVIA) for c in classes):
            kept.append(name)
    return tuple(kept)


def code_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``children`` without the nodes of layout and punctuation fields (see ``TRIVIA``), in order."""
    accessor = _CODE_ACCESSORS.get(type(node))
    if accessor is None:
        fields = _visited_fields(node)
        accessor = _libcst_children if fields is None else _accessor(_code_fields(node, fields))
        _CODE_ACCESSORS[type(node)] = accessor
    return accessor(node)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The immediate child nodes of ``node``, in lexical order: libcst's ``node.children``."""
    accessor = _ACCESSORS.get(type(node))
    if accessor is None:
        fields = _visited_fields(node)
        accessor = _ACCESSORS[type(node)] = _libcst_children if fields is None else _accessor(fields)
    return accessor(node)


def names_read(node: cst.CSTNode, call_parts: Callable[[cst.Call], list[cst.CSTNode]] | None = None) -> set[str]:
    """The variables ``node`` reads: every name but attribute names and ``keyword=`` names.
    ``call_parts``: what of a call to look into (by default all of it)."""
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            names.add(current.value)
        elif call_parts is not None and isinstance(current, cst.Call):
            stack.extend(call_parts(current))
        elif isinstance(current, cst.Attribute | cst.Arg):
            stack.append(current.value)  # ``.attr`` and ``keyword=`` are not variables
        else:
            stack.extend(code_children(current))
    return names


def all_params(params: cst.Parameters) -> list[cst.Param]:
    """Every parameter of a ``def`` or ``lambda``, ``*args`` and ``**kwargs`` included."""
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


STRING_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def is_string_index(index: cst.BaseSlice) -> bool:
    """``x["key"]``'s slice: a string literal, which no array takes as an index."""
    return isinstance(index, cst.Index) and isinstance(index.value, STRING_LITERALS)


def is_array_region(target: cst.Subscript) -> bool:
    """``ref[...]``, ``ref[:, 0]``, ``ref[pl.ds(0, 8), :]``: an ellipsis or a slice among the
    indices, which no dict key or list item takes (``cache[n, m]`` may be a dict's tuple key).
    Written to, such a target is a mutable array reference (``jax.Ref``, a Pallas kernel's
    refs), whose writes JAX stages, or an array that cannot take a tracer."""
    return any(
        isinstance(element.slice, cst.Slice)
        or (isinstance(element.slice, cst.Index) and isinstance(element.slice.value, cst.Ellipsis))
        for element in target.slice
    )


def is_none(node: cst.BaseExpression) -> bool:
    return type(node) is cst.Name and node.value == "None"


def all_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node of code under ``root``, nested functions and lambdas included."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(code_children(node))


# Statements after which the rest of their block never runs.
JUMPS = (cst.Return, cst.Raise, cst.Break, cst.Continue)


def constant_truth(test: cst.BaseExpression) -> bool | None:
    """``True``/``False`` written as a test: the branch Python always takes (None: either may run)."""
    return {"True": True, "False": False}.get(test.value) if type(test) is cst.Name else None
