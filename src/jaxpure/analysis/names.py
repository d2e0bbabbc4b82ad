"""Resolve a module's local spellings (``jnp.sum``, ``J``, ``jr.split``) to qualified names.

One cheap pass over the module's ``ast`` collects every import and simple
alias; resolution afterwards is a dictionary lookup. A name that a module
binds by ``def``/``class`` is its own and never resolves to an import.
"""

from __future__ import annotations

import ast
import builtins
from collections import deque
from collections.abc import Iterator

_BUILTINS = frozenset(dir(builtins))

# Canonical spellings for modules that JAX re-exports under several names.
_CANONICAL_PREFIXES = (
    ("jax.experimental.pjit.", "jax.experimental.pjit."),
    ("flax.linen.module.", "flax.linen."),
    ("jax._src.", "jax."),
)


class ImportMap:
    """Local name → qualified name, for one module."""

    def __init__(self, module_name: str | None = None, is_package: bool = False) -> None:
        self.aliases: dict[str, str] = {}
        self.module_name = module_name
        self.is_package = is_package
        self.own_names: set[str] = set()  # names the module defines itself

    # -- building -------------------------------------------------------------

    def add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.aliases[head] = head
            return
        base = self._absolute_module(node.module, node.level)
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def add_alias(self, name: str, value: ast.expr) -> None:
        """``jnp = jax.numpy`` at module level makes ``jnp`` an alias."""
        qualified = self.resolve_ast(value)
        if qualified is not None and not qualified.startswith("builtins."):
            self.aliases[name] = qualified

    def _absolute_module(self, module: str | None, level: int) -> str | None:
        if level == 0:
            return module or ""
        if not self.module_name:
            return None
        parts = self.module_name.split(".")
        keep = len(parts) - level + (1 if self.is_package else 0)
        if keep < 0:
            return None
        base = ".".join(parts[:keep])
        if module:
            base = f"{base}.{module}" if base else module
        return base

    def exports(self) -> dict[str, str]:
        """What another module reaches through this one: ``{"pkg.Name": "pkg._impl.Name"}`` for each
        ``from ... import Name`` here (the usual re-export of a package's public API)."""
        if not self.module_name:
            return {}
        return {
            f"{self.module_name}.{name}": target
            for name, target in self.aliases.items()
            if "." in target and name not in self.own_names
        }

    # -- resolving --------------------------------------------------------------

    def resolve_dotted(self, dotted: str, shadowed: frozenset[str] | set[str] = frozenset()) -> str | None:
        head, _, rest = dotted.partition(".")
        if head in shadowed:
            return None
        target = self.aliases.get(head)
        if target is None:
            if head in _BUILTINS and not rest and head not in self.own_names:
                return f"builtins.{head}"
            return None
        qualified = f"{target}.{rest}" if rest else target
        for prefix, canonical in _CANONICAL_PREFIXES:
            if qualified.startswith(prefix):
                qualified = canonical + qualified[len(prefix) :]
        return qualified

    def may_resolve(self, head: str) -> bool:
        """Whether a dotted name starting with ``head`` can resolve: most names in code are locals
        (``self.f()``, ``x.sum()``), and saying no to them early saves building their dotted names."""
        return head in self.aliases or head in _BUILTINS

    def resolve_ast(self, node: ast.expr, shadowed: frozenset[str] | set[str] = frozenset()) -> str | None:
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or not self.may_resolve(root.id):
            return None
        dotted = ast_dotted_name(node)
        return self.resolve_dotted(dotted, shadowed) if dotted else None


def ast_dotted_name(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def build_import_map(tree: ast.Module, module_name: str | None, is_package: bool) -> ImportMap:
    """Every import in the module (function-level imports too: libraries import lazily)."""
    imports = ImportMap(module_name, is_package)
    for node in walk_statements(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.add_import(node)
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            imports.own_names.add(statement.name)
            imports.aliases.pop(statement.name, None)
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and isinstance(statement.value, ast.Attribute | ast.Name):
                imports.add_alias(target.id, statement.value)
    return imports


_BLOCKS = ("body", "handlers", "orelse", "finalbody", "cases")  # in the order of the nodes' _fields


def walk_statements(tree: ast.AST) -> Iterator[ast.AST]:
    """The statements of ``ast.walk(tree)``, in its order, without visiting any expression.

    ``ast.walk`` goes breadth first; statements only ever sit in the blocks of
    statements, except handlers and match cases, so walking those alone gives
    the same statements at the same depths in the same order, for a fraction
    of the nodes.
    """
    queue = deque([tree])
    while queue:
        node = queue.popleft()
        yield node
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if type(block) is list:
                queue.extend(block)
