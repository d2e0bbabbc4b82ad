"""JP5xx: using the transforms themselves in ways that crash or recompile."""

from __future__ import annotations

import re

import libcst as cst

from jaxpure.analysis import jaxapi
from jaxpure.analysis.cstnodes import all_params, names_read
from jaxpure.analysis.dataflow import Resolver, iter_own_nodes
from jaxpure.analysis.index import FunctionInfo
from jaxpure.analysis.rules.base import EVERYWHERE, TRACED, Rule, RuleContext
from jaxpure.analysis.testcode import in_test_function

_NOT_JP501 = frozenset({"copyto"})


class NumpyOnTracedValue(Rule):
    """A NumPy function applied to a traced value.

    ## What it does
    Flags `np.asarray`, `np.array`, `np.exp` and other NumPy functions called on
    traced values, in any traced context (differentiation included). NumPy on
    constants and on static information (`np.prod(x.shape)`) is fine, and so are
    the functions NumPy hands to the array's own method (`np.sum`, `np.mean`,
    `np.reshape`, ...: measured to work on tracers).

    ## Why is this bad?
    NumPy needs a concrete array and raises `TracerArrayConversionError` on a
    tracer.

    ## Example
    ```python
    import jax
    import numpy as np

    @jax.jit
    def total(x):
        return np.exp(x).sum()
    ```

    ## Use instead
    ```python
    import jax
    import jax.numpy as jnp

    @jax.jit
    def total(x):
        return jnp.exp(x).sum()
    ```

    ## Fix safety
    The fix swaps `np.f` for `jnp.f` only for functions whose `jax.numpy`
    counterpart has the same meaning.
    """

    code = "JP501"
    raises_on_tracer = "TracerArrayConversionError"
    name = "numpy-on-traced-value"
    message = "{function} cannot take a traced value; use {replacement}"
    scope = TRACED
    nodes = (cst.Call,)
    fixable = True

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        called = ctx.qualified(node.func)
        if not called or not called.startswith("numpy.") or called.startswith("numpy.random."):
            return
        function = called[len("numpy.") :]
        if function in jaxapi.NUMPY_STATIC_FUNCTIONS or function in jaxapi.NUMPY_DELEGATING_TO_METHODS:
            return
        if function in _NOT_JP501:
            return
        if any(a.keyword is not None and a.keyword.value == "out" for a in node.args):
            return  # JP204
        if any(ctx.traced(a.value) for a in node.args):
            ctx.report(node, self, function=f"np.{function}", replacement=f"jnp.{function}")


class TransformRebuiltPerCall(Rule):
    """A compiling transform rebuilt on every call or every loop iteration.

    ## What it does
    Outside traced code, flags `jax.jit`, `pmap` and `equinox.filter_jit` applied to
    a lambda, a nested function, a `partial(...)` or another transform's result
    when the result is called at once (`jax.jit(lambda x: ...)(x)`) or built inside
    a loop. A loop that builds (without calling it there) the jit of a nested
    function defined before it wraps the same object every iteration, so JAX's
    cache hits after the first: it costs what one build before the loop costs,
    and is not flagged. Nor is a loop that builds one function per item and keeps
    each, uncalled there, in a container (`fns.append(jax.jit(lambda x, w=w: ...))`):
    each is a different program, compiled once and reused. Any `nnx.jit` built per
    call or per iteration is flagged, since it re-traces on every build. A factory
    that returns the jitted function, `jax.jit` of a module-level function, and
    `grad`/`vmap` built per call are fine, and so
    is anything built inside a test function (pytest `test*` functions, methods of
    a `unittest.TestCase`) or called at once in module-level code or a script's
    top-level `main()` outside a loop (a notebook cell's one-shot `jax.jit(f)(x)`),
    which run once, or inside
    `pytest.raises(...)` / `assertRaises(...)`, where it is built to fail. equinox's filter transforms
    compare the wrapped function by value: `eqx.filter_jit(eqx.filter_grad(loss))`
    of a module-level `loss` compiles once however often it is rebuilt.

    ## Why is this bad?
    JAX caches compiled programs by function identity; a fresh function object
    misses the cache and pays tracing and XLA compilation every time.

    ## Example
    ```python
    import jax

    def train(batches, w):
        for batch in batches:
            w = jax.jit(lambda w, b: w - 0.1 * b)(w, batch)
        return w
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def sgd_step(w, b):
        return w - 0.1 * b

    def train(batches, w):
        for batch in batches:
            w = sgd_step(w, batch)
        return w
    ```
    """

    code = "JP502"
    name = "transform-rebuilt-per-call"
    severity = "warning"
    message = "{transform} is rebuilt {where} and compiles again each time; build it once, outside"
    scope = EVERYWHERE
    nodes = (cst.Call,)

    def looks_untraced(self, function: FunctionInfo, path: str) -> bool:
        return function.builds_compiled

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        if ctx.kind is not None:
            return  # inside traced code a transform is inlined, not recompiled
        transform = ctx.qualified(node.func)
        if transform not in jaxapi.REBUILD_COMPILES or not node.args:
            return
        if transform not in jaxapi.ALWAYS_RETRACES and not _is_fresh_function(node.args[0].value, ctx, transform):
            return
        if in_test_function(ctx.function, ctx.index):
            return  # a test runs once: what it builds compiles once
        if _expects_failure(node, ctx):
            return  # built to show that it raises: it never compiles
        loop = _enclosing_loop(node, ctx)
        parent = ctx.parent(node)
        once = ctx.function is None or _program_entry(ctx.function)
        if isinstance(parent, cst.Call) and parent.func is node and not once:
            ctx.report(node, self, transform=transform, where="on every call")
        elif (
            loop is not None
            and not _same_object_each_iteration(node, loop, transform, ctx)
            and not _kept_for_later(node, loop, ctx)
        ):
            # module-level code (and main) runs once: only a loop there rebuilds
            ctx.report(node, self, transform=transform, where="on every loop iteration")


def _program_entry(function: FunctionInfo) -> bool:
    """A script's top-level ``main()``: it runs once per program, as its module-level code does."""
    return function.name == "main" and function.parent is None and function.class_name is None


def _is_fresh_function(argument: cst.BaseExpression, ctx: RuleContext, transform: str) -> bool:
    """A lambda, a nested function, a partial(...) or a transform's result: a new object each time.

    equinox's filter transforms cache on the wrapped function's value, and their own wrappers
    are Modules compared by value: ``eqx.filter_jit(eqx.filter_grad(loss))`` rebuilt per call
    of a module-level ``loss`` compiles once (measured), while a fresh function inside does not.
    """
    if isinstance(argument, cst.Lambda):
        return True
    if isinstance(argument, cst.Call):
        called = ctx.qualified(argument.func)
        if called in ctx.index.transforms and _by_value(transform) and _by_value(called):
            inner = argument.args[0].value if argument.args else None
            return inner is not None and _is_fresh_function(inner, ctx, called)
        return called == "functools.partial" or called in ctx.index.transforms
    if isinstance(argument, cst.Name) and ctx.function is not None:
        return f"{ctx.function.qualname}.<locals>.{argument.value}" in ctx.index.functions
    return False


def _by_value(transform: str | None) -> bool:
    """A transform that caches on (and whose wrapper compares by) the function's value."""
    return transform is not None and transform.startswith("equinox.filter_")


_EXPECTS_FAILURE = re.compile(r"^(raises|assertRaises\w*|assert_raises\w*)$")


def _expects_failure(node: cst.CSTNode, ctx: RuleContext) -> bool:
    """Inside ``with pytest.raises(...)`` / ``self.assertRaises(...)``: built to fail, never compiled."""
    parent = ctx.parent(node)
    while parent is not None and not isinstance(parent, cst.FunctionDef | cst.Lambda):
        if isinstance(parent, cst.With):
            for item in parent.items:
                call = item.item
                if isinstance(call, cst.Call):
                    func = call.func
                    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
                    if _EXPECTS_FAILURE.match(name):
                        return True
        parent = ctx.parent(parent)
    return False


def _enclosing_loop(node: cst.CSTNode, ctx: RuleContext) -> cst.CSTNode | None:
    """The innermost loop (``for``, ``while``, comprehension) whose body runs ``node`` repeatedly."""
    child, parent = node, ctx.parent(node)
    while parent is not None:
        if isinstance(parent, cst.For | cst.While) and child is parent.body:
            return parent
        if (
            isinstance(parent, cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp)
            and child is not parent.for_in
        ):
            return parent
        if isinstance(parent, cst.FunctionDef | cst.Lambda):
            return None
        child, parent = parent, ctx.parent(parent)
    return None


def _same_object_each_iteration(node: cst.Call, loop: cst.CSTNode, transform: str, ctx: RuleContext) -> bool:
    """A nested function whose ``def`` is not in the loop: every iteration wraps the same object,
    and JAX's cache, keyed on the function's identity, hits after the first (measured: 1 trace
    over 5 iterations of ``jax.jit(step)(x)``), as one build before the loop would. Not
    ``nnx.jit``, which re-traces on every build."""
    argument = node.args[0].value
    if transform in jaxapi.ALWAYS_RETRACES or not isinstance(argument, cst.Name) or ctx.function is None:
        return False
    function = ctx.index.functions.get(f"{ctx.function.qualname}.<locals>.{argument.value}")
    if function is None:
        return False
    first, _, last, _ = ctx.span(loop)
    return not first <= function.span[0] <= last


def _kept_for_later(node: cst.Call, loop: cst.CSTNode, ctx: RuleContext) -> bool:
    """A loop that builds one compiled function per item and keeps each, uncalled there
    (``fns.append(jax.jit(lambda x, w=w: ...))``, ``levels[i] = {"apply": jax.jit(...)}``):
    each item closes over other values, so each is a different program that must compile once
    anyway, and the kept object reuses its compilation on every later call, as a factory's
    result does. Kept means stored into a container by a mutating method or an item
    assignment, directly, inside a literal container, or through a local name the loop never
    calls; an item assignment to a literal key overwrites one slot each iteration and does not
    count."""
    stored = _outermost_literal(node, ctx)
    parent = ctx.parent(stored)
    if isinstance(parent, cst.Arg):
        return _is_container_store(ctx.parent(parent))
    if not isinstance(parent, cst.Assign) or parent.value is not stored:
        return False
    targets = [t.target for t in parent.targets]
    if all(isinstance(t, cst.Subscript) and not _literal_index(t) for t in targets):
        return True
    if stored is node and len(targets) == 1 and isinstance(targets[0], cst.Name):
        return _only_stored_in_loop(targets[0].value, loop)
    return False


def _outermost_literal(node: cst.CSTNode, ctx: RuleContext) -> cst.CSTNode:
    """The outermost tuple, list, set or dict display that holds ``node`` as an element (or itself)."""
    child, parent = node, ctx.parent(node)
    while isinstance(parent, cst.Element | cst.DictElement | cst.Tuple | cst.List | cst.Set | cst.Dict):
        if isinstance(parent, cst.DictElement) and child is parent.key:
            break
        if isinstance(parent, cst.Tuple | cst.List | cst.Set | cst.Dict):
            child = parent
        parent = ctx.parent(parent)
    return child


def _is_container_store(call: cst.CSTNode | None) -> bool:
    return (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value in jaxapi.UNAMBIGUOUS_MUTATORS
    )


def _literal_index(target: cst.Subscript) -> bool:
    return any(
        isinstance(element.slice, cst.Index) and isinstance(element.slice.value, cst.SimpleString | cst.Integer)
        for element in target.slice
    )


def _only_stored_in_loop(name: str, loop: cst.CSTNode) -> bool:
    """The loop body never calls ``name`` and hands it to a container-storing method."""
    stored = False
    for node in iter_own_nodes(loop):
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Name) and node.func.value == name:
                return False
            if _is_container_store(node) and any(name in names_read(a.value) for a in node.args):
                stored = True
    return stored


class UnhashableStaticArgument(Rule):
    """A static argument that cannot be hashed: a list/dict/set/array default, or used as an array.

    ## What it does
    Flags a parameter named by `static_argnums`/`static_argnames` (or pmap's
    `static_broadcasted_argnums`) whose default is a list, dict, set or array,
    or that the body uses as an array: as an operand of a matrix product or
    `jnp.dot`/`einsum`/`linalg`. Reading an attribute of it (`self.std`) is no
    such use, and a `vmap` parameter with `in_axes=None` is not static at all.

    ## Why is this bad?
    JAX hashes static arguments to look up the compiled program; an unhashable
    value raises `ValueError: Non-hashable static arguments are not supported`,
    and an array passed as static recompiles for every new value.

    ## Example
    ```python
    from functools import partial
    import jax

    @partial(jax.jit, static_argnames="layers")
    def forward(x, layers=[16, 16]):
        return x
    ```

    ## Use instead
    ```python
    from functools import partial
    import jax

    @partial(jax.jit, static_argnames="layers")
    def forward(x, layers=(16, 16)):
        return x
    ```
    """

    code = "JP503"
    name = "unhashable-static-argument"
    message = "static argument is unhashable (a list/dict/set/array); make it hashable (a tuple), or not static"
    scope = EVERYWHERE

    def check_function(self, body: cst.CSTNode, definition: cst.FunctionDef | None, ctx: RuleContext) -> None:
        if definition is None or ctx.function is None or ctx.kind is None:
            return
        # Only what static_argnums/static_argnames name is hashed: not vmap's in_axes=None.
        qualname = ctx.function.qualname
        hashed = {name for root in ctx.index.roots if root.function == qualname for name in root.hashed_params}
        static = ctx.static_params & hashed
        if not static:
            return
        uses = _array_uses(definition.body, static, ctx.qualified)
        for param in all_params(definition.params):
            name = param.name.value
            if name in static and (_unhashable_default(param.default, ctx.qualified) or name in uses):
                ctx.report(param, self)

    def looks_untraced(self, function: FunctionInfo, path: str) -> bool:
        return False  # static arguments exist only where a transform makes them


def _unhashable_default(default: cst.BaseExpression | None, resolve: Resolver) -> bool:
    if isinstance(default, cst.List | cst.Dict | cst.Set | cst.ListComp | cst.DictComp | cst.SetComp):
        return True
    if isinstance(default, cst.Call):
        called = resolve(default.func) or ""
        return called in ("builtins.list", "builtins.dict", "builtins.set") or called.startswith(
            ("numpy.", "jax.numpy.")
        )
    return False


_ARRAY_CONSUMERS = ("jax.numpy.dot", "jax.numpy.matmul", "jax.numpy.einsum", "jax.numpy.linalg.", "jax.lax.dot")


_ARRAY_USE_NODES = frozenset({cst.BinaryOperation, cst.Call})


def _array_uses(body: cst.CSTNode, names: frozenset[str], resolve: Resolver) -> set[str]:
    """Static parameters the body evidently uses as arrays (JP503): operands of an array
    product, not the object of an attribute read (``self.std`` of a static ``self``)."""
    used: set[str] = set()
    for node in iter_own_nodes(body):
        if type(node) not in _ARRAY_USE_NODES:
            continue  # a type test first: most nodes are none of these (and isinstance on libcst's ABCs is slow)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply):
            used.update(n for n in map(_operand_name, (node.left, node.right)) if n in names)
        elif isinstance(node, cst.Call):
            called = resolve(node.func) or ""
            if called.startswith(_ARRAY_CONSUMERS):
                # The operands, not options: ``lax.dot_general(a, b, dims, preferred_element_type=t)``.
                used.update(n for a in node.args if a.keyword is None and (n := _operand_name(a.value)) in names)
    return used


def _operand_name(node: cst.BaseExpression) -> str | None:
    """``w`` or its transpose ``w.T`` as an operand: the parameter itself is the array."""
    if isinstance(node, cst.Attribute) and node.attr.value == "T":
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class UnanalyzableFile(Rule):
    """A file jaxpure could not analyze: a syntax error or undecodable bytes.

    ## What it does
    Reports, at the position the parser names, a file that does not parse as
    Python or cannot be decoded. Every other file is still checked.

    ## Why is this bad?
    Nothing in the file can be checked until it parses.

    ## Example
    ```python
    def broken(:
        pass
    ```

    ## Use instead
    ```python
    def fixed():
        pass
    ```
    """

    code = "JP000"
    name = "unanalyzable-file"
    message = "{reason}"
    scope = EVERYWHERE


RULES = [NumpyOnTracedValue, TransformRebuiltPerCall, UnhashableStaticArgument, UnanalyzableFile]
