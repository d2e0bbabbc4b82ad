"""JP2xx: in-place mutation, which traced arrays and transformed arguments do not support."""

from __future__ import annotations

import libcst as cst

from jaxpure.analysis import jaxapi
from jaxpure.analysis.cstnodes import STRING_LITERALS, all_params, names_read
from jaxpure.analysis.dataflow import base_name, iter_own_nodes
from jaxpure.analysis.jaxapi import DIFFERENTIATION
from jaxpure.analysis.prngkeys import target_names
from jaxpure.analysis.rules.base import TRACED, Rule, RuleContext

_AT_METHODS = {
    cst.AddAssign: "add",
    cst.SubtractAssign: "subtract",
    cst.MultiplyAssign: "multiply",
    cst.DivideAssign: "divide",
    cst.PowerAssign: "power",
}


def _subscript_targets(node: cst.Assign) -> list[cst.Subscript]:
    return [t.target for t in node.targets if isinstance(t.target, cst.Subscript)]


def _container_param(target: cst.Subscript, ctx: RuleContext) -> str | None:
    """The parameter a subscript assignment mutates, when it is evidently a container (SPEC §7)."""
    base = target.value
    if isinstance(base, cst.Name) and ctx.is_param(base.value) and ctx.container_param(base.value):
        return base.value
    return None


def _sanctioned_state_update(target: cst.Subscript, ctx: RuleContext) -> bool:
    """``self.count[...] += 1`` on an nnx Module is a Variable update, not a mutation.

    So is any item update of state the Module holds (``self.stats[path][...] = u``, a
    Variable in an nnx dict)."""
    module_class = ctx.module_class
    if module_class is None or module_class.framework != "nnx":
        return False
    base = target.value
    while isinstance(base, cst.Subscript | cst.Attribute):
        if isinstance(base, cst.Attribute) and ctx.is_self(base.value):
            return True
        base = base.value
    return False


def _whole_value_index(target: cst.Subscript) -> bool:
    """``ref[...] = x``: the write idiom of mutable boxes (``jax.Ref``, nnx Variables, Pallas
    refs); a JAX array would be rebound instead (``x = v``), never written whole in place."""
    return (
        len(target.slice) == 1
        and isinstance(target.slice[0].slice, cst.Index)
        and isinstance(target.slice[0].slice.value, cst.Ellipsis)
    )


def _nnx_receiver(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """``self.insert(...)``/``self[k] = v`` in an nnx Module method: the Module is mutable
    graph state that nnx transforms track (as JP105 treats ``self.attr = v``), no argument."""
    module_class = ctx.module_class
    return module_class is not None and module_class.framework == "nnx" and ctx.is_self(node)


def _is_array_update(target: cst.Subscript, statement: cst.CSTNode, ctx: RuleContext) -> bool:
    """An item update on what is evidently a traced array (SPEC §8): a traced value indexed
    with no string, and not a container parameter (JP203), a Python list or dict, or nnx state.
    Only such a target may be reported, so only such a target is ever rewritten to ``.at[]``."""
    if not ctx.traced(target.value) or _container_param(target, ctx) or _sanctioned_state_update(target, ctx):
        return False
    if (
        _whole_value_index(target)
        or _string_index(target, statement, ctx)
        or _item_updated_functionally(target, statement)
    ):
        return False
    if isinstance(target.value, cst.Name):
        base = target.value.value
        return not (
            ctx.python_container(base) or ctx.is_reference(base) or _annotated_maybe_container(base, statement, ctx)
        )
    holder = base_name(target.value)  # ``metadata_ref.offsets[i] = v``: a field of a pytree of refs is one
    return holder is None or not ctx.is_reference(holder)


def _annotated_maybe_container(name: str, statement: cst.CSTNode, ctx: RuleContext) -> bool:
    """A parameter annotated ``Array | list[Array]`` and not rebound before ``statement``: a JAX
    array rejects item assignment eagerly and under every transform, so the code means the list."""
    function = ctx.function
    if function is None or not any(p.name == name and p.admits_container for p in function.params):
        return False
    return not _rebound_before(name, statement, ctx)


def _rebound_before(name: str, statement: cst.CSTNode, ctx: RuleContext) -> bool:
    """Some binding of ``name`` may run before ``statement``: one above it, or one in a loop around it."""
    line = ctx.line(statement)
    loops = [ctx.span(loop) for loop in _enclosing_loops(statement, ctx)]
    for binding, _ in _local_bindings(statement, ctx).get(name, ()):
        at = ctx.line(binding)
        if at < line or any(first <= at <= last for first, _, last, _ in loops):
            return True
    return False


def _enclosing_loops(node: cst.CSTNode, ctx: RuleContext) -> list[cst.CSTNode]:
    """The ``for``/``while`` loops around ``node`` in its function, innermost first."""
    loops: list[cst.CSTNode] = []
    parent = ctx.parent(node)
    while parent is not None and not isinstance(parent, cst.FunctionDef):
        if isinstance(parent, cst.For | cst.While):
            loops.append(parent)
        parent = ctx.parent(parent)
    return loops


def _item_updated_functionally(target: cst.Subscript, statement: cst.CSTNode) -> bool:
    """``xs[i] = xs[i].at[j].set(v)``: the item is the array, updated the JAX way, so ``xs`` holds
    arrays (a list or a dict) and is no array itself."""
    value = statement.value if isinstance(statement, cst.Assign) else None
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
        return False
    updated = value.func.value
    return (
        isinstance(updated, cst.Subscript)
        and isinstance(updated.value, cst.Attribute)
        and updated.value.attr.value == "at"
        and updated.value.value.deep_equals(target)
    )


def _string_index(target: cst.Subscript, statement: cst.CSTNode, ctx: RuleContext) -> bool:
    """``site["log_prob"] = v``, ``tree[name] = v`` with ``name = "w"``, ``act[self.block_name] = v``
    with a ``str`` field: no array takes a string index, so the target is a dict, whatever call it
    came from."""
    for element in target.slice:
        index = element.slice.value if isinstance(element.slice, cst.Index) else None
        if isinstance(index, STRING_LITERALS):
            return True
        if isinstance(index, cst.Name) and (
            _string_constant(index.value, statement, ctx) or _mapping_key(index.value, statement, ctx)
        ):
            return True
        if isinstance(index, cst.Attribute) and _string_field(index, ctx):
            return True
    return False


def _string_field(node: cst.Attribute, ctx: RuleContext) -> bool:
    """``self.block_name`` where the class annotates the field ``str``."""
    cls = ctx.module_class
    return cls is not None and ctx.is_self(node.value) and cls.field_types.get(node.attr.value) in _STR_ANNOTATIONS


_STR_ANNOTATIONS = frozenset({"str", "builtins.str"})


def _string_constant(name: str, node: cst.CSTNode, ctx: RuleContext) -> bool:
    """A local bound only to string literals (``name = "w"``, ``for name in ("w", "b"):``), or
    a module-level string constant the function does not shadow."""
    if ctx.is_param(name):
        return False
    if not ctx.is_local(name):
        return ctx.index.module_values.get(name) == "str"
    values = [value for _, taken in _local_bindings(node, ctx).get(name, ()) for value in taken]
    return bool(values) and all(isinstance(value, STRING_LITERALS) for value in values)


def _mapping_key(name: str, node: cst.CSTNode, ctx: RuleContext) -> bool:
    """A local bound only as a mapping's key (``for name, metric in metrics.items():``, ``for name
    in params.keys():``): what it indexes is keyed like that mapping, a dict, not an array."""
    bindings = _local_bindings(node, ctx).get(name, ())
    return bool(bindings) and all(isinstance(loop, cst.For) and _binds_mapping_key(loop, name) for loop, _ in bindings)


def _binds_mapping_key(loop: cst.For, name: str) -> bool:
    iterated, target = loop.iter, loop.target
    if not (isinstance(iterated, cst.Call) and isinstance(iterated.func, cst.Attribute)):
        return False
    method = iterated.func.attr.value
    if method == "keys":
        return isinstance(target, cst.Name) and target.value == name
    first = target.elements[0].value if isinstance(target, cst.Tuple) and len(target.elements) == 2 else None
    return method == "items" and isinstance(first, cst.Name) and first.value == name


Bindings = dict[str, list[tuple[cst.CSTNode, list[cst.BaseExpression | None]]]]


def _local_bindings(node: cst.CSTNode, ctx: RuleContext) -> Bindings:
    """By name, each statement or loop of the function around ``node`` that binds it, with the
    values it binds: the expression of ``name = value``, each item of ``for name in ("w", "b")``,
    and None where the value is not one expression (an unpacking, a loop over anything else)."""
    found: Bindings = {}
    for child in iter_own_nodes(ctx.function_body(node)):
        if isinstance(child, cst.Assign):
            for target in child.targets:
                plain = isinstance(target.target, cst.Name)
                for name in target_names(target.target):
                    found.setdefault(name, []).append((child, [child.value if plain else None]))
        elif isinstance(child, cst.For):
            items = child.iter.elements if isinstance(child.iter, cst.Tuple | cst.List) else None
            taken: list[cst.BaseExpression | None] = (
                [item.value for item in items] if items and isinstance(child.target, cst.Name) else [None]
            )
            for name in target_names(child.target):
                found.setdefault(name, []).append((child, taken))
        elif isinstance(child, cst.AnnAssign | cst.AugAssign | cst.NamedExpr):
            for name in target_names(child.target):
                found.setdefault(name, []).append((child, [None]))
    return found


class ItemAssignmentOnTracedArray(Rule):
    """`x[i] = v` on a traced array.

    ## What it does
    Flags item assignment on a value that is evidently a traced array: a JAX
    array inside `jit`, `vmap`, `grad` and the other transforms, indexed with
    anything but a string. A string index (a literal, or a local or module
    constant holding one) means a dict, whatever call returned it, and so does
    a mapping's key (`for name, v in metrics.items(): values[name] = ...`); an
    item updated the JAX way (`xs[i] = xs[i].at[j].set(v)`) means `xs` holds
    arrays (a list or a dict) and is none itself. A parameter annotated as a
    union with a list or dict in it (`x: Array | list[Array]`), not rebound
    before the assignment, is that container: an array takes no item
    assignment at all. A Pallas
    kernel's parameters are mutable references, written that way on purpose
    (so are the bodies' parameters of `pl.kernel`, `pltpu.emit_pipeline` and
    `pl.run_scoped`, the refs a kernel unpacks, and the fields of a pytree of
    refs: `meta_ref.offsets[i] = v`), and a `lax` loop body's carry, given to the loop as a list or dict
    (`fori_loop(0, n, body, [a, b])`), is that list or dict in the body.

    ## Why is this bad?
    JAX arrays are immutable. Under a transform the assignment raises
    `TypeError: JAX arrays are immutable`; on a NumPy input it silently mutates
    the caller's array in eager code only.

    ## Example
    ```python
    import jax

    @jax.jit
    def zero_first(x):
        x[0] = 0.0
        return x
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def zero_first(x):
        x = x.at[0].set(0.0)
        return x
    ```

    ## Fix safety
    The fix rewrites the statement to `x = x.at[i].set(v)`; it is not offered for
    `self.x[i] = v`, several targets, or starred targets.
    """

    code = "JP201"
    name = "item-assignment-on-traced-array"
    message = "JAX arrays are immutable; use x = x.at[i].set(v)"
    scope = TRACED
    nodes = (cst.Assign,)
    fixable = True

    def check(self, node: cst.Assign, ctx: RuleContext) -> None:
        for target in _subscript_targets(node):
            if _is_array_update(target, node, ctx):
                ctx.report(node, self)
                return


class AugmentedItemAssignmentOnTracedArray(Rule):
    """`x[i] += v` (and `-=`, `*=`, `/=`, `**=`) on a traced array.

    ## What it does
    Flags augmented item assignment on a traced value.

    ## Why is this bad?
    JAX arrays are immutable: under a transform this raises a `TypeError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def bump(x):
        x[0] += 1.0
        return x
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def bump(x):
        x = x.at[0].add(1.0)
        return x
    ```

    ## Fix safety
    The fix rewrites to the matching `.at[...]` method (`add`, `subtract`,
    `multiply`, `divide`, `power`).
    """

    code = "JP202"
    name = "augmented-item-assignment-on-traced-array"
    message = "JAX arrays are immutable; use x = x.at[i].{method}(v)"
    scope = TRACED
    nodes = (cst.AugAssign,)
    fixable = True

    def check(self, node: cst.AugAssign, ctx: RuleContext) -> None:
        target = node.target
        if isinstance(target, cst.Subscript) and _is_array_update(target, node, ctx):
            ctx.report(node, self, method=_AT_METHODS.get(type(node.operator), "set"))


class ArgumentContainerMutation(Rule):
    """In-place change of a dict, list or pytree passed in as an argument.

    ## What it does
    Flags `params["w"] = ...`, `state.append(...)`, `del d[k]` and `d.update(...)`
    on a parameter of a traced function, unless the function returns that
    container, itself or through an alias (`st = state; ...; return st`): the
    caller that rebinds the result sees the same thing eagerly and under the
    transform; or unless the function reads the container after the change,
    itself or in a function it defines there (`labels = batch.pop("labels")`
    then `def loss(p): ... model(**batch)`): the change is for its own use in
    this trace. A parameter annotated with another class
    (`metrics: nnx.Variable`) is indexed through that class's own
    `__setitem__`, not taken for a dict.

    ## Why is this bad?
    Under a transform the function receives a copy of the pytree: the caller's
    object is not changed, while the same code called eagerly does change it.
    The two disagree silently. Under `grad`, storing a tracer into an argument
    leaks it to the caller.

    ## Example
    ```python
    import jax

    @jax.jit
    def step(state, x):
        state["count"] = state["count"] + 1
        return x * 2
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def step(state, x):
        return x * 2, {**state, "count": state["count"] + 1}
    ```
    """

    code = "JP203"
    name = "argument-container-mutation"
    message = (
        "mutating argument {name} in place does not change the caller's object under a transform;"
        " build and return a new container"
    )
    scope = TRACED
    nodes = (cst.Assign, cst.AugAssign, cst.Del, cst.Call)

    def check(self, node, ctx: RuleContext) -> None:
        if isinstance(node, cst.Call):
            func = node.func
            if not (isinstance(func, cst.Attribute) and func.attr.value in jaxapi.CONTAINER_MUTATORS):
                return
            if not (isinstance(func.value, cst.Name) and ctx.is_param(func.value.value)):
                return
            if _nnx_receiver(func.value, ctx):
                return
            name = func.value.value
            if name in ctx.rebound_params:
                return
            string_key = bool(node.args) and isinstance(node.args[0].value, cst.SimpleString)
            if func.attr.value not in jaxapi.UNAMBIGUOUS_MUTATORS and not ctx.container_param(name) and not string_key:
                return  # tx.update(...) of an optax transformation is no mutation
            stored = any(ctx.traced(a.value) for a in node.args)
        else:
            targets = _subscript_targets(node) if isinstance(node, cst.Assign) else [node.target]
            subscript = next((t for t in targets if isinstance(t, cst.Subscript)), None)
            if subscript is None:
                return
            param = _container_param(subscript, ctx)
            if param is None or _nnx_receiver(subscript.value, ctx):
                return
            name = param
            stored = isinstance(node, cst.Assign | cst.AugAssign) and ctx.traced(node.value)
        if ctx.kind == DIFFERENTIATION and not (ctx.is_differentiated(name) or stored):
            return  # a plain argument passed by reference: mutating it with plain values works under grad
        if ctx.called_in_trace:
            return  # a Module's method: its caller runs in the same trace and sees the change, as eagerly
        if name in _returned_names(node, ctx):
            return  # the caller that rebinds the result sees the same thing eagerly and staged
        if ctx.fresh_argument(name):
            return  # ``helper(context)`` on the caller's own ``context = {}``: one trace, one object
        if _read_after(node, name, ctx) and not (stored and not ctx.receives_copy(name)):
            return  # the function's own workspace (``inputs["mask"] = m`` then ``model(inputs)``)
        ctx.report(node, self, name=name)


def _read_after(mutation: cst.CSTNode, name: str, ctx: RuleContext) -> bool:
    """Whether the function reads the container ``name`` after ``mutation`` (other than to
    change it again): then the change is for its own later use, which runs the same eagerly
    and staged. A change nothing after it reads is made for the caller, who does not see it
    under the transform."""
    inside = {id(node) for node in iter_own_nodes(mutation)} | {id(mutation)}
    after = False
    changed: set[int] = set()
    for node in iter_own_nodes(ctx.function_body(mutation)):
        if node is mutation:
            after = True
        elif after and id(node) not in inside:
            changed.update(id(receiver) for receiver in _changed_containers(node))
            if type(node) is cst.Name and node.value == name and id(node) not in changed:
                return True
            if isinstance(node, cst.FunctionDef | cst.Lambda) and _closes_over(node, name):
                return True  # ``def loss_fn(params): ... model(**batch)``: called later in this trace
    return False


def _closes_over(function: cst.FunctionDef | cst.Lambda, name: str) -> bool:
    """A nested function or lambda reads ``name`` of the function around it (not a parameter of its own)."""
    if any(param.name.value == name for param in all_params(function.params)):
        return False
    return name in names_read(function.body)


def _changed_containers(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The containers ``node`` changes in place: ``d`` of ``d[k] = v``, ``del d[k]``, ``d.update()``."""
    targets: list[cst.BaseExpression]
    if type(node) is cst.Assign:
        targets = [t.target for t in node.targets]
    elif isinstance(node, cst.AugAssign | cst.Del):
        targets = [node.target]
    elif (
        type(node) is cst.Call
        and type(node.func) is cst.Attribute
        and node.func.attr.value in jaxapi.CONTAINER_MUTATORS
    ):
        return [node.func.value]
    else:
        return []
    return [t.value for t in targets if type(t) is cst.Subscript]


def _returned_names(node: cst.CSTNode, ctx: RuleContext) -> set[str]:
    """Names the enclosing function returns, alone or as items of a returned tuple or list, and
    the names such a name is only ever an alias of (``st = loop_state; ...; return st``)."""
    names: set[str] = set()
    for child in iter_own_nodes(ctx.function_body(node)):
        if isinstance(child, cst.Return) and child.value is not None:
            value = child.value
            items = [e.value for e in value.elements] if isinstance(value, cst.Tuple | cst.List) else [value]
            names.update(item.value for item in items if isinstance(item, cst.Name))
    bindings = _local_bindings(node, ctx)
    for name in list(names):
        sources = [value for _, taken in bindings.get(name, ()) for value in taken]
        aliased = [source.value for source in sources if isinstance(source, cst.Name)]
        if sources and len(aliased) == len(sources):
            names.update(aliased)
    return names


class InplaceNumpyApiOnTracedValue(Rule):
    """NumPy's in-place APIs on traced values: `out=`, `np.copyto`, bare `.fill()`, `.resize()` and `.sort()`.

    ## What it does
    Flags calls that write into an existing array when that array is traced. NumPy's
    `.fill()`, `.resize()` and `.sort()` return `None`: a call whose result is used
    (`axis = axis.resize(n)`, `samples.resize(n)` handed on) is another class's
    method that returns something, and is not flagged.

    ## Why is this bad?
    JAX arrays cannot be written in place: `out=` and `np.copyto` raise, `.fill()`
    and `.resize()` do not exist, and `x.sort()` returns a sorted copy, so as a
    bare statement it silently does nothing.

    ## Example
    ```python
    import jax

    @jax.jit
    def ordered(x):
        x.sort()
        return x
    ```

    ## Use instead
    ```python
    import jax
    import jax.numpy as jnp

    @jax.jit
    def ordered(x):
        return jnp.sort(x)
    ```
    """

    code = "JP204"
    name = "inplace-numpy-api-on-traced-value"
    message = "{what} cannot write into a JAX array; use the functional jax.numpy equivalent"
    scope = TRACED
    nodes = (cst.Call,)

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        called = ctx.qualified(node.func)
        if any(a.keyword is not None and a.keyword.value == "out" for a in node.args):
            # NumPy's output-array convention: a NumPy/jax.numpy function or an array method.
            # A function of the project with a parameter named ``out`` is no such thing.
            numpy_like = (called or "").startswith(("numpy.", "jax.numpy.")) or (
                called is None and isinstance(node.func, cst.Attribute) and ctx.traced(node.func.value)
            )
            if numpy_like and any(ctx.traced(a.value) for a in node.args):
                ctx.report(node, self, what="out=")
            return
        if called == "numpy.copyto":
            if any(ctx.traced(a.value) for a in node.args):
                ctx.report(node, self, what="np.copyto")
            return
        func = node.func
        if not isinstance(func, cst.Attribute) or not ctx.traced(func.value):
            return
        method = func.attr.value
        if not isinstance(ctx.parent(node), cst.Expr):
            return  # its result is used: not NumPy's in-place method, which returns None
        if method in jaxapi.INPLACE_ARRAY_METHODS:
            ctx.report(node, self, what=f".{method}()")
        elif method == "sort":
            ctx.report(node, self, what=".sort() (it returns a sorted copy)")


RULES = [
    ItemAssignmentOnTracedArray,
    AugmentedItemAssignmentOnTracedArray,
    ArgumentContainerMutation,
    InplaceNumpyApiOnTracedValue,
]
