"""How a module spells ``jax``, ``jax.numpy`` and ``numpy``, and adding the import a fix needs.

Fixes reuse the module's own aliases (``jnp``, ``np_jax``, ``from jax import
debug``); only when none exists is an import added, once, next to the
module's other jax imports, so the rest of the file stays byte-identical.
Only top-level bindings count: an import inside a function or a ``try``
may not run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from jaxpure.fixes.bindings import names_bound_in
from jaxpure.fixes.refusal import Refused

_OTHER = "<other>"  # a top-level name bound to something that is not a module we know


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """A top-level ``import MODULE [as ASNAME]`` a rewrite relies on."""

    module: str  # "jax" or "jax.numpy"
    asname: str | None = None

    @property
    def bound_name(self) -> str:
        return self.asname or self.module.split(".")[0]


_JAX_NUMPY = ImportRequest("jax.numpy", "jnp")
_JAX = ImportRequest("jax")


@dataclass(frozen=True, slots=True)
class ModuleNames:
    """Top-level name → the module it is bound to (``"jax.numpy"``), or ``_OTHER``."""

    bindings: dict[str, str]
    dotted: frozenset[str] = frozenset()  # modules imported by their dotted name: ``import jax.numpy``

    def aliases_of(self, module: str) -> list[str]:
        return [name for name, bound in self.bindings.items() if bound == module]

    def is_numpy(self, name: str) -> bool:
        return self.bindings.get(name) == "numpy"

    def jax_numpy(self) -> tuple[str, ImportRequest | None]:
        """The expression for ``jax.numpy`` here, and the import it needs, if any."""
        aliases = self.aliases_of("jax.numpy")
        if aliases:
            return ("jnp" if "jnp" in aliases else aliases[0]), None
        if "jax.numpy" in self.dotted and self.bindings.get("jax") == "jax":
            return "jax.numpy", None  # the module wrote ``import jax.numpy``
        if "jnp" not in self.bindings:
            return "jnp", _JAX_NUMPY
        jax = self._jax_alias()
        if jax:
            return f"{jax}.numpy", None
        raise Refused("the name jnp is taken by something other than jax.numpy, and jax is not imported")

    def jax_debug_print(self) -> tuple[str, ImportRequest | None]:
        """The expression for ``jax.debug.print`` here, and the import it needs, if any."""
        jax = self._jax_alias()
        if jax:
            return f"{jax}.debug.print", None
        debug = self.aliases_of("jax.debug")
        if debug:
            return f"{debug[0]}.print", None
        if "jax" not in self.bindings:
            return "jax.debug.print", _JAX
        raise Refused("the name jax is taken by something other than the jax module")

    def _jax_alias(self) -> str | None:
        aliases = self.aliases_of("jax")
        if not aliases:
            return None
        return "jax" if "jax" in aliases else aliases[0]


def scan_names(module: cst.Module) -> ModuleNames:
    bindings: dict[str, str] = {}
    dotted: set[str] = set()
    for statement in module.body:
        for name, bound in _statement_bindings(statement):
            # A name bound twice to different things is not one we can rely on.
            previous = bindings.get(name)
            bindings[name] = bound if previous in (None, bound) else _OTHER
        for node in _imports_of(statement):
            if isinstance(node, cst.Import):
                dotted.update(_dotted_name(a.name) for a in node.names if a.asname is None)
    return ModuleNames(bindings, frozenset(dotted))


def _statement_bindings(statement: cst.BaseStatement):
    imports = _imports_of(statement)
    for node in imports:
        yield from (_import_bindings(node) if isinstance(node, cst.Import) else _import_from_bindings(node))
    if not imports:
        # Anything else (assignments, defs, imports inside a top-level if/try) binds names
        # that are not reliably the module we would want.
        for name in names_bound_in([statement]):
            yield name, _OTHER


def _import_bindings(node: cst.Import):
    for alias in node.names:
        module = _dotted_name(alias.name)
        if alias.asname is not None:
            yield _asname(alias.asname), module
        else:
            # ``import jax.numpy`` binds ``jax``.
            yield module.split(".")[0], module.split(".")[0]


def _import_from_bindings(node: cst.ImportFrom):
    if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
        return
    module = _dotted_name(node.module)
    for alias in node.names:
        imported = _dotted_name(alias.name)
        name = _asname(alias.asname) if alias.asname is not None else imported
        # ``from jax import numpy`` binds a submodule; ``from numpy import sum`` a function.
        yield name, f"{module}.{imported}" if module in ("jax",) else _OTHER


def _asname(asname: cst.AsName) -> str:
    """The name after ``as`` (an import's ``as`` target is always a plain name)."""
    assert isinstance(asname.name, cst.Name)
    return asname.name.value


def _dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr.value}"
    return _OTHER


# -- adding imports ----------------------------------------------------------------------------


def add_imports(module: cst.Module, requests: set[ImportRequest] | frozenset[ImportRequest]) -> cst.Module:
    """Insert each requested import the module does not already bind, jax before jax.numpy."""
    for request in sorted(requests, key=lambda r: r.module):
        names = scan_names(module)
        if names.bindings.get(request.bound_name) == request.module:
            continue
        module = _insert_import(module, request)
    return module


def _insert_import(module: cst.Module, request: ImportRequest) -> cst.Module:
    body = list(module.body)
    statement = _import_statement(request)
    at, before_anchor = _insertion_point(body, request.module)
    if before_anchor:
        # Take over the anchor's leading blank lines and comments, so the group keeps its header.
        statement = statement.with_changes(leading_lines=body[at].leading_lines)
        body[at] = body[at].with_changes(leading_lines=())
    elif at == _after_docstring_and_future(body):
        # A module without imports: set the new one apart by blank lines.
        if at > 0:
            statement = statement.with_changes(leading_lines=(cst.EmptyLine(),))
        if at < len(body) and not _starts_with_blank(body[at]):
            body[at] = body[at].with_changes(leading_lines=(cst.EmptyLine(), *body[at].leading_lines))
    body.insert(at, statement)
    return module.with_changes(body=body)


def _insertion_point(body: Sequence[cst.BaseStatement], module: str) -> tuple[int, bool]:
    """Where ``import MODULE`` goes: in isort's order among the third-party imports, if any.

    Returns the index and whether the new import goes just before an existing one.
    """
    block = _leading_import_block(body)
    plain = [i for i in block if _is_third_party(body[i], cst.Import)]
    for index in plain:
        if _first_module(body[index]) > module:
            return index, True
    if plain:
        return plain[-1] + 1, False
    froms = [i for i in block if _is_third_party(body[i], cst.ImportFrom)]
    if froms:
        return froms[0], True  # isort puts ``import x`` before ``from x import y``
    if block:
        return block[-1] + 1, False
    return _after_docstring_and_future(body), False


def _import_statement(request: ImportRequest) -> cst.SimpleStatementLine:
    text = f"import {request.module}" + (f" as {request.asname}" if request.asname else "")
    statement = cst.parse_statement(text + "\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def _imports_of(statement: cst.BaseStatement) -> list[cst.Import | cst.ImportFrom]:
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    smalls = statement.body
    imports = [s for s in smalls if isinstance(s, (cst.Import, cst.ImportFrom))]
    return imports if smalls and len(imports) == len(smalls) else []


def _leading_import_block(body: Sequence[cst.BaseStatement]) -> list[int]:
    """Indexes of the top-of-module import statements (after a docstring)."""
    indexes = []
    start = 1 if body and _is_docstring(body[0]) else 0
    for index in range(start, len(body)):
        if not _imports_of(body[index]):
            break
        indexes.append(index)
    return indexes


def _first_module(statement: cst.BaseStatement) -> str:
    node = _imports_of(statement)[0]
    if isinstance(node, cst.Import):
        return _dotted_name(node.names[0].name)
    return _dotted_name(node.module) if node.module is not None else ""


def _is_third_party(statement: cst.BaseStatement, kind: type) -> bool:
    """An ``import``/``from`` (``kind``) of a module that is neither stdlib, ``__future__`` nor relative."""
    nodes = _imports_of(statement)
    if not nodes or not isinstance(nodes[0], kind):
        return False
    if isinstance(nodes[0], cst.ImportFrom) and nodes[0].relative:
        return False
    top = _first_module(statement).split(".")[0]
    return bool(top) and top != "__future__" and top not in sys.stdlib_module_names


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _after_docstring_and_future(body: Sequence[cst.BaseStatement]) -> int:
    at = 1 if body and _is_docstring(body[0]) else 0
    while at < len(body) and any(
        isinstance(node, cst.ImportFrom) and node.module is not None and _dotted_name(node.module) == "__future__"
        for node in _imports_of(body[at])
    ):
        at += 1
    return at


def _starts_with_blank(statement: cst.SimpleStatementLine | cst.BaseCompoundStatement) -> bool:
    lines = statement.leading_lines
    return bool(lines) and lines[0].comment is None
