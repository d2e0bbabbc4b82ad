"""What a whole program (a notebook: nothing imports it) shows that a module cannot: the Module
classes it only runs eagerly, and when each of its functions can last be called.

SPEC §1 makes the methods of framework Modules staging contexts: a library's
Module is written to run under its users' transforms. A notebook is a whole
program, so it can be read to the end: a Module class it only instantiates
and runs at its top level (``model = Model()``, ``model.init(key, x)``,
``model.apply(variables, x)``, ``model(x)``) never reaches a transform, and
``init``/``apply`` are no transforms: the methods run eagerly, on concrete
values. Any other use is taken as a way to a transform and keeps the class
staging: the class or an instance handed to a call (``nn.vmap(Model)``,
``train_step(model, batch)``), a bound method taken as a value
(``jax.jit(model.apply)``), a mention inside a function or lambda, a
subclass. A mention inside another Module class counts as that class's use:
a submodule of an eager-only class runs eagerly too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

# Calls on an instance that run its methods once, eagerly, and return values, not Modules.
_EAGER_ENTRY_POINTS = frozenset({"init", "apply", "init_with_output"})


def eager_only_classes(tree: ast.Module, module_classes: set[str]) -> frozenset[str]:
    """The classes of ``module_classes`` (top-level framework Module classes) that ``tree``, a whole
    program, only instantiates and runs at its top level or inside other eager-only classes."""
    instances = _instances(tree, module_classes)
    escaped: set[str] = set()
    used_by: list[tuple[set[str], str]] = []  # (classes, the class whose body mentions them)
    for classes, owner, allowed in _mentions(tree, module_classes, instances):
        if not allowed or owner is _FUNCTION:
            escaped |= classes
        elif owner is not None:
            used_by.append((classes, owner))
    changed = True
    while changed:  # a class mentioned by one that is staging is staging too
        changed = False
        for classes, owner in used_by:
            if owner in escaped and not classes <= escaped:
                escaped |= classes
                changed = True
    return frozenset(module_classes - escaped)


def _instances(tree: ast.Module, module_classes: set[str]) -> dict[str, set[str]]:
    """Top-level names bound to an instance of a Module class (``model = Model(...)``)."""
    found: dict[str, set[str]] = {}
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
            and statement.value.func.id in module_classes
        ):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, set()).add(statement.value.func.id)
    return found


_FUNCTION = "<function>"  # a mention inside a function or lambda body


def _mentions(
    tree: ast.Module, module_classes: set[str], instances: dict[str, set[str]]
) -> Iterator[tuple[set[str], str | None, bool]]:
    """Each read of a Module class or instance name: the classes it stands for, where it is (None:
    top-level code, a class name: inside that top-level class, ``_FUNCTION``), and whether its
    use is one that runs the Module eagerly."""
    parents: dict[ast.AST, ast.AST] = {}
    pending: list[tuple[ast.AST, str | None]] = [(tree, None)]
    while pending:
        node, owner = pending.pop()
        for child in ast.iter_child_nodes(node):
            parents[child] = node
            inner = owner
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                # a Module's own methods run as the Module does; any other function may be transformed
                method = isinstance(node, ast.ClassDef) and owner not in (None, _FUNCTION)
                inner = owner if method else _FUNCTION
            elif isinstance(child, ast.ClassDef):
                inner = child.name if node is tree and child.name in module_classes else _FUNCTION
            pending.append((child, inner))
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                classes = {child.id} if child.id in module_classes else instances.get(child.id, set())
                if classes:
                    yield classes, inner, _runs_eagerly(child, child.id in module_classes, parents, node)


def _runs_eagerly(name: ast.Name, is_class: bool, parents: dict[ast.AST, ast.AST], parent: ast.AST) -> bool:
    """``Model(...)`` bound to a name or run at once; ``model.init(...)``/``.apply(...)``; ``model(x)``."""
    if is_class:  # the class itself: only instantiated, the instance bound or run at once
        if not (isinstance(parent, ast.Call) and parent.func is name):
            return False
        instance: ast.AST = parent
        holder = parents.get(instance)
        if isinstance(holder, ast.Assign) and all(isinstance(t, ast.Name) for t in holder.targets):
            return True
        if holder is None:
            return False
        name_or_instance, parent = instance, holder
    else:
        name_or_instance = name
    if isinstance(parent, ast.Call) and parent.func is name_or_instance:
        return True  # model(x): its __call__, now
    if isinstance(parent, ast.Attribute) and parent.attr in _EAGER_ENTRY_POINTS:
        caller = parents.get(parent)
        return isinstance(caller, ast.Call) and caller.func is parent
    return False


def last_uses(tree: ast.Module, qualnames: list[str | None], anytime: int) -> dict[str, int]:
    """For each top-level function (by ``qualnames``: the index's name of each top-level statement
    that is a ``def``, so that a redefined name's earlier ``def`` is its own function), the last
    line of top-level code that can call it: a statement that names it or a name bound to it
    (``step = jax.jit(train_step)``, ``grad_fn = jax.grad(loss)``; not a call's result, which is
    data). ``anytime`` where a function body, lambda or class body names it: that code can run
    whenever it is called."""
    found: dict[str, int] = {}
    for statement, now, later in _top_level_uses(tree, qualnames):
        for function in later:
            found[function] = anytime
        for function in now:
            found[function] = max(found.get(function, 0), statement.end_lineno or statement.lineno)
    return found


def first_uses(tree: ast.Module, qualnames: list[str | None]) -> dict[str, int]:
    """For each top-level function (as in ``last_uses``), the first line of top-level code that
    can call it while the module runs: a statement that names it, or one whose function, lambda or
    class body names it (that body can run from the statement on)."""
    found: dict[str, int] = {}
    for statement, now, later in _top_level_uses(tree, qualnames):
        for function in (now | later).difference(found):
            found[function] = statement.lineno
    return found


def _top_level_uses(tree: ast.Module, qualnames: list[str | None]) -> Iterator[tuple[ast.stmt, set[str], set[str]]]:
    """Each top-level statement with the functions it names as it runs and those its bodies name."""
    definitions = {
        position: (statement.name, qualname)
        for position, (statement, qualname) in enumerate(zip(tree.body, qualnames, strict=True))
        if qualname is not None and isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    holds: dict[str, set[str]] = {}  # before its `def`, a name may stand for any function defined under it
    for name, qualname in definitions.values():
        holds.setdefault(name, set()).add(qualname)
    for position, statement in enumerate(tree.body):
        if position in definitions:  # from here on the name is this definition (a later one replaces it)
            name, qualname = definitions[position]
            holds[name] = {qualname}
        reads = _Reads(statement)
        later = {f for name in reads.later for f in holds.get(name, ())}
        now = {f for name in reads.now for f in holds.get(name, ())}
        yield statement, now, later
        passed = {f for name in reads.passed for f in holds.get(name, ())}
        for name in reads.bound if passed else ():
            holds[name] = holds.get(name, set()) | passed


class _Reads:
    """The names a top-level statement reads as it runs (``now``; ``passed``: those not called
    there, so that what it binds may hold them), reads in bodies that run later (functions,
    lambdas, classes: ``later``), and binds as it runs (``bound``)."""

    def __init__(self, statement: ast.stmt) -> None:
        self.now: set[str] = set()
        self.passed: set[str] = set()
        self.later: set[str] = set()
        self.bound: set[str] = set()
        called = {id(node.func) for node in ast.walk(statement) if isinstance(node, ast.Call)}
        pending: list[tuple[ast.AST, bool]] = [(statement, False)]
        while pending:
            node, deferred = pending.pop()
            if isinstance(node, ast.Name):
                self._name(node, deferred, id(node) in called)
                continue
            for field, value in ast.iter_fields(node):
                body = field == "body" and isinstance(node, _DEFERRING)
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, ast.AST):
                        pending.append((child, deferred or body))

    def _name(self, node: ast.Name, deferred: bool, called: bool) -> None:
        if not isinstance(node.ctx, ast.Load):
            if not deferred:
                self.bound.add(node.id)
        elif deferred:
            self.later.add(node.id)
        else:
            self.now.add(node.id)
            if not called:
                self.passed.add(node.id)


_DEFERRING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
