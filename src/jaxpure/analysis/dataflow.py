"""Traced values: which expressions of a function hold tracers (SPEC §1, "Traced values").

A local name is traced where a traced value bound to it can reach: a binding
reaches the uses after it in the source, and every use inside a loop that
contains it (the next iteration sees it). Branches are not told apart, and
nothing is ever killed: a use is traced if any binding that may reach it is.
That keeps every traced value, while a later ``x, widths = pad(x, widths)``
no longer taints the uses of ``widths`` above it. Functions where no name
has both a traced and an untraced binding take the cheaper flow-insensitive
answer (a name is traced if any value bound to it is), which is the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import libcst as cst

from jaxpure.analysis import jaxapi
from jaxpure.analysis.cstnodes import STRING_LITERALS, is_none
from jaxpure.analysis.cstnodes import code_children as cst_children

# Calls that stage nothing on constants: tree utilities only rearrange leaves,
# ``jax.device_get`` copies to the host (a numpy array under ``jit``, measured), Pallas's
# ``cdiv`` of Python ints is Python's ``(a + b - 1) // b``, and partial evaluation rewrites
# jaxprs into jaxprs (``pe.dce_jaxpr(jaxpr, used)`` gives a jaxpr and a list of bools).
_UNSTAGED_CALLS = (
    "jax.tree",
    "equinox.tree_",
    "jax.device_get",
    "jax.experimental.pallas.cdiv",
    "jax.interpreters.partial_eval.",
    "jax._src.interpreters.partial_eval.",
)
# Libraries whose calls are staged into the program under a compiling transform.
_STAGING_LIBRARIES = ("jax.", "flax.", "equinox.")
Resolver = Callable[[cst.BaseExpression], "str | None"]


@dataclass(slots=True)
class Binding:
    target: str
    source: cst.BaseExpression | None  # None: never traced (imports, except-as, defs)
    iterated: bool = False  # the target takes the elements of ``source``
    element: int | None = None  # the target takes element N of each item (enumerate/zip/items)
    inner: tuple[int, ...] = ()  # then, in a nested target, these positions of that element
    node: cst.CSTNode | None = None  # the statement or expression that binds it (where it takes effect)
    starred: bool = False  # ``first, *rest = xs``: a starred target always takes a list


def string_key(node: cst.Subscript) -> str | None:
    """``d["key"]``'s key."""
    index = node.slice[0].slice if len(node.slice) == 1 else None
    value = index.value if type(index) is cst.Index else None
    key = value.evaluated_value if type(value) is cst.SimpleString else None
    return key if isinstance(key, str) else None


def dotted_name(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.Name:  # type tests: libcst's classes are final, and isinstance on its ABCs is slow
        return node.value
    parts = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def base_name(node: cst.BaseExpression) -> str | None:
    """``x`` for ``x``, ``x.a``, ``x[i]``, ``x.a[i].b``."""
    while isinstance(node, cst.Attribute | cst.Subscript):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})
# Builtins that give the items of their argument again, reordered or in a new container.
_REORDERING = frozenset({"builtins.sorted", "builtins.reversed", "builtins.list", "builtins.tuple"})
# ``zip`` and JAX's own strict one (``zip = util.safe_zip`` in jax's sources): item N of each
# tuple comes from the N-th iterable.
_ZIPS = frozenset({"builtins.zip", "jax._src.util.safe_zip", "jax.util.safe_zip"})
# The expression kinds ``TracedValues._traced`` has a case for. libcst's node classes are final,
# so a type test is the isinstance chain's own test; isinstance on libcst's ABC classes is slow
# when it fails, and a constant failed every case of the chain.
_MAY_HOLD_TRACERS = frozenset(
    {
        cst.Name,
        cst.Attribute,
        cst.Subscript,
        cst.Call,
        cst.BinaryOperation,
        cst.UnaryOperation,
        cst.BooleanOperation,
        cst.Comparison,
        cst.IfExp,
        cst.Tuple,
        cst.List,
        cst.Dict,
        cst.ListComp,
        cst.GeneratorExp,
        cst.DictComp,
        cst.NamedExpr,
        cst.StarredElement,
        cst.Await,
    }
)
_BINDING_NODES = frozenset(
    {
        cst.Assign,
        cst.AnnAssign,
        cst.AugAssign,
        cst.NamedExpr,
        cst.For,
        cst.CompFor,
        cst.WithItem,
        cst.FunctionDef,
        cst.ClassDef,
        cst.ExceptHandler,
    }
)


def iter_own_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node of a function body, not descending into nested functions, classes or lambdas.

    A function's analysis walks its body this way several times (bindings,
    container uses, static arguments, key consumers): the nodes of the last
    few roots are kept, by identity (the entry holds the root, so its id
    cannot be reused while the entry lives).
    """
    entry = _OWN_NODES.get(id(root))
    if entry is not None and entry[0] is root:
        return iter(entry[1])
    nodes = []
    stack = list(reversed(cst_children(root)))
    while stack:
        node = stack.pop()
        nodes.append(node)
        if type(node) in _SCOPES:  # libcst node classes are final: a type test is an isinstance test
            continue
        stack.extend(reversed(cst_children(node)))
    if len(_OWN_NODES) >= 32:
        _OWN_NODES.clear()
    _OWN_NODES[id(root)] = (root, nodes)
    return iter(nodes)


_OWN_NODES: dict[int, tuple[cst.CSTNode, list[cst.CSTNode]]] = {}


def collect_bindings(body: cst.CSTNode) -> list[Binding]:
    bindings: list[Binding] = []
    for node in iter_own_nodes(body):
        if type(node) not in _BINDING_NODES:
            continue  # most nodes bind nothing; skip the chain of isinstance tests
        start = len(bindings)
        if isinstance(node, cst.Assign):
            for target in node.targets:
                _bind(target.target, node.value, bindings)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            _bind(node.target, node.value, bindings)
        elif isinstance(node, cst.AugAssign):
            _bind(node.target, cst.BinaryOperation(node.target, cst.Add(), node.value), bindings)
        elif isinstance(node, cst.NamedExpr):
            _bind(node.target, node.value, bindings)
        elif isinstance(node, cst.For | cst.CompFor):
            _bind_iteration(node.target, node.iter, bindings)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            _bind(node.asname.name, node.item, bindings)
        elif isinstance(node, cst.FunctionDef | cst.ClassDef):
            bindings.append(Binding(node.name.value, None))
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            _bind(node.name.name, None, bindings)
        for binding in bindings[start:]:
            binding.node = node
    return bindings


def _bind(target: cst.BaseExpression, value: cst.BaseExpression | None, out: list[Binding]) -> None:
    if isinstance(target, cst.Name):
        out.append(Binding(target.value, value))
    elif isinstance(target, cst.Tuple | cst.List):
        elements = [e.value for e in target.elements]
        values = value.elements if isinstance(value, cst.Tuple | cst.List) else None
        if (
            values is not None
            and len(values) == len(elements)
            and not any(isinstance(v, cst.StarredElement) for v in values)
        ):
            for element, item in zip(elements, values, strict=True):
                _bind(element, item.value, out)
        elif any(type(e) is cst.StarredElement for e in target.elements):
            for e in target.elements:
                _bind(e.value, value, out)
                if type(e) is cst.StarredElement and type(e.value) is cst.Name:
                    out[-1].starred = True
        else:
            for position, element in enumerate(elements):
                _bind(element, value, out)
                if type(element) is cst.Name:
                    out[-1].element = position  # takes element N of the value
    elif isinstance(target, cst.StarredElement):
        _bind(target.value, value, out)


_LOOPS = frozenset({cst.For, cst.While, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})
_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})


def _comprehension_scopes(body: cst.CSTNode, bindings: list[Binding]) -> dict[int, list[Binding]]:
    """Per use of a name a comprehension's ``for`` binds (by id of the ``Name``), the bindings it
    sees (of ``bindings``, the comprehensions'): those of the innermost comprehension that binds
    it. Its element, its conditions and its later ``for``s are in its scope; its first iterable is
    evaluated outside, so ``[int(x) for x in x.shape]`` iterates the function's ``x`` and converts
    the shape's ints."""
    by_loop: dict[int, list[Binding]] = {}
    for binding in bindings:
        by_loop.setdefault(id(binding.node), []).append(binding)
    scoped: dict[int, list[Binding]] = {}
    for node in iter_own_nodes(body):  # outer comprehensions first: an inner one's names override
        if type(node) not in _COMPREHENSIONS:
            continue
        own: dict[str, list[Binding]] = {}
        loops = list(_generators(cast(cst.ListComp, node)))
        for loop in loops:
            for binding in by_loop.get(id(loop), ()):
                own.setdefault(binding.target, []).append(binding)
        parts: list[cst.CSTNode] = [loop.iter for loop in loops[1:]]
        parts += [condition.test for loop in loops for condition in loop.ifs]
        parts += [node.key, node.value] if isinstance(node, cst.DictComp) else [cast(cst.ListComp, node).elt]
        stack = parts
        while stack:
            current = stack.pop()
            if type(current) is cst.Name and current.value in own:
                scoped[id(current)] = own[current.value]
            elif type(current) not in _SCOPES:
                stack.extend(cst_children(current))
    return scoped


@dataclass(slots=True)
class _Flow:
    """Source order of a function body: where each node starts and ends, and the outermost
    loop around each name (whose later bindings reach it on the next iteration)."""

    spans: dict[int, tuple[int, int]]
    outer_loop: dict[int, int]  # id(name node) -> id(outermost loop node around it)

    def killed(self, binding: Binding, kills: list[tuple[int, int, int]], use: int) -> bool:
        """Whether a rebinding that every path to the use runs (``kills``: its span, then where
        its block ends) lies wholly between ``binding`` and the use: then the use never sees
        what ``binding`` bound. A loop's target is bound before each pass over its body."""
        where = self.spans.get(id(_takes_effect(binding)))
        return where is not None and any(where[1] < start and end < use <= block_end for start, end, block_end in kills)

    def kills(self, rebindings: list[tuple[Binding, cst.CSTNode]], use: int) -> list[tuple[int, int, int]]:
        """The spans of ``rebindings`` (with their blocks' ends) whose block holds the use."""
        found = []
        for binding, block in rebindings:
            span, within = self.spans.get(id(_takes_effect(binding))), self.spans.get(id(block))
            if span is not None and within is not None and within[0] <= use <= within[1]:
                found.append((span[0], span[1], within[1]))
        return found

    def reaches(self, binding: Binding, use: cst.Name) -> bool:
        where = self.spans.get(id(binding.node)) if binding.node is not None else None
        at = self.spans.get(id(use))
        if where is None or at is None:
            return True  # a node outside the walk (a lambda's body): assume it may
        effect = where[1]
        if effect < at[0]:  # the use comes after the whole binding statement
            return True
        loop = self.outer_loop.get(id(use))
        if loop is None:
            return False
        first, last = self.spans[loop]
        return first <= effect <= last


def _takes_effect(binding: Binding) -> cst.CSTNode | None:
    """Where a binding takes effect: a loop's target is bound before each pass over its body."""
    node = binding.node
    return node.target if type(node) is cst.For and binding.iterated else node


def _flow_of(body: cst.CSTNode) -> _Flow:
    spans: dict[int, tuple[int, int]] = {}
    outer_loop: dict[int, int] = {}
    counter = 0
    stack: list[tuple[cst.CSTNode, int | None, int]] = [(body, None, -1)]  # (node, outermost loop, start or -1)
    while stack:
        node, loop, start = stack.pop()
        if start >= 0:
            spans[id(node)] = (start, counter - 1)
            continue
        kind = type(node)
        spans[id(node)] = (counter, counter)
        if kind is cst.Name and loop is not None:
            outer_loop[id(node)] = loop
        stack.append((node, loop, counter))
        counter += 1
        if kind in _SCOPES and node is not body:
            continue
        inner = id(node) if loop is None and kind in _LOOPS else loop
        stack.extend((child, inner, -1) for child in reversed(cst_children(node)))
    return _Flow(spans, outer_loop)


def _bind_iteration(target: cst.BaseExpression, iterable: cst.BaseExpression, out: list[Binding]) -> None:
    if isinstance(target, cst.Name):
        out.append(Binding(target.value, iterable, iterated=True))
        return
    if not isinstance(target, cst.Tuple | cst.List):
        return
    elements = [e.value for e in target.elements]
    for position, element in enumerate(elements):
        for name, inner in _positions_in(element):
            out.append(Binding(name, iterable, iterated=True, element=position, inner=inner))


def _positions_in(target: cst.BaseExpression) -> list[tuple[str, tuple[int, ...]]]:
    """The names of a (nested) unpacking target, each with its position inside it: ``(a, (b, c))``
    gives ``a (0,)``, ``b (1, 0)``, ``c (1, 1)``. Behind a starred element positions are unknown:
    such names take the whole of what they unpack (position ``()``)."""
    if isinstance(target, cst.Name):
        return [(target.value, ())]
    if not isinstance(target, cst.Tuple | cst.List) or any(type(e) is cst.StarredElement for e in target.elements):
        return [(name, ()) for name in _names_in(target)]
    return [
        (name, (position, *inner))
        for position, element in enumerate(target.elements)
        for name, inner in _positions_in(element.value)
    ]


def _names_in(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [name for e in target.elements for name in _names_in(e.value)]
    if isinstance(target, cst.StarredElement):
        return _names_in(target.value)
    return []


def lambdas_bound_once(bindings: list[Binding]) -> dict[str, cst.Lambda]:
    """Names bound once, to a lambda: a call of one holds what its body returns."""
    bound = Counter(binding.target for binding in bindings)
    return {
        b.target: b.source
        for b in bindings
        if type(b.source) is cst.Lambda and bound[b.target] == 1 and not b.iterated and b.element is None
    }


def _block_rebindings(body: cst.CSTNode, bindings: list[Binding]) -> dict[str, list[tuple[Binding, cst.CSTNode]]]:
    """The bindings made by an assignment statement of a block (the body's, a loop's, a
    branch's), with that block, by name: every later use in the block sees the assignment.
    A ``for`` loop's target too, with the loop's body: each pass binds it before running the
    body, so there ``i`` is the loop's (``for i in range(n): accs[i] += v`` in a ``fori_loop``
    body whose own ``i`` is a tracer)."""
    block_of: dict[int, cst.CSTNode] = {
        id(small): block
        for block in (body, *iter_own_nodes(body))
        if type(block) is cst.IndentedBlock
        for statement in block.body
        if type(statement) is cst.SimpleStatementLine
        for small in statement.body
        if type(small) is cst.Assign or type(small) is cst.AnnAssign
    }
    found: dict[str, list[tuple[Binding, cst.CSTNode]]] = {}
    for binding in bindings:
        node = binding.node
        # A ``for`` statement's target takes effect in its loop's body (a comprehension's: nowhere here).
        loop_body = node.body if type(node) is cst.For else None
        block = loop_body if binding.iterated else block_of.get(id(node))
        if block is not None:
            found.setdefault(binding.target, []).append((binding, block))
    return found


def _mixed(bindings: list[Binding], traced: set[int], initial: set[str], params: Iterable[str], is_traced) -> bool:
    """Whether some local name has a traced binding and an untraced one (an untraced parameter
    counts): only there can the order of bindings change an answer. The fixpoint skips the
    bindings of a name once it is traced: those of names with a traced binding are settled here."""
    candidates = {b.target for b in bindings if id(b) in traced} - initial
    if not candidates:
        return False
    if any(name in candidates for name in params):
        return True
    return any(
        b.target in candidates and b.source is not None and id(b) not in traced and not is_traced(b) for b in bindings
    )


def _mapped(node: cst.Call) -> tuple[cst.BaseExpression | None, list[cst.BaseExpression]]:
    """A tree map's (or reduce's) function, given first or as ``f=``, and what it hands that
    function: the trees (``*trees`` too) and a reduction's ``initializer``; keyword options such
    as ``is_leaf`` are neither."""
    function = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "f"), None)
    handed = [a for a in node.args if a.keyword is None or a.keyword.value == "initializer"]
    if function is None and handed and handed[0].keyword is None and not handed[0].star:
        function, handed = handed[0].value, handed[1:]
    return function, [a.value for a in handed]


def _comparison_pairs(node: cst.Comparison):
    left = node.left
    for target in node.comparisons:
        yield left, target
        left = target.comparator


# Operands a JAX array never compares with elementwise: strings (Python falls back to identity)
# and tuple, list, dict and set displays (JAX raises TypeError rather than convert them).
_PLAIN_LITERALS = (*STRING_LITERALS, cst.Tuple, cst.List, cst.Dict, cst.Set)


def _static_comparison(left: cst.BaseExpression, target: cst.ComparisonTarget) -> bool:
    """``is``/``in`` never give a tracer, and neither does ``==``/``!=`` against a string,
    ``None`` or a container display: a JAX array returns NotImplemented for a string and Python
    falls back to identity, a plain bool (``site["type"] == "sample"``, ``precision != None``);
    against a tuple or list it raises TypeError, so a comparison that works compares Python values
    (``spec.axes == ("batch", None)``)."""
    operator = target.operator
    if isinstance(operator, cst.Is | cst.IsNot | cst.In | cst.NotIn):
        return True
    if isinstance(operator, cst.Equal | cst.NotEqual):
        return any(isinstance(side, _PLAIN_LITERALS) or is_none(side) for side in (left, target.comparator))
    return False


class TracedValues:
    """Answers "does this expression hold a tracer?" inside one function."""

    def __init__(
        self,
        resolve: Resolver,
        traced_names: set[str],
        compiling: bool,
        active: bool,
        self_name: str | None = None,
        array_fields: frozenset[str] | set[str] = frozenset(),
        framework: str | None = None,
        returns_traced: Callable[[cst.Call, bool], bool | None] | None = None,
    ) -> None:
        self.resolve = resolve
        self.names = traced_names
        self.compiling = compiling
        self.active = active  # False outside traced contexts: nothing is a tracer there
        self.self_name = self_name
        self.array_fields = array_fields
        self.framework = framework
        self.returns_traced = returns_traced
        self._memo: dict[int, bool] = {}
        self.frozen = False
        self.variable_fields: frozenset[str] | set[str] = frozenset()  # nnx Variable/sub-Module fields
        # Per parameter of a known class, its fields that are static there (``opts.dense``).
        self.static_fields: dict[str, frozenset[str]] = {}
        self.returns_traced_at: Callable[[cst.Call, int], bool | None] | None = None
        self.known_receiver: Callable[[cst.BaseExpression], bool] = lambda receiver: False
        self.is_enum_class: Callable[[str], bool] = lambda qualified: False
        self.sentinels: frozenset[str] = frozenset()  # module-level ``object()`` markers it can see
        self.methods_return_static: Callable[[str], bool] = lambda method: False
        self.defines_method: Callable[[str], bool] = lambda method: False
        self.narrowed_static: frozenset[int] = frozenset()  # reads an isinstance test makes static, by id
        # The nodes inside ``with jax.ensure_compile_time_eval():``, by id: JAX evaluates calls there
        # at trace time, so on constants they give concrete arrays, even in a compiled body.
        self.trace_time_nodes: frozenset[int] = frozenset()
        # Locals holding a fresh dict: a JAX array is no key of one (unhashable, eagerly too), so
        # ``d[k]`` holds what ``d`` holds, whatever ``k`` is.
        self.dict_names: frozenset[str] = frozenset()
        self.initial_names = frozenset(traced_names)  # traced parameters and closure values
        # Parameters holding objects of no class jaxpure knows: what their attributes hold is a
        # guess, and a guess is no finding (SPEC §8): such attributes are taken as untraced.
        self.unknown_objects: frozenset[str] = frozenset()
        self.flow: _Flow | None = None  # set where uses must see only the bindings that reach them
        # Per name, its bindings by an assignment statement of a block, with that block: every
        # later use in the block sees that value, not an earlier one.
        self.rebinds: dict[str, list[tuple[Binding, cst.CSTNode]]] = {}
        self.traced_bindings: set[int] = set()
        # Locals bound once, to a lambda (``has_axis = lambda leaf: hasattr(leaf, "axis")``): a call
        # of one holds what its body returns.
        self.lambdas: dict[str, cst.Lambda] = {}
        self.closure_lambdas: dict[str, cst.Lambda] = {}  # the same, of enclosing functions
        self.by_name: dict[str, list[Binding]] = {}  # every binding of the body, per name
        self.params: frozenset[str] = frozenset()  # the function's parameters (``solve``)
        # A comprehension has its own scope (Python 3): a use of a name its ``for`` binds, by id,
        # sees only those bindings, and they do not reach the function's name of the same spelling.
        self.comprehension_names: dict[int, list[Binding]] = {}
        # A framework Module's entry (``TracedContext.module_entry``): not compiled here, but meant
        # to run under its users' ``jit``, where iterating a JAX array yields tracers.
        self.module_entry = False
        self._evident_names: dict[str, bool] = {}  # answers per local name, once solved
        self._asking: set[str] = set()  # names whose evidence is being asked (bindings may be cyclic)
        self._evident_memo: dict[int, bool] = {}  # answers per expression node, by id, once solved
        self._cycle_cut = False  # whether an answer being computed met a name still being asked

    def is_variable_box(self, node: cst.BaseExpression) -> bool:
        """``self.w`` where an nnx Module holds a Variable (or a sub-Module): an object around
        the array, whose truth value is its length and whose private attributes are metadata."""
        return (
            self.framework == "nnx"
            and isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self.self_name
            and node.attr.value in self.variable_fields
        )

    def note_bindings(self, bindings: list[Binding]) -> None:
        """The body's bindings by name (``by_name``), asked before solving too (``only_binding``)."""
        self.by_name = {}
        for binding in bindings:
            if type(binding.node) is not cst.CompFor:  # a comprehension's own name (``comprehension_names``)
                self.by_name.setdefault(binding.target, []).append(binding)

    def solve(self, bindings: list[Binding], body: cst.CSTNode | None = None, params: Iterable[str] = ()) -> None:
        """Grow the traced names to a fixpoint over the bindings, then memoize answers.

        Where some name has both a traced and an untraced binding (``body`` given), solve
        again with each use seeing only the bindings that reach it."""
        if not self.active:
            self.frozen = True
            return
        initial = set(self.names)
        self.params = frozenset(params)
        self.note_bindings(bindings)
        inner = [b for b in bindings if type(b.node) is cst.CompFor]
        if inner:  # a comprehension's names are its own: the fixpoint is over the function's
            bindings = [b for b in bindings if type(b.node) is not cst.CompFor]
            if body is not None:
                self.comprehension_names = _comprehension_scopes(body, inner)
        self.lambdas = {name: function for name, function in self.closure_lambdas.items() if name not in self.by_name}
        self.lambdas.update(lambdas_bound_once(bindings))
        traced = self._fixpoint(bindings)
        rebinds = _block_rebindings(body, bindings) if body is not None else {}
        # A traced parameter rebound to a Python value before it is read: ``x = tree_structure(x)``.
        rebound_static = any(
            name in initial and not all(self._binding_traced(binding) for binding, _ in rebound)
            for name, rebound in rebinds.items()
        )
        if body is not None and (rebound_static or _mixed(bindings, traced, initial, params, self._binding_traced)):
            self.flow = _flow_of(body)
            self.rebinds = rebinds
            self.names = initial
            self.traced_bindings = set()
            self._fixpoint(bindings)
        self.frozen = True

    def _fixpoint(self, bindings: list[Binding]) -> set[int]:
        traced: set[int] = set()
        changed = True
        while changed:
            changed = False
            for binding in bindings:
                if id(binding) in traced or binding.source is None:
                    continue
                if self.flow is None and binding.target in self.names:
                    continue
                if self._binding_traced(binding):
                    traced.add(id(binding))
                    self.traced_bindings.add(id(binding))
                    self.names.add(binding.target)
                    changed = True
        return traced

    def _name_traced(self, node: cst.Name) -> bool:
        name = node.value
        if self.flow is None or name not in self.by_name or id(node) not in self.flow.spans:
            return name in self.names  # not a use in this body's walk: a lambda's parameter, say
        use = self.flow.spans[id(node)][0]
        kills = self.flow.kills(self.rebinds.get(name, []), use)
        if name in self.initial_names and not any(end < use for _, end, _ in kills):
            return True  # a traced parameter or closure value reaches every use no rebinding precedes
        return any(
            id(binding) in self.traced_bindings
            and self.flow.reaches(binding, node)
            and not self.flow.killed(binding, kills, use)
            for binding in self.by_name[name]
        )

    def _binding_traced(self, binding: Binding) -> bool:
        source = binding.source
        if not binding.iterated:
            if (
                binding.element is not None
                and type(source) is cst.Call
                and binding.element in jaxapi.STATIC_RESULT_ELEMENTS.get(self.resolve(source.func) or "", ())
            ):
                return False
            if binding.element is not None and type(source) is cst.Call and self.returns_traced_at is not None:
                known = self.returns_traced_at(source, binding.element)
                if known is not None:
                    return known  # ``x, widths = pad(x, widths)``: the callee returns each position
            return self.traced(source)
        if self._module_array_elements(binding):
            return True
        position = () if binding.element is None else (binding.element, *binding.inner)
        return self._items_traced(source, position, set())

    def _items_traced(self, source: cst.BaseExpression | None, position: tuple[int, ...], seen: set[str]) -> bool:
        """Whether iterating ``source`` may give a tracer at ``position`` of each item (the whole
        item where empty): ``for e, (row, lo) in enumerate([(0, d[0]), (n - 1, d[-1])])`` binds
        ``row`` to part 0 of the list's tuples, ``0`` and ``n - 1``."""
        if type(source) is cst.Name:
            name = source.value
            if name in self.dict_names:
                return False  # ``for k in d``: a dict's keys, hashable, so never JAX arrays
            bound = self.only_binding(name) if position and name not in seen | self.params else None
            if bound is not None:  # ``pairs = tree_leaves_with_path(x)``; ``for path, leaf in pairs``
                return self._items_traced(bound, position, seen | {name})
        if type(source) is cst.Subscript and position and _is_slice(source):
            return self._items_traced(source.value, position, seen)  # ``pairs[::-1]``: the same items
        if isinstance(source, cst.List | cst.Tuple) and position:
            parts = [_part_at(e.value, position) if type(e) is cst.Element else None for e in source.elements]
            if all(part is not None for part in parts):  # ``[(0, x), (1, y)]``: each tuple's own part
                return any(self.traced(part) for part in parts)
        if type(source) is cst.Call:
            known = self._call_items_traced(source, position, seen)
            if known is not None:
                return known
        return self.traced(source)

    def _call_items_traced(self, source: cst.Call, position: tuple[int, ...], seen: set[str]) -> bool | None:
        """What iterating a call's result gives at ``position`` of each item, where the call says."""
        called = self.resolve(source.func)
        args = [a.value for a in source.args if not a.keyword]
        first, rest = (position[0], position[1:]) if position else (None, ())
        if called in _REORDERING and len(args) == 1 and not source.args[0].star:
            # ``for k, f in sorted(fields.items())``: the same items, in another order
            return self._items_traced(args[0], position, seen)
        if called == "builtins.enumerate":
            if first is None:
                return bool(args) and self.traced(args[0])
            return first != 0 and bool(args) and self._items_traced(args[0], rest, seen)
        if called in _ZIPS and first is not None:
            return first < len(args) and self._items_traced(args[first], rest, seen)
        if called == "builtins.range":
            return False
        if called in jaxapi.KEY_PATH_LEAVES and first == 0:
            return False  # ``for path, leaf in tree_leaves_with_path(x)``: key paths, static tuples of keys
        if isinstance(source.func, cst.Attribute) and source.func.attr.value == "keys":
            return False  # a dict's keys are hashable: never JAX arrays
        if isinstance(source.func, cst.Attribute) and source.func.attr.value == "items":
            return first != 0 and self.traced(source.func.value)
        return None

    def traced(self, node: cst.BaseExpression | None) -> bool:
        if node is None or not self.active:
            return False
        if self.frozen:
            key = id(node)
            known = self._memo.get(key)
            if known is None:
                known = self._memo[key] = self._traced(node)
            return known
        return self._traced(node)

    def _traced(self, node: cst.BaseExpression) -> bool:  # one case per expression kind
        if type(node) not in _MAY_HOLD_TRACERS:
            return False  # constants, strings, lambdas, f-strings, ... (without the isinstance chain below)
        if isinstance(node, cst.Name):
            if id(node) in self.narrowed_static:
                return False
            scoped = self.comprehension_names.get(id(node))
            if scoped is not None:
                return any(self._binding_traced(binding) for binding in scoped)
            return self._name_traced(node)
        if isinstance(node, cst.Attribute):
            if node.attr.value in jaxapi.STATIC_ATTRIBUTES or node.attr.value.endswith("_shape"):
                return False  # ``.shape``, and the ecosystem's ``event_shape``/``batch_shape`` tuples
            if type(node.value) is cst.Name and node.attr.value in self.static_fields.get(node.value.value, ()):
                return False
            if id(node) in self.narrowed_static:
                return False
            if (
                type(node.value) is cst.Name
                and node.value.value in self.unknown_objects
                and node.attr.value not in jaxapi.ARRAY_ATTRIBUTES
            ):
                return False
            if isinstance(node.value, cst.Name) and node.value.value == self.self_name and self.framework:
                return node.attr.value in self.array_fields
            if node.attr.value.startswith("_") and self.is_variable_box(node.value):
                return False  # ``self.mean._can_update``: the nnx Variable's own metadata
            return self.traced(node.value)
        if isinstance(node, cst.Subscript):
            if type(node.value) is cst.Name and node.value.value in self.dict_names:
                if string_key(node) in self.static_fields.get(node.value.value, ()):
                    return False  # ``kwargs["block_k"]`` of a transformed ``partial(f, block_k=128)``
                return self.traced(node.value)
            # A constant array indexed by a tracer gives a tracer too.
            return self.traced(node.value) or any(
                isinstance(e.slice, cst.Index) and self.traced(e.slice.value) for e in node.slice
            )
        if isinstance(node, cst.Call):
            return self._call_traced(node)
        if isinstance(node, cst.BinaryOperation):
            if self._is_set(node.left) or self._is_set(node.right):
                return False  # ``set(dims) - set(other)``: a set operation gives a set
            return self.traced(node.left) or self.traced(node.right)
        if isinstance(node, cst.UnaryOperation):
            return not isinstance(node.operator, cst.Not) and self.traced(node.expression)
        if isinstance(node, cst.BooleanOperation):
            return self.traced(node.left) or self.traced(node.right)
        if isinstance(node, cst.Comparison):
            if all(
                _static_comparison(left, c) or self._enum_comparison(left, c) or self._dtype_comparison(left, c)
                for left, c in _comparison_pairs(node)
            ):
                return False
            return self.traced(node.left) or any(self.traced(c.comparator) for c in node.comparisons)
        if isinstance(node, cst.IfExp):
            return self.traced(node.body) or self.traced(node.orelse)
        if isinstance(node, cst.Tuple | cst.List):
            return any(self.traced(e.value) for e in node.elements)
        if isinstance(node, cst.Dict):
            return any(
                (isinstance(e, cst.DictElement) and self.traced(e.value))
                or (isinstance(e, cst.StarredDictElement) and self.traced(e.value))
                for e in node.elements
            )
        # A comprehension holds what its element holds: iterating over a traced array yields
        # traced elements (bound by the ``for``), but ``[k.shape[0] for k in kernels]`` holds ints.
        if isinstance(node, cst.ListComp | cst.GeneratorExp):
            return self.traced(node.elt)
        if isinstance(node, cst.DictComp):
            return self.traced(node.value)
        if isinstance(node, cst.NamedExpr):
            return self.traced(node.value)
        if isinstance(node, cst.StarredElement):
            return self.traced(node.value)
        if isinstance(node, cst.Await):
            return self.traced(node.expression)
        return False  # constants, strings, lambdas, f-strings, ...

    def evidently_traced(self, node: cst.BaseExpression | None) -> bool:
        """Traced by evidence, not by a guess (SPEC §8): reached from a traced parameter or
        closure value through names, subscripts, operators, displays, an array's attributes and
        methods, and calls given such a value, or a JAX call staged with nothing traced. Not
        through an attribute of an object whose structure is not in sight (``sys.link_parents``,
        ``describe(params).periodic`` may be aux data), nor into a function that is handed one:
        a guess carried into a callee would be a finding on code that may hold no tracer."""
        if node is None or not self.traced(node):
            return False
        if type(node) is cst.Name:
            scoped = self.comprehension_names.get(id(node))
            if scoped is not None:
                return any(
                    self._binding_traced(b) and (self._module_array_elements(b) or self.evidently_traced(b.source))
                    for b in scoped
                )
            return self._evident_name(node.value)
        known = self._evident_memo.get(id(node))
        if known is None:
            cut, self._cycle_cut = self._cycle_cut, False
            known = self._evident(node)
            if not self._cycle_cut:
                self._evident_memo[id(node)] = known  # the same question, asked again by another rule
            self._cycle_cut = (cut or self._cycle_cut) and bool(self._asking)
        return known

    def _evident(self, node: cst.BaseExpression) -> bool:
        if type(node) is cst.Attribute:
            return self._evident_attribute(node)
        if type(node) is cst.Subscript:
            return self.evidently_traced(node.value) or any(
                type(e.slice) is cst.Index and self.evidently_traced(e.slice.value) for e in node.slice
            )
        if type(node) is cst.Call:
            return self._evident_call(node)
        if type(node) is cst.IfExp:
            return self.evidently_traced(node.body) or self.evidently_traced(node.orelse)
        if isinstance(node, cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp):
            element = node.value if isinstance(node, cst.DictComp) else node.elt
            return self.evidently_traced(element) or any(self.evidently_traced(f.iter) for f in _generators(node))
        return any(self.evidently_traced(operand) for operand in _operands(node))

    def _evident_attribute(self, node: cst.Attribute) -> bool:
        if node.attr.value in jaxapi.ARRAY_ATTRIBUTES:
            return self.evidently_traced(node.value)  # ``x.T``
        if type(node.value) is not cst.Name:
            return False
        holder = self._aliased(node.value.value)
        if holder == self.self_name:
            # A Module's field (``traced`` asked which hold arrays), or one the class declares an array
            # or returns among its pytree's children; any other attribute of a plain object may be aux data.
            return bool(self.framework) or node.attr.value in self.array_fields
        if holder in self.initial_names:
            return True  # a field of a parameter: ``traced`` asked what its class keeps static
        built = self._built_with(holder, node.attr.value)
        return built is not None and self.evidently_traced(built)

    def evident_names(self) -> frozenset[str]:
        """The traced names that hold a tracer by evidence: what a nested function may take as its
        closure's traced values (a guess does not become evidence by crossing into a closure)."""
        return frozenset(name for name in self.names if self._evident_name(name))

    def _evident_name(self, name: str) -> bool:
        bindings = self.by_name.get(name)
        if not bindings or name in self.initial_names:
            return name in self.initial_names  # a traced parameter or closure value, evidence by itself
        known = self._evident_names.get(name)
        if known is not None:
            return known
        if name in self._asking:
            self._cycle_cut = True  # ``x = x + v`` in a loop: this binding adds nothing to itself
            return False
        self._asking.add(name)
        cut, self._cycle_cut = self._cycle_cut, False
        try:
            known = any(
                binding.source is not None and self._binding_traced(binding) and self.evidently_traced(binding.source)
                for binding in bindings
            )
        finally:
            self._asking.discard(name)
        if known or not self._cycle_cut:
            self._evident_names[name] = known  # an answer that no pending question cut short
        self._cycle_cut = (cut or self._cycle_cut) and bool(self._asking)  # none pending: exact again
        return known

    def only_binding(self, name: str) -> cst.BaseExpression | None:
        """What a local is bound to, where it is bound once, to the whole of a value."""
        bindings = self.by_name.get(name, [])
        if len(bindings) != 1 or bindings[0].iterated or bindings[0].element is not None or bindings[0].starred:
            return None
        return bindings[0].source

    def _aliased(self, name: str) -> str:
        """The name a local only ever copies (``dist1 = self``: ``self``), else the name itself."""
        seen = {name}
        source = self.only_binding(name)
        while type(source) is cst.Name and source.value not in seen:
            name = source.value
            seen.add(name)
            source = self.only_binding(name)
        return name

    def _built_with(self, name: str, field: str) -> cst.BaseExpression | None:
        """``state = SimpleNamespace(buf=x)``: what ``state.buf`` was built with."""
        call = self.only_binding(name)
        if type(call) is not cst.Call:
            return None
        return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == field), None)

    def _evident_call(self, node: cst.Call) -> bool:
        arguments = [a.value for a in node.args]
        if any(self.evidently_traced(a) for a in arguments):
            return not self._unseen_callee(node)
        func = node.func
        called = self.resolve(func)
        if called is not None and called.startswith(_STAGING_LIBRARIES):
            # Staged into a compiled program, whatever it is given (``jnp.cos(fn(x))``), or given nothing traced.
            return self._staged(node, called) or not any(self.traced(a) for a in arguments)
        # ``x.sum()``, ``params.get("w")``, a method of a class of the module: what the receiver holds.
        return type(func) is cst.Attribute and self.evidently_traced(func.value)

    def _staged(self, node: cst.Call, called: str) -> bool:
        """A JAX call that a compiled program stages: a tracer even on constants (measured)."""
        return self.compiling and self._staged_in_jit(called) and id(node) not in self.trace_time_nodes

    @staticmethod
    def _staged_in_jit(called: str) -> bool:
        return called.startswith(_STAGING_LIBRARIES) and not called.startswith(_UNSTAGED_CALLS)

    def _module_array_elements(self, binding: Binding) -> bool:
        """``for x in jnp.linspace(0, rate, depth)`` in a Module's entry: under the ``jit`` it is
        meant to run in, a JAX array's elements are tracers, whatever it was built from."""
        source = binding.source
        if not (self.module_entry and binding.iterated and type(source) is cst.Call):
            return False
        called = self.resolve(source.func)
        return called is not None and self._staged_in_jit(called)

    def _unseen_callee(self, node: cst.Call) -> bool:
        """A callable whose code is not in sight: a parameter holding one (``is_leaf(x)``,
        ``fn(x)``), or a method of an object the function holds (a parameter, a local, a field of
        ``self``) of no class jaxpure knows (``self.learner.update(p)``, ``obj.check(x)``). That
        it returns a tracer when handed one is a guess, and a guess is no evidence (SPEC §8).
        The module's own functions and methods, a sub-Module of ``self``, a method named as one
        of the module's own, a Module built and applied at once (``Dense(4)(x)``), an object of
        the module's top level, and a local bound to a callable (``for layer in self.layers: x =
        layer(x)``, the idiom of a stack of Modules) are taken as in sight."""
        func = node.func
        if type(func) is cst.Name:
            unseen = func.value in self.params and func.value not in self.by_name
        elif type(func) is cst.Attribute:
            receiver = func.value
            holder = receiver
            while type(holder) is cst.Attribute:
                holder = holder.value
            # An object the function holds (not a module, as in ``jnp.tanh``), of a class not in sight.
            unseen = (
                type(holder) is cst.Name
                and (holder.value == self.self_name or holder.value in self.params or holder.value in self.by_name)
                and not (
                    (type(receiver) is cst.Name and receiver.value == self.self_name)
                    or self.defines_method(func.attr.value)
                    or self.known_receiver(receiver)
                    or self.evidently_traced(receiver)
                )
            )
        else:
            return False
        # Asked last, as the costliest: JAX's own functions, and the module's whose returns are known.
        return (
            unseen
            and self.resolve(func) is None
            and (self.returns_traced is None or self.returns_traced(node, True) is None)
        )

    def _enum_comparison(self, left: cst.BaseExpression, target: cst.ComparisonTarget) -> bool:
        """``layout == Layout.ROWS``: a JAX array compared with a member of a plain Enum gets
        NotImplemented and Python falls back to identity, a plain ``False`` (an ``IntEnum`` member
        compares elementwise, as an int does: not this). So does ``state == sentinel`` with a
        module-level ``sentinel = object()``."""
        if not isinstance(target.operator, cst.Equal | cst.NotEqual):
            return False
        for side in (left, target.comparator):
            if type(side) is cst.Name and side.value in self.sentinels:
                return True
            if type(side) is cst.Attribute:
                qualified = self.resolve(side.value) or dotted_name(side.value)
                if qualified is not None and self.is_enum_class(qualified):
                    return True
        return False

    def _dtype_comparison(self, left: cst.BaseExpression, target: cst.ComparisonTarget) -> bool:
        """``x.dtype == jnp.float32``, ``dtype != np.dtype("int32")``: an array compared with a
        scalar type or a dtype answers with a Python bool (measured under jit), whatever it holds."""
        return isinstance(target.operator, cst.Equal | cst.NotEqual) and any(
            self._is_dtype(side) for side in (left, target.comparator)
        )

    def _is_set(self, node: cst.BaseExpression) -> bool:
        """A set display, comprehension, ``set()``/``frozenset()`` or a set method's result: no set
        holds a tracer (tracers are unhashable: ``{x}`` raises TypeError under jit, measured)."""
        if type(node) in (cst.Set, cst.SetComp):
            return True
        if type(node) is not cst.Call:
            return False
        if type(node.func) is cst.Attribute and node.func.attr.value in jaxapi.SET_ONLY_METHODS:
            return True
        return self.resolve(node.func) in ("builtins.set", "builtins.frozenset")

    def _is_dtype(self, node: cst.BaseExpression) -> bool:
        if type(node) is cst.Attribute and node.attr.value == "dtype":
            return True
        if type(node) is cst.Call:
            return self.resolve(node.func) in ("jax.numpy.dtype", "numpy.dtype")
        qualified = self.resolve(node) if type(node) is cst.Attribute else None
        if qualified is None or not qualified.startswith(("jax.numpy.", "numpy.")):
            return False
        return qualified.rsplit(".", 1)[1] in jaxapi.DTYPE_NAMES

    def _tree_map_traced(self, node: cst.Call) -> bool:
        """``tree_map(f, tree, ...)`` holds what ``f`` returns on the leaves: a lambda that
        answers a Python question (``lambda v: v is None``) gives Python values."""
        function, _ = _mapped(node)
        if type(function) is not cst.Lambda:
            return any(self.traced(a.value) for a in node.args)
        return self._lambda_returns_traced(function, self.trees_traced(node))

    def trees_traced(self, node: cst.Call) -> bool:
        """Whether the trees a ``tree_map``/``tree_reduce`` call hands its function hold a tracer."""
        _, trees = _mapped(node)
        return any(self.traced(tree) for tree in trees)

    def leaves_evident(self, node: cst.Call) -> list[bool] | None:
        """Per tree a tree map hands its function, in order, whether its leaves are traced by
        evidence (``tree_map(f, flags, params)`` calls ``f(flag, leaf)``); None where ``*trees``
        leaves the order unknown."""
        if any(a.star for a in node.args):
            return None
        _, trees = _mapped(node)
        return [self.evidently_traced(tree) for tree in trees]

    def _lambda_returns_traced(self, function: cst.Lambda, params_traced: bool) -> bool:
        params = {p.name.value for p in (*function.params.posonly_params, *function.params.params)}
        saved_names, saved_frozen = self.names, self.frozen
        self.names = saved_names | params if params_traced else saved_names - params
        self.frozen = False  # answers under these parameters must not be memoized for the body's nodes
        try:
            return self._traced(function.body)
        finally:
            self.names, self.frozen = saved_names, saved_frozen

    def _map_traced(self, node: cst.Call) -> bool:
        """``map(f, xs)`` yields what ``f`` returns on the items: ``sum(map(nbytes, arrays))``,
        with ``nbytes`` returning ``x.size * x.dtype.itemsize``, adds Python ints."""
        if len(node.args) < 2 or any(a.star or a.keyword for a in node.args):
            return True
        function, iterables = node.args[0].value, [a.value for a in node.args[1:]]
        if type(function) is cst.Lambda:
            return self._lambda_returns_traced(function, any(self.traced(i) for i in iterables))
        # The call ``map`` makes, built to ask (never memoized: its id is not the body's).
        return self._call_traced(cst.Call(func=function, args=[cst.Arg(i) for i in iterables]))

    def _call_traced(self, node: cst.Call) -> bool:
        if self._is_set(node):
            return False
        args_traced = any(self.traced(a.value) for a in node.args)
        func = node.func
        if type(func) is cst.Name and func.value in self.lambdas and func.value not in self.initial_names:
            function = self.lambdas.pop(func.value)  # out of the table meanwhile: a lambda may call itself
            try:
                return self._lambda_returns_traced(function, args_traced)
            finally:
                self.lambdas[func.value] = function
        if type(func) is cst.Call and self.resolve(func.func) in jaxapi.STATIC_RESULT_TRANSFORMS:
            return False  # ``jax.make_jaxpr(f)(x)``: a jaxpr, its variables Python objects
        called = self.resolve(func)
        if called is not None:
            if called in jaxapi.STATIC_JAX_FUNCTIONS or called.startswith("jax.debug."):
                return False
            if called in jaxapi.STATIC_ECOSYSTEM_FUNCTIONS or called in jaxapi.STATIC_STDLIB_FUNCTIONS:
                return False  # ``eqx.is_array(x)``: a Python bool about x, never a tracer
            if called == "jax.lax.psum" and node.args and type(node.args[0].value) is cst.Integer:
                return False  # ``lax.psum(1, axis)``: the axis size, a Python int (measured)
            if called.startswith("builtins."):
                short = called[len("builtins.") :]
                if short in jaxapi.STATIC_BUILTINS or short in jaxapi.CONCRETIZING_BUILTINS:
                    return False
                if short in jaxapi.TRUTH_BUILTINS:
                    return False  # a Python bool (JP404 when it has to bool() traced elements)
                if short == "map" and args_traced:
                    return self._map_traced(node)
                return args_traced
            if called.startswith("numpy."):
                return False  # reported by JP501 where it matters; its result is a host value
            if called in jaxapi.TREE_MAPS:
                return self._tree_map_traced(node)
            if called.startswith(_STAGING_LIBRARIES):
                return args_traced or self._staged(node, called)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in ("item", "tolist", "keys"):
                return False  # Python values; a mapping's keys are hashable, and no tracer is
            if method in jaxapi.STR_ONLY_METHODS:
                return False  # no JAX array has the method: a str (or list) method's plain result
            if method in jaxapi.STATIC_ATTRIBUTES:
                return False  # ``dist.shape(sample_shape)``: an array's shape is no method; static metadata
            receiver = func.value
            if self.returns_traced is not None and self.known_receiver(receiver):
                known = self.returns_traced(node, args_traced or self.traced(receiver))
                if known is not None:
                    return known  # a method of a known class: what its body returns
            if method not in jaxapi.ARRAY_METHODS and self.methods_return_static(method):
                return False  # whatever class the receiver is of here, the method answers in a Python value
            if self.framework == "linen" and isinstance(receiver, cst.Name) and receiver.value == self.self_name:
                if method in ("param", "variable"):
                    return True
                if method in jaxapi.LINEN_STATIC_METHODS:
                    return False  # ``self.has_variable(...)``: a question about the Module, a bool
            if (method in jaxapi.ARRAY_METHODS or method in jaxapi.HOLDING_METHODS) and self.traced(receiver):
                return True
        if self.returns_traced is not None:
            known = self.returns_traced(node, args_traced)
            if known is not None:
                return known
        return args_traced


def _is_slice(node: cst.Subscript) -> bool:
    """``xs[1:]``, ``xs[::-1]``: a sequence of some of the same items."""
    return len(node.slice) == 1 and type(node.slice[0].slice) is cst.Slice


def _part_at(value: cst.BaseExpression, position: tuple[int, ...]) -> cst.BaseExpression | None:
    """The part of a (nested) tuple or list display at ``position``; None where the display has
    no such plain part (too short, or a starred element moves the positions)."""
    for index in position:
        if not isinstance(value, cst.Tuple | cst.List) or index >= len(value.elements):
            return None
        if any(type(e) is cst.StarredElement for e in value.elements):
            return None
        value = value.elements[index].value
    return value


def _generators(node: cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp) -> Iterator[cst.CompFor]:
    loop: cst.CompFor | None = node.for_in
    while loop is not None:
        yield loop
        loop = loop.inner_for_in


def _operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The values an operator, display or comparison combines."""
    if isinstance(node, cst.BinaryOperation | cst.BooleanOperation):
        return [node.left, node.right]
    if isinstance(node, cst.UnaryOperation):
        return [node.expression]
    if isinstance(node, cst.Await):
        return [node.expression]
    if isinstance(node, cst.Comparison):
        return [node.left, *(c.comparator for c in node.comparisons)]
    if isinstance(node, cst.Tuple | cst.List):
        return [e.value for e in node.elements]
    if isinstance(node, cst.Dict):
        return [e.value for e in node.elements]
    if isinstance(node, cst.NamedExpr | cst.StarredElement):
        return [node.value]
    return []
