"""The cheap pass: one ``ast`` walk that maps a module before any libcst work.

It finds what the expensive analysis needs to know about a whole module:
its imports, functions and classes, where transforms are applied (the traced
roots), which module-level names are rebound or mutated, and which parts of
the module contain anything worth a closer look. Only those parts are later
parsed with libcst.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from jaxpure.analysis import jaxapi
from jaxpure.analysis.astvisit import FastNodeVisitor
from jaxpure.analysis.jaxapi import DIFFERENTIATION, STAGING, Transform
from jaxpure.analysis.names import ImportMap, ast_dotted_name, build_import_map, walk_statements
from jaxpure.analysis.programs import eager_only_classes, first_uses, last_uses

ANYTIME = 1 << 30  # the "line" of a change made in a function body: after any definition
_KEY_SOURCE_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in jaxapi.KEY_SOURCES)
_REDEFINED = re.compile(r"@L\d+")
_MUTABLE_CONSTRUCTORS = {"builtins.list": "list", "builtins.dict": "dict", "builtins.set": "set"}
# Python types a union annotation may combine and stay configuration (``index: int | slice``).
# The longest ``[None] * n`` read item by item: a transform's options name a few arguments.
_MOST_REPEATED_ITEMS = 64
_STATIC_UNION_MEMBERS = frozenset({"builtins.bool", "builtins.int", "builtins.str", "builtins.slice"})


# Annotations whose truth is the value's own (an array's, a number's), not "is it there".
_TRUTH_OF_VALUE = frozenset(
    "jax.Array builtins.int builtins.float builtins.bool builtins.complex int float bool complex".split()
)


@dataclass(slots=True)
class Param:
    name: str
    position: int | None  # positional index, None for keyword-only and */** parameters
    annotation: str | None  # qualified name of the annotation (or its subscripted head)
    default: str | None  # "bool" | "int" | "float" | "str" | "None" | "list" | "dict" | "set" | "array" | "other"
    star: str = ""  # "*" or "**" for variadic parameters
    declares_key: bool = False  # annotated as a PRNG key (``key: chex.PRNGKey``, ``PRNGKeyArray``)
    optional: bool = False  # annotated ``X | None``: its truth value may be a presence test
    false_default: bool = False  # defaults to ``False``, ``None``, ``0`` or ``""``
    strings: bool = False  # annotated ``str`` or a collection of them (``tuple[str, ...]``): no tracer
    # Annotated as a union with a Python list or dict among its members (``Array | list[Array]``):
    # a JAX array takes no item assignment at all, so ``x[i] = v`` can only be the container's.
    admits_container: bool = False

    @property
    def may_be_absent(self) -> bool:
        """Defaulting to ``None`` or annotated ``X | None``, for an ``X`` other than an array."""
        return (self.default == "None" or self.optional) and self.annotation not in jaxapi.ARRAY_ANNOTATIONS


@dataclass(slots=True)
class FunctionInfo:
    qualname: str
    name: str
    params: list[Param]
    parent: str | None  # enclosing function's qualname
    class_name: str | None  # the class it is a method of
    top: int  # index of the module statement that contains it
    line: int  # of the ``def``
    span: tuple[int, int] = (0, 0)  # (first line, decorators included; last line): the unit segments.py parses
    local_names: set[str] = field(default_factory=set)  # params and names bound in the body
    calls: set[str] = field(default_factory=set)  # plain names and self.methods it calls
    uses_random: bool = False  # calls a jax.random key consumer, or a function of this module that does
    calls_key_user: bool = False  # calls a function of this module that uses keys (it may consume one)
    key_arguments: set[str] = field(default_factory=set)  # what its jax.random calls consume: ``key``, ``keys[0]``
    repeats_key_argument: bool = False  # two of them consume the same key expression
    key_in_loop: bool = False  # one of them is inside a loop or comprehension
    key_values: set[str] = field(default_factory=set)  # names bound from key/PRNGKey/split/fold_in
    passed_on: dict[str, int] = field(default_factory=dict)  # name -> calls that may consume it are handed it
    passed_in_loop: set[str] = field(default_factory=set)  # ... one of them inside a loop
    calls_lax: bool = False  # calls a jax.lax transform (loops take keys into their bodies)
    builds_compiled: bool = False  # calls a compiling transform's result at once, or builds one in a loop (JP502)
    transforms_lambda: bool = False  # hands a lambda to a transform: the lambda is a traced root
    global_rebinds: set[str] = field(default_factory=set)
    local_values: dict[str, str] = field(default_factory=dict)  # local name -> kind of value bound (value_kind)
    method_kind: str | None = None  # "static" | "class" for @staticmethod / @classmethod
    setter: bool = False  # ``@value.setter`` or ``@value.deleter``: runs when the attribute is assigned
    abstract: bool = False  # a body of nothing but a docstring, ``...``, ``pass`` or ``raise``: overridden elsewhere
    # Annotated to return a Python type no array has (``-> bool``), or returns only truths.
    returns_static: bool = False
    returns_value: bool = False  # returns (or yields) something other than ``None``
    # The classes it tests its values against (``isinstance(x, IrrepsArray)``), qualified.
    narrowed_classes: set[str] = field(default_factory=set)
    narrows_to_scalars: bool = False  # tests ``isinstance(x, float)``, ``isinstance(x, (int, slice))``
    returns_truths_only: bool = True  # every value it returns is a truth: a bool, ``isinstance``, ``any``, ...

    @property
    def flag_params(self) -> frozenset[str]:
        """Parameters with a false default: whether a call passes one decides ``if flag:``."""
        return frozenset(p.name for p in self.params if p.false_default)

    @property
    def source_qualname(self) -> str:
        """The qualname as the code spells it: a function redefined later under the same name
        is kept as ``f@L12`` (its line), so that each ``def`` is its own function."""
        return _REDEFINED.sub("", self.qualname) if "@L" in self.qualname else self.qualname

    @property
    def passes_keys(self) -> bool:
        """Hands a key to calls that may consume it (``prngkeys``) often enough for a reuse: twice,
        once besides a jax.random consumer, or once in a loop."""
        consumed = {argument.split("[")[0] for argument in self.key_arguments}
        for name in self.key_values | consumed:
            uses = self.passed_on.get(name, 0) + (name in consumed)
            if uses >= 2 or (uses and name in self.passed_in_loop):
                return True
        return False

    @property
    def has_receiver(self) -> bool:
        """A method whose first parameter is the instance."""
        return self.class_name is not None and self.method_kind is None

    def param(self, name: str) -> Param | None:
        return next((param for param in self.params if param.name == name), None)

    def positional(self, index: int) -> Param | None:
        return next((param for param in self.params if param.position == index), None)


@dataclass(slots=True)
class ClassInfo:
    qualname: str
    framework: str | None  # "linen" | "nnx" | "equinox" | "haiku" | None
    array_fields: set[str] = field(default_factory=set)
    # nnx fields that hold a Variable or a sub-Module (``self.w = nnx.Param(...)``): the
    # object itself is no array (its truth value is its length, its private attributes
    # are metadata), only what it wraps is.
    variable_fields: set[str] = field(default_factory=set)
    bases: list[str] = field(default_factory=list)
    method_values: set[str] = field(default_factory=set)  # ``self.m`` used other than as a call
    partial_methods: set[str] = field(default_factory=set)  # ``self.m`` used only as ``partial(self.m, ...)``
    fields: set[str] = field(default_factory=set)  # annotated fields of the class body
    # Fields annotated with a type that is never an array (``dense: bool``, an Enum, a Callable):
    # static wherever the object arrives through a transform that traces only arrays.
    non_array_fields: set[str] = field(default_factory=set)
    declared_static: set[str] = field(default_factory=set)  # ``eqx.field(static=True)``: static under any transform
    children: set[str] = field(default_factory=set)  # what its own flatten function returns as the pytree's children
    is_enum: bool = False
    line: int = 0
    field_types: dict[str, str] = field(default_factory=dict)  # annotated field -> qualified annotation
    local_bases: list[str] = field(default_factory=list)  # base classes defined in this module
    # No base, no decorator, no ``tree_flatten``: no pytree, so one leaf that is no array.
    plain: bool = False
    properties: set[str] = field(default_factory=set)  # ``@property`` methods
    self_returning: set[str] = field(default_factory=set)  # methods annotated to return the class itself
    fresh_keys: set[str] = field(default_factory=set)  # properties that return a new key on every access
    # Fields annotated ``X | None`` (no array) or as a Python container (``tuple[int, ...]``): their
    # truth is whether they are there, or their length, whatever they hold.
    presence_fields: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class AppliedFunction:
    """The function a transform is applied to, and what is bound before the transform sees it."""

    function: FunctionInfo
    bound: int = 0  # leading parameters already bound: ``self``, ``partial(f, a)``'s ``a``
    bound_names: frozenset[str] = frozenset()  # parameters ``partial(f, name=...)`` binds


@dataclass(frozen=True, slots=True)
class Application:
    """A transform applied to a function-valued expression, resolved once the module is indexed
    (the function may be defined further down)."""

    # What is handed to the transform: a name, ``self.m``, ``partial(...)``; or the definition the
    # name held at that point, when the name is defined again later.
    argument: ast.expr | FunctionInfo
    transform: Transform
    keywords: list[ast.keyword]  # the transform's options (``static_argnums``, ``in_axes``, ...)
    under: Transform | None  # a staging transform composed around it
    site: FunctionInfo | None  # the function the application is in; None: module level
    enclosing_class: str | None  # the class body it is in, for bare method names
    names: frozenset[str] = frozenset()  # the names the transformed function is bound to here


# The ``if`` branches around a statement, outermost first: (id of the ``if``, 0 body | 1 ``else``).
Branches = tuple[tuple[int, int], ...]


@dataclass(slots=True)
class Root:
    """A function handed to (or decorated by) a transform."""

    function: str  # qualname
    transform: Transform
    static_params: frozenset[str] = frozenset()
    traced_params: frozenset[str] | None = None  # None: every parameter that is not static
    site: str | None = None  # the function in which the transform is applied
    under: Transform | None = None  # a staging transform composed around this one: jit(grad(f))
    hashed_params: frozenset[str] = frozenset()  # static_argnums/argnames: hashed to find the compiled program
    names: frozenset[str] = frozenset()  # the names the transformed function is called by here
    decorated: bool = False  # by a decorator: every call of the function goes through the transform
    container_params: frozenset[str] = frozenset()  # a lax loop body's carry, given as a list or dict

    @property
    def kind(self) -> str:
        return STAGING if self.under is not None else self.transform.kind

    @property
    def compiling(self) -> bool:
        return self.transform.compiling or (self.under is not None and self.under.compiling)

    @property
    def abstract(self) -> bool:
        return self.transform.abstract or (self.under is not None and self.under.abstract)


@dataclass(slots=True)
class ModuleIndex:
    imports: ImportMap
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    roots: list[Root] = field(default_factory=list)
    module_values: dict[str, str] = field(default_factory=dict)  # module-level name -> kind of value
    # Module-level names bound once to what a call returns -> what it calls (``rng = KeyGen(0)``).
    module_instances: dict[str, str] = field(default_factory=dict)
    # Module-level names rebound / mutated in place -> the last line where that can happen
    # (ANYTIME for a function body, which may run whenever it is called).
    rebound_globals: dict[str, int] = field(default_factory=dict)
    mutated_globals: dict[str, int] = field(default_factory=dict)
    module_code_tops: set[int] = field(default_factory=set)  # module statements with code worth analyzing
    top_spans: list[tuple[int, int]] = field(default_factory=list)  # (first line, last line) per statement
    transforms: dict[str, Transform] = field(default_factory=dict)
    # Classes of other project modules this one names (as bases or annotations), by qualified name.
    project_classes: dict[str, ClassInfo] = field(default_factory=dict)
    # The calls of each name (``f(...)``, ``obj.f(...)``) in the module.
    call_sites: dict[str, list[ast.Call]] = field(default_factory=dict)
    # Whole programs (a notebook) only: every line where a module-level name changes (either kind
    # above), ANYTIME included; read with ``last_uses`` (JP106).
    whole_program: bool = False
    change_lines: dict[str, set[int]] = field(default_factory=dict)
    # Whole programs (a notebook) only, from ``programs``: the Module classes it only runs eagerly
    # (not staging), and the last line that can call each top-level function (ANYTIME: from a body).
    eager_only_classes: frozenset[str] = frozenset()
    last_uses: dict[str, int] = field(default_factory=dict)
    # Where the module's own top-level code first can call each top-level function (``programs``),
    # where some module-level name changes at module level: a change before it precedes any trace.
    # Computed when JP106 first asks (``first_use``): it walks the whole module once more.
    first_uses_of: Callable[[], dict[str, int]] | None = None
    _first_uses: dict[str, int] | None = None
    # The method names of this module's classes: those returning a Python value, and all (once asked).
    method_names: tuple[frozenset[str], frozenset[str]] | None = None
    # Module-level names bound once, to True or False, and never again (``JAX_MODE = False``):
    # a branch on one is decided where the module is written (``module_flags``).
    flags: dict[str, bool] = field(default_factory=dict)

    def note_change(self, changes: dict[str, int], name: str, line: int) -> None:
        """``name`` changes at ``line``; ``changes`` (``rebound_globals`` or ``mutated_globals``) keeps the last."""
        changes[name] = max(line, changes.get(name, line))
        if self.whole_program:
            self.change_lines.setdefault(name, set()).add(line)

    def methods_return_static(self, name: str) -> bool:
        """Every method of that name among this module's classes (one at least) is annotated to
        return a Python type no array has: ``term.is_vf_expensive(...)`` on a term of unknown class."""
        return name in self._method_names()[0]

    def defines_method(self, name: str) -> bool:
        """Some class of this module has a method of that name: ``term.scaled(y)`` on a term of
        unknown class may run code in sight."""
        return name in self._method_names()[1]

    def _method_names(self) -> tuple[frozenset[str], frozenset[str]]:
        if self.method_names is None:
            verdicts: dict[str, bool] = {}
            for f in self.functions.values():
                if f.class_name is not None:
                    verdicts[f.name] = verdicts.get(f.name, True) and f.returns_static
            static = frozenset(method for method, returns_static in verdicts.items() if returns_static)
            self.method_names = (static, frozenset(verdicts))
        return self.method_names

    def call_shapes(self, name: str) -> list[tuple[tuple[str | None, str], ...]]:
        """How the module calls ``name``: the shape of each call's arguments."""
        return [_argument_shapes(call) for call in self.call_sites.get(name, ())]

    def function_for_name(self, name: str, scope: str | None) -> FunctionInfo | None:
        """The function a plain name refers to from inside ``scope`` (nested first, then module level)."""
        for outer in self.enclosing_scopes(scope):
            if outer is None:
                found = self.functions.get(name)
                return found if found is not None and found.parent is None and found.class_name is None else None
            nested = self.functions.get(f"{outer}.<locals>.{name}")
            if nested is not None:
                return nested
        return None

    def enclosing_scopes(self, scope: str | None) -> Iterator[str | None]:
        """``scope`` and the functions around it, innermost first, then the module (``None``)."""
        while scope is not None:
            yield scope
            info = self.functions.get(scope)
            scope = info.parent if info else None
        yield None

    def method(self, class_name: str | None, name: str) -> FunctionInfo | None:
        return self.functions.get(f"{class_name}.{name}") if class_name else None

    def resolved_method(self, class_name: str, name: str) -> FunctionInfo | None:
        """The method ``name`` an instance of ``class_name`` runs, when this module settles it:
        defined on the class or a base of this module, concrete, and overridden by no subclass here."""
        found = self._inherited(class_name, name, set())
        if found is None or found.abstract:
            return None
        for other in self.classes.values():
            if (
                other.qualname != found.class_name
                and self.method(other.qualname, name) is not None
                and self._derives_from(other, class_name, set())
            ):
                return None
        return found

    def _inherited(self, class_name: str, name: str, seen: set[str]) -> FunctionInfo | None:
        cls = self.classes.get(class_name)
        if cls is None or class_name in seen:
            return None
        seen.add(class_name)
        found = self.method(class_name, name)
        for base in cls.local_bases:
            found = found or self._inherited(base, name, seen)
        return found

    def _derives_from(self, cls: ClassInfo, ancestor: str, seen: set[str]) -> bool:
        if cls.qualname in seen:
            return False
        seen.add(cls.qualname)
        return any(
            b == ancestor or (b in self.classes and self._derives_from(self.classes[b], ancestor, seen))
            for b in cls.local_bases
        )

    def first_use(self, qualname: str) -> int | None:
        """The first line of the module's own top-level code that can call the top-level function."""
        if self.first_uses_of is None:
            return None
        if self._first_uses is None:
            self._first_uses = self.first_uses_of()
        return self._first_uses.get(qualname)

    def class_of(self, function: FunctionInfo) -> ClassInfo | None:
        return self.classes.get(function.class_name) if function.class_name else None


def build_index(
    tree: ast.Module,
    module_name: str | None = None,
    is_package: bool = False,
    extra_transforms: dict[str, Transform] | None = None,
    project_classes: dict[str, ClassInfo] | None = None,
    whole_program: bool = False,
) -> ModuleIndex:
    """``whole_program``: nothing imports this code (a notebook), so its Module classes that it
    only runs eagerly are known (``programs.eager_only_classes``)."""
    imports = build_import_map(tree, module_name, is_package)
    flags = module_flags(tree.body)
    while True:
        index = ModuleIndex(
            imports=imports, transforms={**jaxapi.TRANSFORMS, **(extra_transforms or {})}, whole_program=whole_program
        )
        index.project_classes = dict(project_classes or {})
        builder = _IndexBuilder(index, flags)
        builder.module_body = set(tree.body) | _main_block_body(tree.body)
        for position, statement in enumerate(tree.body):
            first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])
            index.top_spans.append((first, statement.end_lineno or statement.lineno))
            builder.top = position
            builder.visit(statement)
        rebound = builder.rebound_flags | (flags.keys() & index.rebound_globals.keys())
        flags = {name: value for name, value in flags.items() if name not in rebound}
        if not rebound & builder.flags_used:
            break  # else a branch was decided on a flag bound again after all (rare): index it again
    index.flags = flags
    builder.resolve_pending_roots()
    _propagate_key_use(index)
    top_qualnames: list[str | None] | None = None
    if any(line != ANYTIME for line in (*index.rebound_globals.values(), *index.mutated_globals.values())):
        top_qualnames = _top_level_qualnames(index)
        index.first_uses_of = functools.partial(first_uses, tree, top_qualnames)
    if whole_program:
        modules = {name for name, cls in index.classes.items() if cls.framework and "." not in name}
        transformed_inside = {
            place.split(".")[0] for root in index.roots for place in (root.function, root.site) if place
        }
        index.eager_only_classes = eager_only_classes(tree, modules) - transformed_inside
        index.last_uses = last_uses(tree, top_qualnames or _top_level_qualnames(index), ANYTIME)
    return index


def _top_level_qualnames(index: ModuleIndex) -> list[str | None]:
    """The qualified name of each top-level statement that is a module function's ``def``."""
    top_functions = {
        info.span: qualname
        for qualname, info in index.functions.items()
        if info.parent is None and info.class_name is None
    }
    return [top_functions.get(span) for span in index.top_spans]


def module_flags(body: list[ast.stmt]) -> dict[str, bool]:
    """The names one top-level statement binds to ``True`` or ``False`` (``JAX_MODE = False``),
    and no other top-level statement binds: the candidates for ``ModuleIndex.flags``."""
    flags: dict[str, bool] = {}
    seen: set[str] = set()
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        if target.id not in seen and isinstance(value, ast.Constant) and type(value.value) is bool:
            flags[target.id] = value.value
        else:
            flags.pop(target.id, None)
        seen.add(target.id)
    return flags


def _main_block_body(body: list[ast.stmt]) -> set[ast.stmt]:
    """The statements of ``if __name__ == "__main__":``: module-level code that runs last."""
    found: set[ast.stmt] = set()
    for statement in body:
        test = statement.test if isinstance(statement, ast.If) else None
        if (
            isinstance(statement, ast.If)
            and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        ):
            found.update(statement.body)
    return found


def _propagate_key_use(index: ModuleIndex) -> None:
    """A function that calls a key-consuming function of this module handles keys too."""
    changed = True
    while changed:
        changed = False
        for function in index.functions.values():
            if not function.calls_key_user and _calls_key_user(index, function):
                function.calls_key_user = function.uses_random = changed = True


def _calls_key_user(index: ModuleIndex, function: FunctionInfo) -> bool:
    for name in function.calls:
        if name.startswith("self."):
            callee = index.method(function.class_name, name[5:])
        else:
            callee = index.function_for_name(name, function.qualname)
        if callee is not None and callee.uses_random:
            return True
    return False


def value_kind(node: ast.expr | None, imports: ImportMap) -> str | None:
    """A coarse kind for a default or an assigned value."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None:
            return "None"
        return type(value).__name__ if isinstance(value, bool | int | float | str) else "other"
    if isinstance(node, ast.List | ast.ListComp):
        return "list"
    if isinstance(node, ast.Dict | ast.DictComp):
        return "dict"
    if isinstance(node, ast.Set | ast.SetComp):
        return "set"
    if isinstance(node, ast.Call):
        called = imports.resolve_ast(node.func)
        if called in _MUTABLE_CONSTRUCTORS:
            return _MUTABLE_CONSTRUCTORS[called]
        if called in jaxapi.STATEFUL_RNG_MAKERS:
            return "rng"
        if called == "builtins.object" and not node.args:
            return "sentinel"  # compared by identity only
        if called and (called.startswith("numpy.") or called.startswith("jax.numpy.")):
            return "array"
    return "other"


class _IndexBuilder(FastNodeVisitor):
    def __init__(self, index: ModuleIndex, flags: dict[str, bool]) -> None:
        self.index = index
        self.flags = flags  # module flags taken as written; those found bound again are set aside
        self.flags_used: set[str] = set()  # the flags that decided a branch here
        self.rebound_flags: set[str] = set()  # flags bound by another statement, in the module or a function
        self.imports = index.imports
        self.top = 0
        self.scopes: list[tuple[str, str]] = []  # ("class" | "function", qualname), innermost last
        self.function_stack: list[FunctionInfo] = []
        self.function: FunctionInfo | None = None  # the innermost function we are in (read on most nodes)
        self.loop_depth = 0
        self.composed_under: dict[int, Transform] = {}  # id(inner transform call) -> outer staging transform
        self.pending_roots: list[Application] = []
        self.module_body: set[ast.stmt] = set()
        self.top_level_assigned: set[str] = set()
        self.called_attributes: set[int] = set()  # id() of ``self.m`` nodes that are called
        self.partial_targets: set[int] = set()  # id() of ``self.m`` nodes that ``functools.partial`` binds
        self.called_at_once: set[int] = set()  # id() of calls whose result is called: ``jax.jit(f)(x)``
        self.module_keys: set[str] = set()  # module-level names bound to keys
        self.assigned_to: dict[int, frozenset[str]] = {}  # id() of an assigned call -> the names it is bound to
        # ``f = partial(f, flag=True)``: the partial a name holds at this point, per scope.
        self.live_partials: dict[tuple[str | None, str], ast.Call] = {}
        # The functions a name may be bound to at this point of its scope (a name may be defined
        # again later), each with the ``if`` branches it was defined in: ``if flag: def kernel ...
        # else: def kernel ...`` leaves two.
        self.live_defs: dict[tuple[str | None, str], list[tuple[FunctionInfo, Branches]]] = {}
        self.branches: Branches = ()  # the ``if`` branches around this point
        self.module_defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}  # for flatten functions
        self.class_nodes: dict[str, ast.ClassDef] = {}  # for classes registered as pytrees later on

    def visit_Attribute(self, node: ast.Attribute) -> None:
        """``partial(self._m, ...)``, ``tree_map(self._m, ...)``: a method used as a value."""
        function = self.function
        if (
            function is not None
            and function.class_name is not None
            and id(node) not in self.called_attributes
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            cls = self.index.classes.get(function.class_name)
            if cls is not None:
                (cls.partial_methods if id(node) in self.partial_targets else cls.method_values).add(node.attr)
        self.generic_visit(node)

    # -- scopes -----------------------------------------------------------------

    @property
    def enclosing_class(self) -> str | None:
        """The class whose body we are directly in, if any."""
        return self.scopes[-1][1] if self.scopes and self.scopes[-1][0] == "class" else None

    def _qualname(self, name: str) -> str:
        if not self.scopes:
            return name
        kind, outer = self.scopes[-1]
        return f"{outer}.{name}" if kind == "class" else f"{outer}.<locals>.{name}"

    def _set_aside(self, qualname: str, line: int) -> None:
        """A ``def`` or ``class`` of a name already defined: the earlier one (and what it holds)
        stays a function or class of its own, as ``qualname@L<line>``; the name now means the new one."""
        renamed = f"{qualname}@L{line}"

        def renamed_as(name: str) -> str:
            if name == qualname or name.startswith(f"{qualname}."):
                return renamed + name[len(qualname) :]
            return name

        def rename(name: str | None) -> str | None:
            return renamed_as(name) if name is not None else None

        for old in [k for k in self.index.functions if renamed_as(k) != k]:
            self.index.functions[renamed_as(old)] = self.index.functions.pop(old)
        for old in [k for k in self.index.classes if renamed_as(k) != k]:
            self.index.classes[renamed_as(old)] = self.index.classes.pop(old)
        for function in self.index.functions.values():
            function.qualname, function.parent = renamed_as(function.qualname), rename(function.parent)
            function.class_name = rename(function.class_name)
        for cls in self.index.classes.values():
            cls.qualname = renamed_as(cls.qualname)
        for root in self.index.roots:
            root.function, root.site = renamed_as(root.function), rename(root.site)

    def _shadowed(self) -> set[str]:
        return self.function.local_names if self.function else set()

    def resolve(self, node: ast.expr) -> str | None:
        return self.imports.resolve_ast(node, self._shadowed())

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        qualname = self._qualname(node.name)
        if qualname in self.index.classes:
            self._set_aside(qualname, self.index.classes[qualname].line)
        if self.function:
            self.function.local_names.add(node.name)
        bases = [self.resolve(base) or ast_dotted_name(base) or "" for base in node.bases]
        framework = next((jaxapi.MODULE_BASES[b] for b in bases if b in jaxapi.MODULE_BASES), None)
        if framework is None:  # a subclass of a Module class defined earlier in this module
            framework = next(
                (
                    self.index.classes[b].framework
                    for b in (ast_dotted_name(x) for x in node.bases)
                    if b in self.index.classes
                ),
                None,
            )
        if framework is None:  # or in another module of the project
            framework = next(
                (self.index.project_classes[b].framework for b in bases if b in self.index.project_classes), None
            )
        info = ClassInfo(qualname, framework, bases=bases, line=node.lineno)
        self.class_nodes[qualname] = node
        info.local_bases = [b for b in (ast_dotted_name(x) for x in node.bases) if b in self.index.classes]
        self.index.classes[qualname] = info
        for decorator in node.decorator_list:
            self.visit(decorator)
        known = {**self.index.project_classes, **self.index.classes}
        info.is_enum = any(b in jaxapi.ENUM_BASES or getattr(known.get(b), "is_enum", False) for b in bases)
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                self._note_field(info, statement)
        self.scopes.append(("class", qualname))
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        methods = _methods(node)
        info.properties = {
            method.name
            for method in methods.values()
            if any(ast_dotted_name(d) in ("property", "functools.cached_property") for d in method.decorator_list)
        }
        info.self_returning = {method.name for method in methods.values() if _returns_own_class(method, node.name)}
        info.fresh_keys = {name for name in info.properties if _yields_fresh_keys(methods[name], methods, self.resolve)}
        leaves = _pytree_leaves(methods)
        if leaves is not None:  # its own tree_flatten: every other attribute is aux data, static
            info.declared_static |= _aux_data(info, node, leaves)
            info.children |= leaves
        info.plain = (
            not node.decorator_list
            and all(b == "builtins.object" for b in bases)
            and not node.keywords
            and "tree_flatten" not in methods
        )

    def _note_field(self, info: ClassInfo, statement: ast.AnnAssign) -> None:
        assert isinstance(statement.target, ast.Name)
        name = statement.target.id
        info.fields.add(name)
        head = statement.annotation.value if isinstance(statement.annotation, ast.Subscript) else statement.annotation
        info.field_types[name] = self.resolve(head) or ast_dotted_name(head) or ""
        kind = self._annotation_of(statement.annotation)
        if (kind or "").rsplit(".", 1)[-1] in jaxapi.CONTAINER_NAMES or (
            self._optional_member(statement.annotation) is not None and kind not in _TRUTH_OF_VALUE
        ):
            info.presence_fields.add(name)
        if self._is_array_annotation(statement.annotation):
            info.array_fields.add(name)
        elif self._never_an_array(statement.annotation):
            info.non_array_fields.add(name)
        if self._declares_static(statement.value):
            info.declared_static.add(name)

    def _declares_static(self, value: ast.expr | None) -> bool:
        """``eqx.field(static=True)``, ``struct.field(pytree_node=False)``, ``dataclasses.field(
        metadata=dict(static=True))`` (``register_dataclass``) or ``{"pytree_node": False}``: a
        field kept out of the pytree's leaves, so a Python value under any transform."""
        if not isinstance(value, ast.Call):
            return False
        # By name: ``eqx.field``, ``struct.field``, ``dataclasses.field`` and the helpers projects
        # write after them (``jax_md.dataclasses.static_field``) take the same options.
        name = (self.resolve(value.func) or ast_dotted_name(value.func) or "").rsplit(".", 1)[-1]
        if name == "static_field":
            return True
        if name != "field":
            return False
        options: dict[str, ast.expr] = {k.arg: k.value for k in value.keywords if k.arg}
        metadata = options.get("metadata")
        if isinstance(metadata, ast.Dict):
            for key, item in zip(metadata.keys, metadata.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    options[key.value] = item
        elif isinstance(metadata, ast.Call) and self.resolve(metadata.func) == "builtins.dict":
            options.update((k.arg, k.value) for k in metadata.keywords if k.arg)
        return _is_constant(options.get("static"), True) or _is_constant(options.get("pytree_node"), False)

    def _never_an_array(self, annotation: ast.expr) -> bool:
        """``bool``, ``str``, ``Callable[...]``, an Enum of this module: a type no array has."""
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        qualified = self.resolve(head) or ast_dotted_name(head) or ""
        if qualified in jaxapi.NON_ARRAY_ANNOTATIONS:
            return True
        cls = self.index.classes.get(qualified) or self.index.project_classes.get(qualified)
        return cls is not None and cls.is_enum

    def _is_array_annotation(self, annotation: ast.expr) -> bool:
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        qualified = self.resolve(head) or ""
        if qualified in jaxapi.ARRAY_ANNOTATIONS:
            return True
        return qualified.startswith("jaxtyping.") and qualified.split(".")[-1] in jaxapi.JAXTYPING_DTYPES

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        class_name = self.enclosing_class
        qualname = self._qualname(node.name)
        if qualname in self.index.functions and all(f.qualname != qualname for f in self.function_stack):
            self._set_aside(qualname, self.index.functions[qualname].line)
        parent = self.function
        if parent is not None and class_name is None:
            parent.local_names.add(node.name)
        info = FunctionInfo(
            qualname=qualname,
            name=node.name,
            params=self._params(node.args),
            parent=parent.qualname if parent else None,
            class_name=class_name,
            top=self.top,
            line=node.lineno,
            span=(min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno or node.lineno),
        )
        info.local_names.update(param.name for param in info.params)
        info.key_values.update(param.name for param in info.params if param.declares_key)
        if class_name is not None:
            for decorator in node.decorator_list:
                kind = {"builtins.staticmethod": "static", "builtins.classmethod": "class"}.get(
                    self.resolve(decorator) or ""
                )
                info.method_kind = kind or info.method_kind
                info.setter = info.setter or (
                    isinstance(decorator, ast.Attribute)
                    and decorator.attr in ("setter", "deleter")
                    and ast_dotted_name(decorator.value) == node.name
                )
        info.abstract = class_name is not None and _does_nothing(node.body)
        info.returns_static = _plain_return_annotation(node.returns)
        self.index.functions[qualname] = info
        if class_name is None:
            key = (self._scope_name(), node.name)
            alternatives = [(f, b) for f, b in self.live_defs.get(key, ()) if _other_branch(b, self.branches)]
            self.live_defs[key] = [*alternatives, (info, self.branches)]
            if parent is None:
                self.module_defs[node.name] = node
            self.live_partials.pop((self._scope_name(), node.name), None)
        for decorator in reversed(node.decorator_list):
            self._root_from_decorator(decorator, info)
        if info.class_name is not None:
            self._collect_array_fields(node, info)
        self.function_stack.append(info)
        self.function = info
        self.scopes.append(("function", qualname))
        saved_loops, self.loop_depth = self.loop_depth, 0
        for statement in _reachable(node.body):
            self.visit(statement)
        self.loop_depth = saved_loops
        self.scopes.pop()
        self.function_stack.pop()
        self.function = parent
        if info.returns_value and info.returns_truths_only:
            info.returns_static = True  # every return is a Python bool (or raises): no tracer comes out
        # ``global X`` only rebinds X if the function assigns it.
        for name in info.global_rebinds & info.local_names:
            self.index.note_change(self.index.rebound_globals, name, ANYTIME)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _params(self, args: ast.arguments) -> list[Param]:
        params: list[Param] = []
        positional = [*args.posonlyargs, *args.args]
        defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for position, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
            params.append(self._param(arg, position, default))
        if args.vararg:
            # ``*shape: int``: each element is annotated, so a static type makes the tuple static too
            params.append(Param(args.vararg.arg, None, self._annotation(args.vararg), None, "*"))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            params.append(self._param(arg, None, default))
        if args.kwarg:
            params.append(Param(args.kwarg.arg, None, None, None, "**"))
        return params

    def _param(self, arg: ast.arg, position: int | None, default: ast.expr | None) -> Param:
        annotation = self._annotation(arg)
        return Param(
            arg.arg,
            position,
            annotation,
            value_kind(default, self.imports),
            declares_key=self._declares_key(arg),
            optional=isinstance(arg.annotation, ast.BinOp | ast.Subscript)
            and self._optional_member(arg.annotation) is not None,
            false_default=isinstance(default, ast.Constant) and not default.value,
            strings=annotation in ("builtins.str", "str") or self._strings_only(arg.annotation),
            admits_container=self._admits_container(arg.annotation),
        )

    def _admits_container(self, annotation: ast.expr | None) -> bool:
        """A union annotation with a mutable Python container among its members."""
        if type(annotation) is not ast.BinOp and type(annotation) is not ast.Subscript:
            return False  # no union: most annotations are a plain name
        members = self._union_members(annotation)
        return len(members) > 1 and any(
            (ast_dotted_name(m.value if isinstance(m, ast.Subscript) else m) or "").split(".")[-1]
            in jaxapi.MUTABLE_CONTAINER_NAMES
            for m in members
        )

    def _declares_key(self, arg: ast.arg) -> bool:
        annotation = arg.annotation
        if annotation is None:
            return False
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):  # ``"chex.PRNGKey"``
            return jaxapi.is_key_annotation(annotation.value.split("[")[0].strip())
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        return jaxapi.is_key_annotation(ast_dotted_name(head))

    def _annotation(self, arg: ast.arg) -> str | None:
        return self._annotation_of(arg.annotation)

    def _annotation_of(self, annotation: ast.expr | None) -> str | None:
        if annotation is None:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            return annotation.value.split("[")[0].strip()
        if self._is_array_annotation(annotation):
            return "jax.Array"
        static = self._static_union(annotation)
        if static is not None:
            return static
        optional = self._optional_member(annotation)
        if optional is not None:
            return self._annotation_of(optional)  # ``Model | None``: a Model where it is one
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            # ``Sequence[Array] | Sequence[Quantity]``: one class, whatever it holds
            left = self._annotation_of(annotation.left)
            return left if left == self._annotation_of(annotation.right) else None
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        return self.resolve(head) or ast_dotted_name(head)

    def _strings_only(self, annotation: ast.expr | None) -> bool:
        """``tuple[str, ...]``, ``Sequence[str]``, ``list[str]``: a collection of strings."""
        if not (isinstance(annotation, ast.Subscript) and self.resolve(annotation.value) in _COLLECTIONS):
            return False
        members = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        types = [m for m in members if not (isinstance(m, ast.Constant) and m.value is Ellipsis)]
        return bool(types) and all(self.resolve(m) == "builtins.str" for m in types)

    def _optional_member(self, annotation: ast.expr) -> ast.expr | None:
        """``X | None``, ``None | X``, ``Optional[X]``: the ``X``."""
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            members = [annotation.left, annotation.right]
        elif isinstance(annotation, ast.Subscript) and self.resolve(annotation.value) == "typing.Optional":
            members = [annotation.slice, ast.Constant(None)]
        else:
            return None
        others = [m for m in members if not _is_none(m)]
        return others[0] if len(others) == 1 else None

    def _union_members(self, annotation: ast.expr) -> list[ast.expr]:
        """The members of ``A | B``, ``Union[A, B]``, ``Optional[A]``, in order (``[annotation]``
        for any other annotation)."""
        members: list[ast.expr] = []
        stack = [annotation]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
                stack += [node.right, node.left]
            elif isinstance(node, ast.Subscript) and self.resolve(node.value) in ("typing.Optional", "typing.Union"):
                inner = node.slice
                stack += list(reversed(inner.elts)) if isinstance(inner, ast.Tuple) else [inner]
            else:
                members.append(node)
        return members

    def _static_union(self, annotation: ast.expr) -> str | None:
        """``int | slice``, ``Optional[bool]``, ``Union[int, str]``: a union of static Python
        types is as static as each of them, so it reads as its first member (``builtins.int``)."""
        members = self._union_members(annotation)
        if len(members) < 2 and not (isinstance(annotation, ast.Subscript) and members):
            return None  # not a union: the caller reads a plain annotation as before
        names = []
        for member in members:
            if _is_none(member):
                continue
            qualified = self.resolve(member) or ""
            if qualified not in _STATIC_UNION_MEMBERS:
                return None
            names.append(qualified)
        return next((n for n in names if n != "builtins.slice"), None) or ("builtins.int" if names else None)

    def _collect_array_fields(self, node: ast.FunctionDef | ast.AsyncFunctionDef, info: FunctionInfo) -> None:
        """``self.w = jnp.zeros(...)`` in ``__init__``/``setup`` marks ``w`` as an array field."""
        if node.name not in ("__init__", "setup", "__post_init__") or info.class_name is None:
            return
        cls = self.index.classes[info.class_name]
        fields = cls.array_fields
        for child in walk_statements(node):  # assignments are statements: no expression needs a look
            if not isinstance(child, ast.Assign) or not isinstance(child.value, ast.Call):
                continue
            called = self.imports.resolve_ast(child.value.func) or ""
            if not (called.startswith("jax.") or called.startswith("flax.nnx.")):
                continue
            # nnx.Param(...), nnx.BatchStat(...), nnx.Linear(...): a class, not an array function.
            boxed = called.startswith("flax.nnx.") and called.rsplit(".", 1)[-1][:1].isupper()
            for target in child.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    fields.add(target.attr)
                    if boxed:
                        cls.variable_fields.add(target.attr)

    # -- roots ------------------------------------------------------------------

    def transform_of(
        self, node: ast.expr, qualified: str | None = None
    ) -> tuple[Transform, list[ast.keyword], bool] | None:
        """``(transform, keywords, takes_function_next)`` for an expression that applies a transform.

        ``jax.jit`` → no keywords; ``partial(jax.jit, static_argnums=1)`` and the
        factory ``jax.jit(static_argnames="n")`` → their keywords, and the function
        comes as the first argument of the next call.
        """
        qualified = qualified or self.resolve(node)
        if qualified in self.index.transforms:
            return self.index.transforms[qualified], [], False
        if not isinstance(node, ast.Call):
            return None
        called = self.resolve(node.func)
        if called == "functools.partial" and node.args:
            inner = self.resolve(node.args[0])
            if inner in self.index.transforms and len(node.args) == 1:
                return self.index.transforms[inner], node.keywords, True
        elif called in self.index.transforms and not node.args:
            return self.index.transforms[called], node.keywords, True
        return None

    def _root_from_decorator(self, decorator: ast.expr, function: FunctionInfo) -> None:
        applied = self.transform_of(decorator)
        if applied is None:
            return
        transform, keywords, _ = applied
        self._add_root(
            AppliedFunction(function), transform, keywords, site=self.function, names=frozenset({function.name})
        )
        self.index.roots[-1].decorated = True

    def _add_root(
        self,
        applied: AppliedFunction,
        transform: Transform,
        keywords: list[ast.keyword],
        site: FunctionInfo | None,
        under: Transform | None = None,
        names: frozenset[str] = frozenset(),
    ) -> None:
        function, bound = applied.function, applied.bound
        static: set[str] = set(applied.bound_names)
        static.update(p.name for p in function.params if p.position is not None and p.position < bound)
        traced: set[str] | None = None
        hashed: set[str] = set()
        containers: set[str] = set()
        for keyword in keywords:
            named: set[str] = set()
            if (
                keyword.arg in jaxapi.STATIC_ARGNUMS_KEYWORDS or keyword.arg in jaxapi.STATIC_ARGNAMES_KEYWORDS
            ) and not _written_out(keyword.value):
                # ``static_argnums=static_argnums`` (a test's parameter): which are static is not
                # known here, so any may be; reporting one as traced would be a guess.
                static.update(p.name for p in function.params)
                continue
            if keyword.arg in jaxapi.STATIC_ARGNUMS_KEYWORDS:
                for number in _int_literals(keyword.value):
                    param = function.positional(number + bound if number >= 0 else len(function.params) + number)
                    if param:
                        named.add(param.name)
            elif keyword.arg in jaxapi.STATIC_ARGNAMES_KEYWORDS:
                named.update(_str_literals(keyword.value))
            elif keyword.arg == "in_axes" and transform.kind == STAGING and not transform.compiling:
                axes = _sequence_items(keyword.value)
                for number, axis in enumerate(axes):
                    if _is_none(axis):
                        param = function.positional(number + bound)
                        if param:
                            static.add(param.name)
                if isinstance(keyword.value, ast.Tuple | ast.List):
                    # One axis per positional argument: a parameter past them keeps its default
                    # (a keyword argument would be mapped, and a Python flag cannot be).
                    static.update(
                        p.name
                        for p in function.params
                        if p.position is not None and p.position >= bound + len(axes) and p.default is not None
                    )
            elif keyword.arg == _CONTAINER_CARRY:
                position = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
                param = function.positional(position + bound) if isinstance(position, int) else None
                if param:
                    containers.add(param.name)
            elif keyword.arg == "argnums" and transform.kind == DIFFERENTIATION:
                traced = {p.name for n in _int_literals(keyword.value) if (p := function.positional(n + bound))}
            static |= named
            if keyword.arg in jaxapi.HASHED_STATIC_KEYWORDS:
                hashed |= named
        if transform.kind == DIFFERENTIATION and not transform.all_params_traced and traced is None:
            first = function.positional(bound)
            traced = {first.name} if first else set()
        if transform.arity is not None and traced is None:
            # A scan body gets (carry, x) and nothing else: ``def body(c, x, init_mode=False)``
            # keeps its default there.
            passed = {
                p.name
                for p in function.params
                if p.position is not None and bound <= p.position < bound + transform.arity
            }
            if len(passed) < transform.arity:
                passed |= {p.name for p in function.params if p.star == "*"}
            traced = passed - static
        self.index.roots.append(
            Root(
                function.qualname,
                transform,
                frozenset(static),
                frozenset(traced) if traced is not None else None,
                site.qualname if site else None,
                under,
                frozenset(hashed),
                names,
                container_params=frozenset(containers),
            )
        )

    def _holds_container(self, value: ast.expr | None) -> bool:
        """A list or dict display, or a local or module name bound to one (only)."""
        if isinstance(value, ast.List | ast.Dict):
            return True
        if not isinstance(value, ast.Name):
            return False
        known = self.function.local_values if self.function else self.index.module_values
        return known.get(value.id) in ("list", "dict")

    def _function_argument(
        self, node: ast.expr | FunctionInfo, site: FunctionInfo | None, enclosing_class: str | None
    ) -> AppliedFunction | None:
        """The function a transform is applied to: a name, ``self.method``, or ``partial(fn, ...)``;
        or the definition a name held where the transform was applied (``FunctionInfo``).

        ``site``: the function the transform is applied in (its local names shadow imports).
        """
        if isinstance(node, FunctionInfo):
            return AppliedFunction(node)
        if isinstance(node, ast.Name):
            found = self.index.function_for_name(node.id, site.qualname if site else None)
            if found is None and enclosing_class:
                found = self.index.method(enclosing_class, node.id)
            return AppliedFunction(found) if found else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            found = self.index.method(site.class_name if site else None, node.attr)
            if found is None:
                return None
            return AppliedFunction(found, 0 if found.method_kind == "static" else 1)  # a staticmethod binds no self
        shadowed = site.local_names if site else set()
        if (
            isinstance(node, ast.Call)
            and self.imports.resolve_ast(node.func, shadowed) == "functools.partial"
            and node.args
        ):
            inner = self._function_argument(node.args[0], site, enclosing_class)
            if inner is None:
                return None
            names = frozenset(k.arg for k in node.keywords if k.arg)
            return AppliedFunction(inner.function, inner.bound + len(node.args) - 1, names)
        return None

    def _roots_from_call(self, node: ast.Call, qualified: str | None) -> None:
        """``qualified``: what ``node.func`` resolves to (the caller has it)."""
        applied = self.transform_of(node.func, qualified)
        transform: Transform | None
        if applied is not None and applied[2]:  # partial(jax.jit, ...)(f) / jax.jit(static_argnames=...)(f)
            transform, keywords, _ = applied
            candidates = [(node.args[0], transform)] if node.args else []
        else:
            transform = self.index.transforms.get(qualified) if qualified else None
            if transform is None:
                return
            keywords = node.keywords
            if transform.operands_from is not None and _operands_counted(node):
                # ``lax.cond(p, flip, keep, image)``: a branch gets the operands and nothing
                # else, so ``def flip(image, *, axis=-1)`` keeps its default.
                transform = replace(transform, arity=max(len(node.args) - transform.operands_from, 0))
            if transform.in_axes_arg is not None and transform.in_axes_arg < len(node.args):
                # ``jax.vmap(f, (0, None))`` names in_axes by position: read it like the keyword.
                keywords = [*keywords, ast.keyword(arg="in_axes", value=node.args[transform.in_axes_arg])]
            if transform.carry is not None and self._holds_container(_argument(node, *transform.carry[:2])):
                # ``fori_loop(0, n, body, [a, b])``: the body's carry is a list (JAX keeps the structure).
                keywords = [*keywords, ast.keyword(arg=_CONTAINER_CARRY, value=ast.Constant(transform.carry[2]))]
            candidates = [(node.args[i], transform) for i in transform.function_args if i < len(node.args)]
            if transform.branch_list_arg is not None and transform.branch_list_arg < len(node.args):
                branches = node.args[transform.branch_list_arg]
                candidates += [(b, transform) for b in _sequence_items(branches)]
            for keyword in node.keywords:
                if keyword.arg in ("fun", "f", "body_fun", "cond_fun", "true_fun", "false_fun", "fn"):
                    candidates.append((keyword.value, transform))
        if self.function and transform.name in jaxapi.REBUILD_COMPILES and self._may_compile_afresh(node, transform):
            self.function.builds_compiled = True
        outer = self.composed_under.get(id(node))
        if transform.kind == STAGING:
            outer = transform if outer is None or transform.compiling else outer
        for argument, applied_transform in candidates:
            if isinstance(argument, ast.Lambda):
                if self.function:
                    self.function.transforms_lambda = True
                self._mark_module_code()
                continue
            if isinstance(argument, ast.Call) and outer is not None:
                self.composed_under[id(argument)] = outer
            targets: list[ast.expr | FunctionInfo] = [argument]
            if isinstance(argument, ast.Name):
                # What the name holds here: ``f = partial(f, flag=True); f = jax.jit(f)``, or the
                # ``def f`` before this point when another ``def f`` follows (one per branch).
                key = (self._scope_name(), argument.id)
                partial = self.live_partials.get(key)
                defs: list[ast.expr | FunctionInfo] = [info for info, _ in self.live_defs.get(key, ())]
                targets = [partial] if partial else defs or targets
            # Resolved once the whole module is indexed: the function may be defined further down.
            for each in targets:
                self.pending_roots.append(
                    Application(
                        each,
                        applied_transform,
                        keywords,
                        self.composed_under.get(id(node)),
                        self.function,
                        self.enclosing_class,
                        self.assigned_to.get(id(node), frozenset()),
                    )
                )

    def resolve_pending_roots(self) -> None:
        for application in self.pending_roots:
            argument, site = application.argument, application.site
            defined: list[ast.expr | FunctionInfo] = []
            if isinstance(argument, ast.Name):
                defined.extend(self._final_definitions(argument.id, site))
            for each in defined or [argument]:
                applied = self._function_argument(each, site, application.enclosing_class)
                if applied is not None:
                    self._add_root(
                        applied, application.transform, application.keywords, site, application.under, application.names
                    )
        self.pending_roots.clear()

    def _final_definitions(self, name: str, site: FunctionInfo | None) -> list[FunctionInfo]:
        """The ``def``s a name refers to from ``site`` once their scope has run (the innermost scope
        that defines it; one per ``if`` branch), for a function defined after, or around, the call."""
        for scope in self.index.enclosing_scopes(site.qualname if site else None):
            if defined := self.live_defs.get((scope, name)):
                return [info for info, _ in defined]
        return []

    def _mark_module_code(self) -> None:
        if self.function is None:
            self.index.module_code_tops.add(self.top)

    # -- statements and expressions ----------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Call):
            self.called_at_once.add(id(node.func))
        called = self.resolve(node.func)
        if called == "builtins.isinstance" and self.function is not None and len(node.args) == 2:
            kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            for kind in kinds:
                narrowed = self.resolve(kind) or ast_dotted_name(kind)
                if narrowed in jaxapi.HOST_VALUE_TYPES:
                    self.function.narrows_to_scalars = True
                elif narrowed and not narrowed.startswith("builtins.") and len(kinds) == 1:
                    self.function.narrowed_classes.add(narrowed)
        if (
            called == "functools.partial"
            and node.args
            and isinstance(node.args[0], ast.Attribute)
            and self.function is not None
            and self.function.name not in jaxapi.UNTRACED_MODULE_METHODS
        ):  # built where the Module runs (not stored away in __init__): the partial is its call site
            self.partial_targets.add(id(node.args[0]))
        self._roots_from_call(node, called)
        if called is not None:
            self._note_jax_call(node, called)
        self._note_callee(node, node.lineno)
        if called is None or not called.startswith(jaxapi.NON_CONSUMING_CALLS):
            self._note_passed_keys(node, self.function)
        self._note_module_level_compile(node.func)
        self.generic_visit(node)

    def _note_jax_call(self, node: ast.Call, called: str) -> None:
        """Key consumers (for the key-reuse shortcut), lax loops, and module code that needs a look."""
        function = self.function
        if jaxapi.is_key_consumer(called):
            if function:
                function.uses_random = True
                argument = key_argument_identity(node)
                if argument is not None:
                    function.repeats_key_argument |= argument in function.key_arguments
                    function.key_arguments.add(argument)
                function.key_in_loop |= self.loop_depth > 0
            else:
                self._mark_module_code()
        elif called in jaxapi.REBUILD_COMPILES and function is None and self.loop_depth:
            self._mark_module_code()
        if function and called.startswith("jax.lax.") and called in self.index.transforms:
            function.calls_lax = True
        if called in jaxapi.PYTREE_REGISTRATIONS:
            self._note_registration(node)

    def _note_registration(self, node: ast.Call) -> None:
        """``register_pytree_node(IrrepsArray, lambda x: ((x.array,), x.irreps), ...)``: the class's
        attributes other than the children are aux data, static under every transform."""
        if len(node.args) < 2 or not isinstance(node.args[0], ast.Name):
            return
        cls = self.index.classes.get(node.args[0].id)
        flatten: ast.expr | ast.FunctionDef | ast.AsyncFunctionDef | None = node.args[1]
        if isinstance(flatten, ast.Name):
            flatten = self.module_defs.get(flatten.id)
        elif (
            cls is not None and isinstance(flatten, ast.Attribute) and ast_dotted_name(flatten.value) == node.args[0].id
        ):
            definition = self.class_nodes.get(cls.qualname)  # ``register_pytree_node(P, P._tree_flatten, ...)``
            flatten = _methods(definition).get(flatten.attr) if definition is not None else None
        if cls is None or not isinstance(flatten, ast.Lambda | ast.FunctionDef):
            return
        leaves = flattened_children(flatten)
        if leaves is not None:
            cls.declared_static |= _aux_data(cls, self.class_nodes.get(cls.qualname), leaves)
            cls.children |= leaves

    def _note_callee(self, node: ast.Call, line: int) -> None:
        """The plain names and ``self.methods`` a function calls; container methods called on a name."""
        function = self.function
        func = node.func
        callee_name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if callee_name is not None:
            self.index.call_sites.setdefault(callee_name, []).append(node)
        if function is not None:
            if isinstance(func, ast.Name):
                function.calls.add(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
                function.calls.add(f"self.{func.attr}")
                self.called_attributes.add(id(func))
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.attr in jaxapi.CONTAINER_MUTATORS
        ):
            self._mutates(func.value.id, line)

    def _note_module_level_compile(self, func: ast.expr) -> None:
        """``jax.jit(...)(x)`` at module level: module code JP502 looks at."""
        if isinstance(func, ast.Call) and self.function is None:
            applied = self.transform_of(func.func)
            if applied and applied[0].name in jaxapi.REBUILD_COMPILES:
                self._mark_module_code()

    def _note_passed_keys(self, node: ast.Call, function: FunctionInfo | None) -> None:
        """Names a call is handed: a key among them may be consumed there (``prngkeys``)."""
        if (not node.args and not node.keywords) or (function is None and not self.module_keys):
            return
        passed = _argument_names(node)
        if function is not None:
            for name in passed:
                function.passed_on[name] = function.passed_on.get(name, 0) + 1
            if self.loop_depth:
                function.passed_in_loop |= passed
        elif not passed.isdisjoint(self.module_keys):
            self._mark_module_code()

    def _note_key_values(self, node: ast.Assign) -> None:
        """``k1, k2 = jax.random.split(key)``: the targets hold keys."""
        value = node.value
        if type(value) is not ast.Call:
            return
        func = value.func  # a cheap look at the name first: most calls make no key
        last = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else ""
        if last not in _KEY_SOURCE_NAMES or self.resolve(func) not in jaxapi.KEY_SOURCES:
            return
        names = {name for target in node.targets for name in _assigned_names(target)}
        if self.function is not None:
            self.function.key_values |= names
        else:
            self.module_keys |= names
            self._mark_module_code()

    def _may_compile_afresh(self, node: ast.Call, transform: Transform) -> bool:
        """What JP502 looks for, or more: a transform of a function that may be new each time
        (anything but a module-level function or an import), called at once or built in a loop."""
        if id(node) not in self.called_at_once and not self.loop_depth:
            return False
        # libcst lists keywords among a call's arguments: the rule's first argument may be one.
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        if not arguments or transform.name in jaxapi.ALWAYS_RETRACES:
            return bool(arguments)
        argument = arguments[0]
        if isinstance(argument, ast.Name):
            module_level = argument.id in self.imports.own_names or argument.id in self.imports.aliases
            return not module_level or argument.id in self._shadowed()
        return not isinstance(argument, ast.Attribute)

    def _mutates(self, name: str, line: int) -> None:
        if self.function is None:
            self.index.note_change(self.index.mutated_globals, name, line)
        elif name not in self.function.local_names:
            self.index.note_change(self.index.mutated_globals, name, ANYTIME)

    def _bind(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            if self.function is not None:
                self.function.local_names.add(target.id)
                if target.id in self.flags:
                    self.rebound_flags.add(target.id)  # a local of that name, or ``global`` and bound
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element)
        elif isinstance(target, ast.Starred):
            self._bind(target.value)
        elif isinstance(target, ast.Subscript | ast.Attribute):
            base = target.value
            while isinstance(base, ast.Subscript | ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id != "self":
                self._mutates(base.id, target.lineno)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._note_key_values(node)
        for target in node.targets:
            self._bind(target)
            if not self.scopes and isinstance(target, ast.Name):
                self._module_assignment(target.id, node)
        names = frozenset(t.id for t in node.targets if isinstance(t, ast.Name))
        if self.function is not None and names:
            kind = _display_kind(node.value)
            for name in names:  # a name bound to two kinds of value is neither
                known = self.function.local_values.setdefault(name, kind)
                if known != kind:
                    self.function.local_values[name] = "other"
        if names and isinstance(node.value, ast.Call):
            self.assigned_to[id(node.value)] = names
        self.visit(node.value)
        self._track_partials(names, node.value)
        for target in node.targets:
            if not isinstance(target, ast.Name):
                self.visit(target)

    def _scope_name(self) -> str | None:
        return self.scopes[-1][1] if self.scopes else None

    def _track_partials(self, names: frozenset[str], value: ast.expr) -> None:
        """Remember ``f = partial(f, ...)`` until ``f`` is bound to something else."""
        if not names:
            return
        scope = self._scope_name()
        call = value if isinstance(value, ast.Call) else None
        func = call.func if call is not None else None
        spelled = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        is_partial = (
            call is not None and spelled == "partial" and call.args and self.resolve(call.func) == "functools.partial"
        )
        for name in names:
            if is_partial and call is not None:
                self.live_partials[(scope, name)] = call
            elif (scope, name) in self.live_partials and not (func is not None and self.transform_of(func) is not None):
                del self.live_partials[(scope, name)]  # a transform of it keeps what it wraps

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._bind(node.target)
        if not self.scopes and isinstance(node.target, ast.Name) and node.value:
            self._module_assignment(node.target.id, node)
        if node.value is not None:
            self.visit(node.value)

    def _module_assignment(self, name: str, node: ast.Assign | ast.AnnAssign) -> None:
        """A second plain top-level assignment rebinds, and so does any in a module-level loop
        (``if``/``try`` alternatives do not count)."""
        top_level = node in self.module_body
        if name in self.flags and not top_level:
            self.rebound_flags.add(name)  # bound again in a module-level block
        if (top_level and name in self.top_level_assigned) or self.loop_depth:
            self.index.note_change(self.index.rebound_globals, name, node.lineno)
        if top_level:
            self.top_level_assigned.add(name)
        self.index.module_values[name] = value_kind(node.value, self.imports) or "other"
        called = self.resolve(node.value.func) if isinstance(node.value, ast.Call) else None
        known = self.index.module_instances.setdefault(name, called or "")
        if known != called:
            self.index.module_instances[name] = ""  # bound twice, to different things

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind(node.target)
        if not self.scopes and isinstance(node.target, ast.Name):
            self.index.note_change(self.index.rebound_globals, node.target.id, node.lineno)
        self.visit(node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target)
        self.visit(node.value)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                self._bind(target)

    def visit_Return(self, node: ast.Return | ast.Yield | ast.YieldFrom) -> None:
        if node.value is not None and self.function is not None and not _is_none(node.value):
            self.function.returns_value = True
            if self.function.returns_truths_only and not (isinstance(node, ast.Return) and self._is_truth(node.value)):
                self.function.returns_truths_only = False  # asked no more once one return is no truth
        self.generic_visit(node)

    visit_Yield = visit_YieldFrom = visit_Return

    def _is_truth(self, node: ast.expr) -> bool:
        """A Python truth whatever the values: a bool constant, ``isinstance``/``any``/``all`` or
        ``not`` of anything, or ``and``/``or`` of such."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, bool)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return True  # ``not x`` is a Python bool whatever x is (a tracer raises instead)
        if isinstance(node, ast.BoolOp):
            return all(self._is_truth(value) for value in node.values)
        return isinstance(node, ast.Call) and self.resolve(node.func) in _TRUTH_CALLS

    def visit_Global(self, node: ast.Global) -> None:
        if self.function is not None:
            self.function.global_rebinds.update(node.names)

    def visit_For(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if not isinstance(node, ast.While):
            self._bind(node.target)
            if not self.scopes:  # a module-level loop rebinds its target on every iteration
                for name in _assigned_names(node.target):
                    self.index.note_change(self.index.rebound_globals, name, node.lineno)
                    self.index.module_values.setdefault(name, "other")
            self.visit(node.iter)
        else:
            self.visit(node.test)
        self.loop_depth += 1
        for statement in node.body:
            self.visit(statement)
        self.loop_depth -= 1
        for statement in node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For
    visit_While = visit_For

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        decided = None
        if self.flags and not (self.scopes and self.scopes[-1][0] == "class"):  # a class attribute may shadow it
            decided = self._flag_truth(node.test)
        around = self.branches
        for branch, statements in enumerate((node.body, node.orelse)):
            if decided is not None and decided is not (branch == 0):
                continue  # ``if JAX_MODE:`` in a module that sets it False: Python never runs it
            self.branches = (*around, (id(node), branch))
            for statement in statements:
                self.visit(statement)
        self.branches = around

    def _flag_truth(self, test: ast.expr) -> bool | None:
        """What a test on module flags always is (``FLAG``, ``not FLAG``, ``FLAG and ...``); None: it varies."""
        if isinstance(test, ast.Name):
            value = self.flags.get(test.id)
            if value is None or (self.function is not None and test.id in self.function.local_names):
                return None
            self.flags_used.add(test.id)
            return value
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            value = self._flag_truth(test.operand)
            return None if value is None else not value
        if isinstance(test, ast.BoolOp):
            first = self._flag_truth(test.values[0])
            short = isinstance(test.op, ast.Or)  # ``True or ...`` is True, ``False and ...`` is False
            return first if first is short else None
        return None

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        for condition in node.ifs:
            self.visit(condition)

    def _visit_comprehension_expr(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        for generator in node.generators:
            self.visit(generator)
        self.loop_depth += 1
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.loop_depth -= 1

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension_expr


def _assigned_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _assigned_names(element)]
    return _assigned_names(target.value) if isinstance(target, ast.Starred) else []


def _argument_names(call: ast.Call) -> set[str]:
    """The names a call is handed (``key`` for ``key`` and ``key[0]``, ``self.key``), looking
    into literal tuples, lists and dicts (``rngs={"dropout": key}``)."""
    values: list[ast.expr] = []
    for value in [*call.args, *(keyword.value for keyword in call.keywords)]:
        if isinstance(value, ast.Starred):
            value = value.value
        if isinstance(value, ast.Tuple | ast.List):
            values.extend(value.elts)
        elif isinstance(value, ast.Dict):
            values.extend(value.values)
        else:
            values.append(value)
    names = set()
    for value in values:
        base = value.value if type(value) is ast.Subscript else value
        if type(base) is ast.Name:
            names.add(base.id)
        elif type(base) is ast.Attribute:
            name = ast_dotted_name(base)
            if name:
                names.add(name)
    return names


def _display_kind(node: ast.expr) -> str:
    """``list``/``dict`` for a value evidently built as one here (a display, a comprehension),
    ``lambda`` for a lambda."""
    if isinstance(node, ast.List | ast.ListComp):
        return "list"
    if isinstance(node, ast.Dict | ast.DictComp):
        return "dict"
    if isinstance(node, ast.Lambda):
        return "lambda"
    return "other"


def _argument_shapes(call: ast.Call) -> tuple[tuple[str | None, str], ...]:
    """How a call passes each argument, as ``contexts.bind_arguments`` reads it."""
    positional = tuple((None, "*" if isinstance(a, ast.Starred) else "") for a in call.args)
    return positional + tuple((k.arg, "" if k.arg else "**") for k in call.keywords)


def _methods(node: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {s.name: s for s in node.body if isinstance(s, ast.FunctionDef)}


def _self_attribute(node: ast.expr, self_name: str) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == self_name:
        return node.attr
    return None


def _pytree_leaves(methods: dict[str, ast.FunctionDef]) -> set[str] | None:
    """The attributes a class's own ``tree_flatten`` returns as children (``return [self.t],
    aux``; with keys, ``((key, self.t), ...)``), where that is spelled out; None otherwise. The
    rest of the object travels as aux data: Python values under every transform."""
    flatten = methods.get("tree_flatten_with_keys") or methods.get("tree_flatten")
    if flatten is None or "tree_unflatten" not in methods:
        return None
    return flattened_children(flatten)


def flattened_children(flatten: ast.FunctionDef | ast.Lambda) -> set[str] | None:
    """The attributes of its argument a flatten function returns as children: ``lambda x:
    ((x.array,), x.irreps)`` gives ``{"array"}``; None where it is not spelled out."""
    if not flatten.args.args:
        return None
    obj = flatten.args.args[0].arg
    if isinstance(flatten, ast.Lambda):
        returned, displays = [flatten.body], {}
    else:
        returned = [r.value for r in ast.walk(flatten) if isinstance(r, ast.Return) and r.value is not None]
        displays = {
            target.id: statement.value
            for statement in ast.walk(flatten)
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name)
        }
    leaves: set[str] = set()
    for value in returned:
        if not (isinstance(value, ast.Tuple) and len(value.elts) == 2):
            return None
        children = value.elts[0]
        if isinstance(children, ast.Name):
            children = displays.get(children.id, children)
        if not isinstance(children, ast.List | ast.Tuple):
            return None
        for child in children.elts:
            if isinstance(child, ast.Tuple) and len(child.elts) == 2:  # ``(key, self.t)``
                child = child.elts[1]
            name = _self_attribute(child, obj)
            if name is None:
                return None
            leaves.add(name)
    return leaves if returned else None


_PLAIN_RETURNS = frozenset({"bool", "int", "float", "str", "complex", "bytes"})


def _spelled(annotation: ast.expr | None) -> str | None:
    """An annotation as written, quoted or not: ``-> "IrrepsArray"``, ``-> bool``, ``-> typing.Self``
    (read without resolving: a return annotation is seldom anything else worth the lookup)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.strip()
    return ast_dotted_name(annotation) if annotation is not None else None


def _yields_fresh_keys(getter: ast.FunctionDef, methods: dict[str, ast.FunctionDef], resolve) -> bool:
    """A property getter that splits a key its object keeps and returns a part (``self._rng, key =
    split(self._rng)``), itself or through ``next(self)`` and the class's ``__next__``: every access
    runs it, so every access returns a new key."""
    if _splits_kept_key(getter, resolve):
        return True
    advance = methods.get("__next__")
    return (
        advance is not None
        and _splits_kept_key(advance, resolve)
        and any(
            isinstance(node, ast.Return)
            and isinstance(node.value, ast.Call)
            and ast_dotted_name(node.value.func) in ("next", "self.__next__")
            for node in ast.walk(getter)
        )
    )


def _splits_kept_key(function: ast.FunctionDef, resolve) -> bool:
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
            continue
        if resolve(node.value.func) == "jax.random.split":
            targets = [e for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            if any(isinstance(target, ast.Attribute) for target in targets):
                return True
    return False


# The pseudo-option that says a lax loop body's carry is a list or dict (its parameter's position).
_CONTAINER_CARRY = "<container carry>"


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The argument a call passes at ``position`` or as ``keyword``."""
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _other_branch(earlier: Branches, now: Branches) -> bool:
    """Whether a definition made in the ``earlier`` branches is one the ``now`` branches do not
    replace: they part at one ``if``, one in its body and the other in its ``else``."""
    for (if_then, branch_then), (if_now, branch_now) in zip(earlier, now, strict=False):
        if if_then != if_now:
            return False
        if branch_then != branch_now:
            return True
    return False


def _reachable(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a function body up to and including its first ``raise`` or ``return``.

    Python never runs the statements after it, so the functions they define never exist:
    in a body that raises first, the definitions below the ``raise`` are never made."""
    for position, statement in enumerate(body):
        if isinstance(statement, ast.Raise | ast.Return):
            return body[: position + 1]
    return body


_COLLECTIONS = frozenset(
    """builtins.tuple builtins.list builtins.set builtins.frozenset typing.Tuple typing.List typing.Set
    typing.FrozenSet typing.Sequence typing.Iterable collections.abc.Sequence collections.abc.Iterable
    collections.abc.Set""".split()
)
_TRUTH_CALLS = frozenset({"builtins.isinstance", "builtins.any", "builtins.all"})


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _plain_return_annotation(returns: ast.expr | None) -> bool:
    """``-> bool``, ``-> int``, ``-> "str"``, ``-> tuple[int, int, bool]``: a Python value no array is."""
    if isinstance(returns, ast.Subscript) and _spelled(returns.value) in ("tuple", "Tuple", "typing.Tuple"):
        elements = returns.slice.elts if isinstance(returns.slice, ast.Tuple) else [returns.slice]
        return all(
            (isinstance(e, ast.Constant) and e.value is Ellipsis) or _plain_return_annotation(e) for e in elements
        )
    return _spelled(returns) in _PLAIN_RETURNS


def _returns_own_class(method: ast.FunctionDef, class_name: str) -> bool:
    """``def reshape(self, shape) -> "IrrepsArray"`` (or ``-> Self``) in ``class IrrepsArray``."""
    name = _spelled(method.returns)
    return name is not None and name.rsplit(".", 1)[-1] in (class_name, "Self")


def _aux_data(cls: ClassInfo, definition: ast.ClassDef | None, children: set[str]) -> set[str]:
    """A pytree class's attributes (annotated fields, what ``__init__`` sets) other than the
    children its flatten function returns: aux data, static under every transform."""
    attributes = _attributes_set_in_init(definition) if definition is not None else set()
    return (cls.fields | attributes) - children


def _attributes_set_in_init(node: ast.ClassDef) -> set[str]:
    init = _methods(node).get("__init__")
    if init is None or not init.args.args:
        return set()
    self_name = init.args.args[0].arg
    found: set[str] = set()
    for statement in ast.walk(init):
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if isinstance(statement, ast.AnnAssign | ast.AugAssign):
            targets = [statement.target]
        found.update(name for t in targets if (name := _self_attribute(t, self_name)) is not None)
    return found


def _does_nothing(body: list[ast.stmt]) -> bool:
    """A method body that only documents, passes or raises: an abstract method."""
    return all(
        isinstance(statement, ast.Pass | ast.Raise)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        for statement in body
    )


def _written_out(node: ast.expr) -> bool:
    """A static-arguments spec given as literals (``1``, ``(0, 2)``, ``"axis"``, ``range(1, 3)``,
    ``None``), not through a variable or a call jaxpure cannot evaluate."""
    if _literal_range(node) is not None:
        return True
    items = _sequence_items(node) if isinstance(node, ast.Tuple | ast.List) else [node]
    return all(
        isinstance(item, ast.Constant) or (isinstance(item, ast.UnaryOp) and isinstance(item.operand, ast.Constant))
        for item in items
    )


def _int_literals(node: ast.expr) -> list[int]:
    """``1``, ``(0, -1)``, ``[2]``, and ``range(5, 10)`` with literal bounds."""
    spanned = _literal_range(node)
    if spanned is not None:
        return spanned
    items = _sequence_items(node) if isinstance(node, ast.Tuple | ast.List) else [node]
    numbers = []
    for item in items:
        if isinstance(item, ast.Constant) and isinstance(item.value, int) and not isinstance(item.value, bool):
            numbers.append(item.value)
        elif (
            isinstance(item, ast.UnaryOp)
            and isinstance(item.op, ast.USub)
            and isinstance(item.operand, ast.Constant)
            and isinstance(item.operand.value, int)
        ):
            numbers.append(-item.operand.value)
    return numbers


def _literal_range(node: ast.expr) -> list[int] | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"):
        return None
    if node.keywords or not 1 <= len(node.args) <= 3:
        return None
    bounds = [_int_literals(argument) for argument in node.args]
    if any(
        len(bound) != 1 or isinstance(argument, ast.Tuple | ast.List)
        for bound, argument in zip(bounds, node.args, strict=True)
    ):
        return None
    values = [bound[0] for bound in bounds]
    if len(values) == 3 and values[2] == 0:
        return None
    return list(range(*values))[:64]  # argument positions: a few at most


def _str_literals(node: ast.expr) -> list[str]:
    items = _sequence_items(node) if isinstance(node, ast.Tuple | ast.List) else [node]
    return [item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]


def _is_constant(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _operands_counted(call: ast.Call) -> bool:
    """Whether a lax.cond/switch call spells out its operands one by one (no ``*args``, no
    old-style ``operand=``)."""
    return not any(isinstance(a, ast.Starred) for a in call.args) and not any(
        k.arg in (None, "operand") for k in call.keywords
    )


def _sequence_items(node: ast.expr) -> list[ast.expr]:
    """The items of a tuple or list display, also one spelled with ``+`` and ``*`` on them
    (``in_axes=[0] + [None] * 9``); none where it is anything else."""
    if isinstance(node, ast.Tuple | ast.List):
        return list(node.elts)
    if not isinstance(node, ast.BinOp):
        return []
    if isinstance(node.op, ast.Add):
        left, right = _sequence_items(node.left), _sequence_items(node.right)
        return left + right if left and right else []
    if isinstance(node.op, ast.Mult):
        for sequence, count in ((node.left, node.right), (node.right, node.left)):
            times = count.value if isinstance(count, ast.Constant) and type(count.value) is int else 0
            if 0 < times <= _MOST_REPEATED_ITEMS:
                return _sequence_items(sequence) * times
    return []


def key_argument_identity(call: ast.Call) -> str | None:
    """What a key consumer consumes, spelled as ``keys.py`` tells keys apart (``key``,
    ``self.key``, ``keys[0]``); None where it tracks no key (then it cannot report a reuse).

    Never finer than ``keys.py``: two calls it sees consuming one key always get one spelling here.
    """
    argument = next((k.value for k in call.keywords if k.arg == "key"), None)
    if argument is None:
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        if not positional:
            return None
        argument = positional[0]
    if isinstance(argument, ast.Subscript):
        base = ast_dotted_name(argument.value)
        index = argument.slice
        if base and isinstance(index, ast.Constant) and isinstance(index.value, int):
            return f"{base}[{index.value}]"
        return None
    return ast_dotted_name(argument)
