"""JP4xx: Python control flow that needs a concrete value where JAX has a tracer."""

from __future__ import annotations

from typing import TypeGuard

import libcst as cst

from jaxpure.analysis import jaxapi
from jaxpure.analysis.cstnodes import code_children, names_read
from jaxpure.analysis.jaxapi import STAGING
from jaxpure.analysis.rules.base import TRACED, Rule, RuleContext


def is_boolean_logic(node: cst.BaseExpression) -> bool:
    """``a and b``, ``not a``, ``0 < x < 1``: reported as JP405 wherever they stand."""
    if isinstance(node, cst.BooleanOperation) or _is_not(node):
        return True
    return isinstance(node, cst.Comparison) and len(node.comparisons) > 1


# Methods of a mapping that no JAX array has: ``(x or {}).get(k)`` works only where ``x`` is a mapping or falsy.
_MAPPING_METHODS = frozenset({"get", "keys", "values", "items"})


class PythonIfOnTracedValue(Rule):
    """A Python `if`/`elif`, conditional expression or `match` guard on a traced value.

    ## What it does
    Flags branches whose condition depends on a traced array inside staged code,
    `match` guards (`case "relu" if x > 0:`) included. Conditions on static
    information (`x.shape`, `x.ndim`, `len(x)`, `x is None`, the jaxpr
    `jax.make_jaxpr(f)(x)` returns, static arguments:
    `static_argnums`/`static_argnames`, `nondiff_argnums`/`nondiff_argnames`;
    given through a variable, any parameter may be one) are fine, and so is any
    `if` under `jax.grad` alone, which runs on concrete values. So are fields
    kept out of a pytree's leaves (`eqx.field(static=True)`,
    `struct.field(pytree_node=False)`, `dataclasses.field(metadata=...)`, the
    aux data of a class's flatten function) on an object of a known class,
    `self` included, or inside `if isinstance(x, Class):`; a parameter a
    `lax.cond`/`lax.switch` branch is never given; and the body of `if flag:`
    where no call passes a `flag` that defaults to `False`. Attributes of
    objects whose structure jaxpure cannot see (a parameter or a loop element
    of no known class, what an unknown function returns, `self` of a class
    that declares no array field and no flatten function) are not guessed at,
    and a helper is given only what its callers hand it by that evidence; nor
    what their methods return (`if named.has_axis("b"):`)
    unless the method is one of `jax.Array`'s or is given a traced value;
    neither is a parameter of a framework Module's method that
    nothing shows to be an array: one is traced there when annotated as an
    array, used as one (`x.shape`, `x.sum()`, `x[:, 0]`, `x @ w`, `jnp.tanh(x)`,
    also inside a function of the module it is passed to), read for a field of
    the class (another instance), or the operand of an operator method
    (`__radd__`); the others are the Python values its user configures it with
    (`scale`, `axis`, a callback). A bare truth test of something that may be absent is read as
    "is it there": a field of an object of no class jaxpure knows
    (`if state.cache:`), an item under a string key (`if site["mask"]:`), a
    name bound to `None` on some path or a parameter defaulting to `None` or
    annotated `X | None`; and an unannotated parameter of a framework Module's
    method (`if train:`), whose callers (`model.apply(v, x, train=True)`)
    jaxpure seldom sees. An array's truth is defined only for a single element,
    eagerly too, so working code rarely means the array's value there; a traced
    scalar tested that way is missed.

    ## Why is this bad?
    Python needs a concrete `True`/`False`; under `jit` the condition is an abstract
    tracer and JAX raises `TracerBoolConversionError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def relu(x):
        if x > 0:
            return x
        else:
            return 0.0
    ```

    ## Use instead
    ```python
    import jax
    import jax.numpy as jnp

    @jax.jit
    def relu(x):
        return jnp.where(x > 0, x, 0.0)
    ```

    ## Fix safety
    An `if`/`else` whose branches only return, or only assign the same names, is
    rewritten to `jnp.where`; both branches are then evaluated, which is safe for
    pure array expressions.
    """

    code = "JP401"
    raises_on_tracer = "TracerBoolConversionError"
    name = "python-if-on-traced-value"
    message = "Python if on a traced value fails under tracing; use jnp.where, lax.cond or lax.select"
    nodes = (cst.If, cst.IfExp, cst.MatchCase)
    fixable = True

    def check(self, node, ctx: RuleContext) -> None:
        if isinstance(node, cst.MatchCase):
            test = node.guard
            # A guard on a name the pattern captures: its value is not followed (it may shadow a parameter).
            if test is None or names_read(test) & _captured(node.pattern):
                return
        else:
            test = node.test
        if not is_boolean_logic(test) and ctx.truth_traced(test):
            ctx.report(node, self)


def _captured(pattern: cst.MatchPattern) -> set[str]:
    """The names a ``case`` pattern binds: ``x``, ``[a, *rest]``, ``{"k": v, **others}``, ``P(x=y) as p``."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [pattern]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.MatchAs | cst.MatchStar) and current.name is not None:
            found.add(current.name.value)
        elif isinstance(current, cst.MatchMapping) and current.rest is not None:
            found.add(current.rest.value)
        if not isinstance(current, cst.MatchValue):  # a value pattern (``Color.RED``) reads, binds nothing
            stack.extend(code_children(current))
    return found


class PythonWhileOnTracedValue(Rule):
    """A Python `while` loop on a traced condition.

    ## What it does
    Flags `while` loops whose condition depends on a traced value in staged code.

    ## Why is this bad?
    The condition needs a concrete boolean; under `jit` it raises
    `TracerBoolConversionError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def halve_until_small(x):
        while x > 1.0:
            x = x / 2
        return x
    ```

    ## Use instead
    ```python
    import jax
    from jax import lax

    @jax.jit
    def halve_until_small(x):
        return lax.while_loop(lambda v: v > 1.0, lambda v: v / 2, x)
    ```
    """

    code = "JP402"
    raises_on_tracer = "TracerBoolConversionError"
    name = "python-while-on-traced-value"
    message = "Python while on a traced value fails under tracing; use lax.while_loop"
    nodes = (cst.While,)

    def check(self, node: cst.While, ctx: RuleContext) -> None:
        if not is_boolean_logic(node.test) and ctx.truth_traced(node.test):
            ctx.report(node, self)


class PythonLoopOverTracedBound(Rule):
    """`for i in range(traced)`.

    ## What it does
    Flags Python `for` loops whose number of iterations is a traced value.

    ## Why is this bad?
    `range` needs a concrete integer; under `jit` the bound is a tracer and JAX
    raises `TracerIntegerConversionError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def power(x, n):
        y = x
        for _ in range(n):
            y = y * x
        return y
    ```

    ## Use instead
    ```python
    import jax
    from jax import lax

    @jax.jit
    def power(x, n):
        return lax.fori_loop(0, n, lambda i, y: y * x, x)
    ```
    """

    code = "JP403"
    raises_on_tracer = "TracerIntegerConversionError"
    name = "python-loop-over-traced-bound"
    message = (
        "a Python loop over a traced bound fails under tracing; use lax.fori_loop or lax.scan, or make the bound static"
    )
    nodes = (cst.For, cst.CompFor)

    def check(self, node: cst.For | cst.CompFor, ctx: RuleContext) -> None:
        iterable = node.iter
        if (
            isinstance(iterable, cst.Call)
            and ctx.qualified(iterable.func) == "builtins.range"
            and any(ctx.traced(a.value) for a in iterable.args)
        ):
            ctx.report(node, self)


class ConcretizationOfTracedValue(Rule):
    """Turning a traced value into a Python value: `bool()`, `int()`, `float()`, `.item()`, indexing a list.

    ## What it does
    Flags `bool()`, `int()`, `float()`, `complex()`, `.item()`, `.tolist()` and
    `range()` on traced values, and traced values used to index a Python list or
    dict. `float()`, `complex()` and `.tolist()` fail under `grad` too; the others
    only under staging transforms. A dict key counts only where it comes from a
    parameter (`MODES[mode]`, `for name in names: d[name]`), a Python scalar
    eagerly and a tracer under the transform: a key taken from what a call
    returned is hashed eagerly too, where no JAX array is hashable, so code
    that works holds no array there.

    ## Why is this bad?
    A tracer has no concrete value; JAX raises `ConcretizationTypeError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def scale(x):
        return x * float(x.sum())
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def scale(x):
        return x * x.sum()
    ```
    """

    code = "JP404"
    raises_on_tracer = "TypeError"
    name = "concretization-of-traced-value"
    message = "{what} needs a concrete value and fails on a tracer; keep it an array or mark the argument static"
    scope = TRACED
    nodes = (cst.Call, cst.Subscript)

    def check(self, node, ctx: RuleContext) -> None:
        found = self._concretization(node, ctx)
        if found is None:
            return
        operation, what = found
        if ctx.kind != STAGING and operation not in jaxapi.CONCRETIZES_UNDER_DIFFERENTIATION:
            return  # int(), bool(), .item() and indexing work on grad's concrete primals
        ctx.report(node, self, what=what)

    def _concretization(self, node, ctx: RuleContext) -> tuple[str, str] | None:
        """The concretizing operation (``int``, ``item``, ``index``, ...) and how the message names it."""
        if isinstance(node, cst.Subscript):
            container = node.value
            if not (isinstance(container, cst.Name) and ctx.python_container(container.value)):
                return None
            if ctx.bound_to_array(container.value):
                return None  # a list made an array (``vals = jnp.concatenate(vals)``): which one is indexed here?
            keyed = ctx.python_dict(container.value)
            for element in node.slice:
                index = element.slice.value if isinstance(element.slice, cst.Index) else None
                if index is not None and ctx.traced(index) and (not keyed or _from_a_parameter(index, ctx)):
                    return "index", "indexing a Python list or dict with a traced value"
            return None
        called = ctx.qualified(node.func)
        if called and called.startswith("builtins."):
            short = called[len("builtins.") :]
            if short in jaxapi.CONCRETIZING_BUILTINS and node.args and ctx.traced(node.args[0].value):
                return short, f"{short}()"
            if short in jaxapi.TRUTH_BUILTINS and node.args and _elements_traced(node.args[0].value, ctx):
                return short, f"{short}()"
            if short == "range" and any(ctx.traced(a.value) for a in node.args):
                parent = ctx.parent(node)
                if isinstance(parent, cst.For | cst.CompFor) and parent.iter is node:
                    return None  # JP403
                return short, "range()"
            return None
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("item", "tolist") and ctx.traced(func.value):
            return func.attr.value, f".{func.attr.value}()"
        return None


def _from_a_parameter(key: cst.BaseExpression, ctx: RuleContext) -> bool:
    """A dict key that reads a parameter, directly or through locals bound from one (``MODES[mode]``,
    ``for name in names: d[name]``): a Python scalar eagerly, a tracer under the transform. A key
    got from what a call returned (a part of an unknown function's result, an item of a trace
    dict) is hashed eagerly too, where no JAX array is hashable: code that works holds none there."""
    pending, seen = [key], set()
    while pending:
        for name in _names_outside_calls(pending.pop(), ctx):
            if name in seen:
                continue
            seen.add(name)
            if ctx.is_param(name):
                return True
            if ctx.is_local(name):
                pending.extend(ctx.sources(name))
    return False


# Calls whose result holds their arguments' own values: ``for i, c in enumerate(names)``.
_PASSING_ON = frozenset(
    "builtins.enumerate builtins.zip builtins.reversed builtins.sorted builtins.list builtins.tuple".split()
)


def _names_outside_calls(node: cst.BaseExpression, ctx: RuleContext) -> set[str]:
    """The variables ``node`` reads, not looking into the arguments of calls (but those of
    ``enumerate``, ``zip`` and the like, and the receiver of ``.items()``/``.keys()``/``.values()``)."""

    def passed_on(call: cst.Call) -> list[cst.CSTNode]:
        func = call.func
        if ctx.qualified(func) in _PASSING_ON:
            return [argument.value for argument in call.args]
        if isinstance(func, cst.Attribute) and func.attr.value in ("items", "keys", "values"):
            return [func.value]
        return []

    return names_read(node, passed_on)


def _elements_traced(iterable: cst.BaseExpression, ctx: RuleContext) -> bool:
    """``all(x > 0 for x in xs)``: the elements that all()/any() bool() are evidently traced."""
    if isinstance(iterable, cst.GeneratorExp | cst.ListComp | cst.SetComp):
        return ctx.truth_traced(iterable.elt)
    if isinstance(iterable, cst.List | cst.Tuple | cst.Set):
        return any(ctx.truth_traced(e.value) for e in iterable.elements)
    if isinstance(iterable, cst.Name) and ctx.container_param(iterable.value):
        return False  # all(params) iterates a dict's keys
    # ``any(mask)`` on a traced array bool()s each element; what a call such as map(...) yields is unknown.
    return not isinstance(iterable, cst.Call) and ctx.truth_traced(iterable)


class PythonBooleanOperatorOnTracedValue(Rule):
    """`and`, `or`, `not` and chained comparisons on traced values.

    ## What it does
    Flags Python's boolean operators, and chained comparisons such as
    `0 < x < 1`, applied to traced values in staged code.

    ## Why is this bad?
    They call `bool()` on their operands, which fails on a tracer with
    `TracerBoolConversionError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def in_unit(x):
        return 0 < x < 1
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def in_unit(x):
        return (0 < x) & (x < 1)
    ```
    """

    code = "JP405"
    raises_on_tracer = "TracerBoolConversionError"
    name = "python-boolean-operator-on-traced-value"
    message = "{what} on a traced value calls bool() and fails under tracing; use jnp.logical_and/or/not or & | ~"
    nodes = (cst.BooleanOperation, cst.UnaryOperation, cst.Comparison)

    def check(self, node, ctx: RuleContext) -> None:
        if not is_boolean_logic(node) or isinstance(ctx.parent(node), cst.BooleanOperation):
            return  # the outermost operator of a chain stands for the whole
        if isinstance(node, cst.BooleanOperation) and ctx.decided(node) is not None:
            return  # ``JAX_MODE and x > 0`` with JAX_MODE False: the traced operand is never evaluated
        if _defaults_a_mapping(node, ctx):
            return
        # Chained comparisons bool() their traced comparisons; and/or/not bool() the operands
        # themselves, whose truth is static when they are Python containers.
        traced = ctx.traced if isinstance(node, cst.Comparison) else ctx.truth_traced
        offending = [operand for operand in _operands_made_bool(node, ctx) if traced(operand)]
        if offending and not {id(operand) for operand in offending} <= _guarded_by_isinstance(node, ctx):
            ctx.report(node, self, what=_spelling(node))


def _defaults_a_mapping(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """``(periodic or {}).get(key)``, ``f(**(options or {}))``: an ``or`` chain whose result is used
    as a mapping. Each operand may be the result, and no JAX array, tracer or not, has
    ``.get``/``.keys``/``.values``/``.items`` or unpacks by ``**`` (measured), so wherever the code
    works each operand is a mapping or a falsy default such as None: its truth is a Python question."""
    if not (isinstance(node, cst.BooleanOperation) and _all_or(node)):
        return False
    parent = ctx.parent(node)
    if isinstance(parent, cst.Arg):
        return parent.star == "**"
    return isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in _MAPPING_METHODS


def _all_or(node: cst.BaseExpression) -> bool:
    if not isinstance(node, cst.BooleanOperation):
        return True
    return isinstance(node.operator, cst.Or) and _all_or(node.left) and _all_or(node.right)


def _operands_made_bool(node, ctx: RuleContext) -> list[cst.BaseExpression]:
    """The operands Python calls ``bool()`` on: in ``a and b`` only ``a``, unless the result is a condition.

    A ``not`` among the operands (``(not a) or b``) calls ``bool()`` on its own operand wherever it stands.
    """
    operands = _operands(node)
    if not isinstance(node, cst.BooleanOperation):
        return operands
    parent = ctx.parent(node)
    used_as_condition = (
        isinstance(parent, cst.If | cst.While | cst.IfExp | cst.Assert) and parent.test is node
    ) or _is_not(parent)
    made_bool = operands if used_as_condition else operands[:-1]
    negated = (_negated(operand) for operand in operands if _is_not(operand))
    return made_bool + [operand for operand in negated if _evidently_array(operand, ctx)]


def _is_not(node: cst.CSTNode | None) -> TypeGuard[cst.UnaryOperation]:
    return isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not)


def _negated(node: cst.UnaryOperation) -> cst.BaseExpression:
    """``x`` in ``not not x``: what the innermost ``not`` calls ``bool()`` on."""
    while _is_not(node.expression):
        node = node.expression
    return node.expression


def _evidently_array(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """A name, a comparison or a JAX call: what a negated operand must be to be judged.

    Items and attributes of traced pytrees (``not site["is_observed"]``, ``not
    module.state.is_setup``) and results of other functions (``not is_one(scale)``) are
    mostly Python flags in real code (measured on numpyro and flax: 7 false alarms).
    """
    if isinstance(node, cst.Name | cst.Comparison):
        return True
    return isinstance(node, cst.Call) and (ctx.qualified(node.func) or "").startswith("jax.")


def _guarded_by_isinstance(node, ctx: RuleContext) -> set[int]:
    """In ``isinstance(y, numbers.Complex) and y == 0``, what follows the guard runs only where
    ``y`` is a Python number: no tracer is an instance of a Python scalar or container type
    (measured: ``isinstance(tracer, numbers.Complex)`` is False), and every tracer is a
    ``jax.Array`` and a ``jax.core.Tracer``, so none gets past ``not isinstance(y, jax.Array)``.
    The operands whose only traced names are so guarded, by id."""
    if not (isinstance(node, cst.BooleanOperation) and _all_and(node)):
        return set()
    narrowed: set[str] = set()
    guarded: set[int] = set()
    for operand in _operands(node):
        traced = {name for name in names_read(operand) if ctx.is_traced_name(name)}
        if narrowed and traced and traced <= narrowed:
            guarded.add(id(operand))
            if _is_not(operand):  # ``isinstance(v, dict) and not v``: ``v`` is what gets bool()
                guarded.add(id(_negated(operand)))
        narrowed |= _python_instance_of(operand, ctx) | _not_a_tracer(operand, ctx)
    return guarded


def _all_and(node: cst.BaseExpression) -> bool:
    if not isinstance(node, cst.BooleanOperation):
        return True
    return isinstance(node.operator, cst.And) and _all_and(node.left) and _all_and(node.right)


def _python_instance_of(test: cst.BaseExpression, ctx: RuleContext) -> set[str]:
    """``isinstance(y, numbers.Number)``, ``isinstance(k, (int, slice))``: ``{"y"}``."""
    tested = _isinstance_test(test, ctx)
    if tested is None or not all(ctx.qualified(o) in jaxapi.PYTHON_VALUE_TYPES for o in tested[1]):
        return set()
    return {tested[0]}


def _not_a_tracer(test: cst.BaseExpression, ctx: RuleContext) -> set[str]:
    """``not isinstance(arg, core.Tracer)``: ``{"arg"}``, a concrete value past the test."""
    tested = _isinstance_test(test.expression, ctx) if _is_not(test) else None
    if tested is None or not all(ctx.qualified(o) in jaxapi.TRACER_CLASSES for o in tested[1]):
        return set()
    return {tested[0]}


def _isinstance_test(test: cst.BaseExpression, ctx: RuleContext) -> tuple[str, list[cst.BaseExpression]] | None:
    """The name and the classes of ``isinstance(name, Class)`` or ``isinstance(name, (A, B))``."""
    if not (isinstance(test, cst.Call) and ctx.qualified(test.func) == "builtins.isinstance" and len(test.args) == 2):
        return None
    subject, kinds = test.args[0].value, test.args[1].value
    if not isinstance(subject, cst.Name):
        return None
    return subject.value, [e.value for e in kinds.elements] if isinstance(kinds, cst.Tuple) else [kinds]


def _operands(node) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BooleanOperation):
        return [*_operands_of_side(node.left), *_operands_of_side(node.right)]
    if isinstance(node, cst.UnaryOperation):
        return [node.expression]
    return [node.left, *(c.comparator for c in node.comparisons)]


def _operands_of_side(node) -> list[cst.BaseExpression]:
    return _operands(node) if isinstance(node, cst.BooleanOperation) else [node]


def _spelling(node) -> str:
    if isinstance(node, cst.BooleanOperation):
        return "'and'" if isinstance(node.operator, cst.And) else "'or'"
    if isinstance(node, cst.UnaryOperation):
        return "'not'"
    return "a chained comparison"


class AssertOnTracedValue(Rule):
    """`assert` on a traced value.

    ## What it does
    Flags `assert` statements whose condition depends on a traced value in staged code.

    ## Why is this bad?
    `assert` needs a concrete boolean and fails on a tracer; checks on values need
    JAX's own runtime checking.

    ## Example
    ```python
    import jax

    @jax.jit
    def safe_log(x):
        assert x > 0
        return x
    ```

    ## Use instead
    ```python
    import jax
    from jax.experimental import checkify

    def safe_log(x):
        checkify.check(x > 0, "x must be positive")
        return x

    checked = jax.jit(checkify.checkify(safe_log))
    ```
    """

    code = "JP406"
    raises_on_tracer = "TracerBoolConversionError"
    name = "assert-on-traced-value"
    message = "assert on a traced value fails under tracing; use checkify.check or equinox.error_if"
    nodes = (cst.Assert,)

    def check(self, node: cst.Assert, ctx: RuleContext) -> None:
        if not is_boolean_logic(node.test) and ctx.truth_traced(node.test):
            ctx.report(node, self)


class DataDependentShape(Rule):
    """Operations whose output shape depends on the data: boolean masks, `nonzero`, `unique`, one-argument `where`.

    ## What it does
    Flags `x[x > 0]`, `jnp.nonzero`, `jnp.argwhere`, `jnp.flatnonzero`,
    `jnp.unique` and one-argument `jnp.where` on traced values without `size=`.

    ## Why is this bad?
    Staged programs need static shapes; JAX raises
    `NonConcreteBooleanIndexError` or `ConcretizationTypeError`.

    ## Example
    ```python
    import jax

    @jax.jit
    def positives(x):
        return x[x > 0]
    ```

    ## Use instead
    ```python
    import jax
    import jax.numpy as jnp

    @jax.jit
    def positives(x):
        return jnp.where(x > 0, x, 0)
    ```
    """

    code = "JP407"
    name = "data-dependent-shape"
    message = "{what} has a data-dependent shape and fails under tracing; use jnp.where(mask, x, 0) or pass size="
    nodes = (cst.Subscript, cst.Call)

    def check(self, node, ctx: RuleContext) -> None:
        if isinstance(node, cst.Subscript):
            if not ctx.traced(node.value):
                return
            for element in node.slice:
                if isinstance(element.slice, cst.Index) and ctx.is_boolean_mask(element.slice.value):
                    ctx.report(node, self, what="boolean-mask indexing")
                    return
            return
        called = ctx.qualified(node.func) or ""
        if not called.startswith("jax.numpy."):
            return
        function = called[len("jax.numpy.") :]
        if any(a.keyword is not None and a.keyword.value == "size" for a in node.args):
            return
        positional = [a for a in node.args if a.keyword is None]
        selects = any(a.keyword is not None and a.keyword.value in ("x", "y") for a in node.args)  # by keyword
        if function == "where" and len(positional) == 1 and not selects and ctx.traced(positional[0].value):
            ctx.report(node, self, what="one-argument jnp.where")
        elif function in jaxapi.DATA_DEPENDENT_SHAPE_FUNCTIONS and any(ctx.traced(a.value) for a in positional):
            ctx.report(node, self, what=f"jnp.{function}")


RULES = [
    PythonIfOnTracedValue,
    PythonWhileOnTracedValue,
    PythonLoopOverTracedBound,
    ConcretizationOfTracedValue,
    PythonBooleanOperatorOnTracedValue,
    AssertOnTracedValue,
    DataDependentShape,
]
