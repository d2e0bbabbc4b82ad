"""JP3xx: randomness that is frozen at trace time, or keys used twice."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from jaxpure.analysis import jaxapi, prngkeys
from jaxpure.analysis.cstnodes import code_children as cst_children
from jaxpure.analysis.index import FunctionInfo
from jaxpure.analysis.rules.base import EVERYWHERE, Rule, RuleContext
from jaxpure.analysis.testcode import is_benchmark_file, is_test_file

_KEY_CONSTRUCTORS = frozenset({"jax.random.key", "jax.random.PRNGKey"})


def is_stateful_rng_call(called: str | None) -> bool:
    return called is not None and (called.startswith("numpy.random.") or called.startswith("random."))


class StatefulRngInTracedFunction(Rule):
    """NumPy or Python stateful random numbers inside a traced function.

    ## What it does
    Flags `np.random.*` (including `default_rng` and `Generator` methods) and the
    standard library's `random.*` inside staged code.

    ## Why is this bad?
    The draw happens once, at trace time; the number is baked into the compiled
    program as a constant and every call returns the same "random" value.

    ## Example
    ```python
    import jax
    import numpy as np

    @jax.jit
    def noisy(x):
        return x + np.random.normal()
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def noisy(x, key):
        return x + jax.random.normal(key)
    ```
    """

    code = "JP301"
    name = "stateful-rng-in-traced-function"
    message = "{what} draws once at trace time and is frozen into the program; thread a jax.random key"
    nodes = (cst.Call,)

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        called = ctx.qualified(node.func)
        if is_stateful_rng_call(called):
            ctx.report(node, self, what=f"{called}()")
            return
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and ctx.stateful_rng(func.value.value):
            ctx.report(node, self, what=f"{func.value.value}.{func.attr.value}()")


def may_reuse_keys(function: FunctionInfo, opaque_calls_consume: bool) -> bool:
    """Whether key-reuse analysis (JP302/JP303) could find anything in ``function``.

    It cannot when the ``ast`` index saw its key consumers consume
    different keys (``k1``, ``k2``, ``keys[0]``), outside any loop, no
    call that consumes keys elsewhere (module functions that use keys,
    ``lax`` loops), and no key handed to any other call (which may consume
    it): two consumptions of one key need one key twice. That spares the key
    walk of most functions that draw random numbers, and parsing most
    untraced ones (each everywhere rule says what it needs to see in untraced
    code: ``Rule.looks_untraced``). A ``lax`` loop body is always walked: a
    key from outside consumed once there is consumed on every iteration.
    """
    return (opaque_calls_consume and function.passes_keys) or (
        function.uses_random
        and (function.calls_key_user or function.repeats_key_argument or function.key_in_loop or function.calls_lax)
    )


def opaque_calls_consume(path: str) -> bool:
    """Whether a key handed to a call jaxpure cannot see into counts as consumed there: not in
    test code, where handing one key to two calls is how a test compares them."""
    return not is_test_file(path)


def _key_reuse(body: cst.CSTNode, ctx: RuleContext) -> list[tuple[cst.CSTNode, str]]:
    """The function's key reuses (``jaxpure.analysis.prngkeys``): one walk, shared by JP302 and JP303."""

    def walk() -> list[tuple[cst.CSTNode, str]]:
        if ctx.abstract:
            return []  # a body only evaluated abstractly (``jax.eval_shape``) draws no numbers
        opaque = opaque_calls_consume(ctx.path)
        loop = ctx.lax_loop
        if ctx.function is not None and loop is None and not may_reuse_keys(ctx.function, opaque):
            return []
        loop_names = ctx.local_names if loop else None
        declared = frozenset(p.name for p in (ctx.function.params if ctx.function else ()) if p.declares_key)
        return prngkeys.find_key_reuse(
            body,
            ctx.qualified,
            ctx.key_arguments_consumed,
            loop_names,
            opaque,
            loop,
            declared_keys=declared,
            fresh_keys=ctx.fresh_keys(),
        )

    return ctx.memo("key-reuse", walk)


class _KeyReuseRule(Rule):
    """Reports one kind of the key-reuse walk's findings."""

    kind: ClassVar[str]

    def check_function(self, body: cst.CSTNode, definition: cst.FunctionDef | None, ctx: RuleContext) -> None:
        if is_benchmark_file(ctx.path):
            return  # synthetic data, timed and never looked at: correlated draws change nothing measured
        for node, kind in _key_reuse(body, ctx):
            if kind == self.kind:
                ctx.report(node, self)

    def looks_untraced(self, function: FunctionInfo, path: str) -> bool:
        return not is_benchmark_file(path) and may_reuse_keys(function, opaque_calls_consume(path))


class PrngKeyReuse(_KeyReuseRule):
    """The same PRNG key consumed twice.

    ## What it does
    Flags the second consumption of a key without a `split` in between. A key is
    consumed by a `jax.random` sampler or `split`, by a function of the module
    that consumes it, and, as JAX's own checker counts a jitted callee, by any
    call jaxpure cannot see into that is handed the key (`env.reset(key)`,
    `model.init(key, x)`, `Block(key=key)`). A key is what a key maker, `split`
    or `fold_in` returns, what a `jax.random` function is handed, or a parameter
    annotated as one (`key: chex.PRNGKey`, `PRNGKeyArray`): a key the function
    draws from, then stores (`State(key=key)`) to be split later, is used twice.
    `fold_in(key, data)` derives a new
    key and does not consume `key`, and neither does a function whose body only
    passes the key on or folds it in, a question asked in a condition
    (`if is_key(key):`), or abstract evaluation (`jax.eval_shape`, which draws
    nothing, in the function it evaluates either). In test
    files only `jax.random` consumers count: handing one key to two calls is how
    tests compare them, and drawing again with the same sampler and the same
    arguments is how they replay the same data. Exclusive branches may each
    consume the same key once. `permutation(key, xs)` then `permutation(key, ys)`
    (or `choice` with the same shape, `replace` and `p`) draws the same indices
    for two arrays, the way paired data is shuffled: not a reuse. Nor is a
    property of a key generator read twice (`gen.key` where the class's getter,
    or the `__next__` it calls, splits the key it keeps): every read is a new key.
    Benchmark files (`bench_*.py`, `*_benchmark.py`, files under a `benchmarks/`
    folder) are left alone: their inputs are synthetic, timed and never looked at.

    ## Why is this bad?
    JAX's random numbers are a pure function of the key: two draws from one key
    are identical or correlated, silently.

    ## Example
    ```python
    import jax

    def init(key):
        w = jax.random.normal(key, (3,))
        b = jax.random.normal(key, (3,))
        return w, b
    ```

    ## Use instead
    ```python
    import jax

    def init(key):
        key_w, key_b = jax.random.split(key)
        w = jax.random.normal(key_w, (3,))
        b = jax.random.normal(key_b, (3,))
        return w, b
    ```
    """

    code = "JP302"
    name = "prng-key-reuse"
    message = "this key was already consumed; split it: key, subkey = jax.random.split(key)"
    scope = EVERYWHERE
    kind = prngkeys.REUSE


class PrngKeyReuseInLoop(_KeyReuseRule):
    """A key consumed in every iteration of a loop without being re-derived.

    ## What it does
    Flags a key defined outside a Python loop, a comprehension or a `lax` loop
    body (`scan`, `fori_loop`, `while_loop`, `map`) and consumed inside it
    without being split or folded per iteration. Rebinding the key in the loop
    re-derives it, through a name, an attribute or an item alike
    (`self.key, sub = jax.random.split(self.key)`). A `lax` loop body that
    returns a key it consumed in its carry hands the next iteration a used key.
    A branch on the loop's own counter equal to a constant (`if t == 0:`) runs
    in one iteration only: what it consumes is consumed once. Benchmark files
    are left alone, as for JP302.

    ## Why is this bad?
    Every iteration draws the same numbers.

    ## Example
    ```python
    import jax

    def noise(key, n):
        return [jax.random.normal(key) for _ in range(n)]
    ```

    ## Use instead
    ```python
    import jax

    def noise(key, n):
        return [jax.random.normal(jax.random.fold_in(key, i)) for i in range(n)]
    ```
    """

    code = "JP303"
    name = "prng-key-reuse-in-loop"
    message = "the key is consumed on every iteration; split per iteration or use jax.random.fold_in(key, i)"
    scope = EVERYWHERE
    kind = prngkeys.IN_LOOP


class ConstantSeedInTracedFunction(Rule):
    """A PRNG key built inside a traced function from a constant, the clock or `np.random`.

    ## What it does
    Flags `jax.random.key(0)` / `PRNGKey(...)` inside staged code when the seed is
    a literal, a clock read or a NumPy random draw. Test files (`test_*.py`,
    `*_test.py`, `conftest.py`, files under a `tests/` folder) are left alone:
    there a fixed seed is the point, and so are benchmark files. So is a constant
    key folded with data (`fold_in(key(0), state.step)`): it is a different key
    for every step. The function must draw from the key itself (a `jax.random`
    sampler, directly or through `split`/`fold_in`): a key only handed to calls
    jaxpure cannot see into (`model.init(key(0), x)` for a cache's shapes, an
    initializer of zeros) is often a placeholder whose randomness nobody uses.

    ## Why is this bad?
    The key is the same on every call (or frozen at trace time), so the
    "random" numbers never change.

    ## Example
    ```python
    import jax

    @jax.jit
    def dropout(x):
        key = jax.random.key(0)
        return x * jax.random.bernoulli(key, 0.9, x.shape)
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def dropout(x, key):
        return x * jax.random.bernoulli(key, 0.9, x.shape)
    ```
    """

    code = "JP304"
    name = "constant-seed-in-traced-function"
    severity = "warning"
    message = "the key is built from a constant seed inside the traced function; take the key as an argument"
    nodes = (cst.Call,)

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        if ctx.qualified(node.func) not in _KEY_CONSTRUCTORS or not node.args:
            return
        if ctx.abstract:
            return  # eval_shape/make_jaxpr never draw from the key: a placeholder key is the idiom
        if is_test_file(ctx.path) or is_benchmark_file(ctx.path):
            return  # a fixed seed is the point of a test, and a benchmark's data are never looked at
        seed = node.args[0].value
        literal = _is_literal_number(seed) and not ctx.traced(seed)
        if not (literal or _reads_clock_or_numpy_random(seed, ctx)) or _folded_with_data(node, ctx):
            return
        if _drawn_from_here(node, ctx):
            ctx.report(node, self)


def _drawn_from_here(key: cst.Call, ctx: RuleContext) -> bool:
    """Whether the function that builds the key draws from it: hands it to a ``jax.random``
    sampler, directly, through ``split``/``fold_in`` or the names they are bound to. A key only
    handed to calls jaxpure cannot see into (an initializer of zeros, ``model.init`` for a
    cache's shapes) is often a placeholder whose randomness nobody uses: silence over a guess
    (SPEC §8). Uses inside nested functions and lambdas count."""
    body = ctx.function_body(key)
    parents, uses = ctx.memo(f"names in {id(body)}", lambda: _parents_and_uses(body))
    pending: list[cst.CSTNode] = [key]
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        parent = parents.get(value)
        if type(parent) is cst.Subscript and parent.value is value:  # ``keys[0]`` of a split
            pending.append(parent)
        elif type(parent) is cst.Arg:
            call = parents.get(parent)
            if type(call) is not cst.Call:
                continue
            called = ctx.qualified(call.func)
            if called in jaxapi.KEY_DERIVERS or called in jaxapi.KEY_SPLITTERS:
                pending.append(call)
            elif called is not None and called.startswith("jax.random.") and called not in jaxapi.NON_CONSUMING_RANDOM:
                return True
        elif type(parent) is cst.Assign and parent.value is value:
            for target in parent.targets:
                pending.extend(use for name in prngkeys.target_names(target.target) for use in uses.get(name, ()))
    return False


def _parents_and_uses(body: cst.CSTNode) -> tuple[dict[cst.CSTNode, cst.CSTNode], dict[str, list[cst.Name]]]:
    """Every node's parent in ``body``, nested functions and lambdas included, and each name's uses."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    uses: dict[str, list[cst.Name]] = {}
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        for child in cst_children(node):
            parents[child] = node
            stack.append(child)
        if type(node) is cst.Name:
            uses.setdefault(node.value, []).append(node)
    return parents, uses


def _folded_with_data(key: cst.Call, ctx: RuleContext) -> bool:
    """``fold_in(key(0), state.step)``: a different key for every step, nothing frozen. Whether
    ``step`` is traced or static, each value gives its own key; only a literal folds to one."""
    argument = ctx.parent(key)
    call = ctx.parent(argument) if isinstance(argument, cst.Arg) else None
    if not isinstance(call, cst.Call) or len(call.args) < 2 or call.args[0] is not argument:
        return False
    return ctx.qualified(call.func) in jaxapi.KEY_DERIVERS and not _is_literal_number(call.args[1].value)


def _is_literal_number(node: cst.BaseExpression) -> bool:
    """``0``, ``-1``: one value on every call."""
    return isinstance(node, cst.Integer | cst.UnaryOperation)


def _reads_clock_or_numpy_random(seed: cst.BaseExpression, ctx: RuleContext) -> bool:
    """``time.time()``, ``int(time.time())``, ``np.random.randint(...)`` as a seed."""
    for _ in range(8):  # follow ``seed = int(time.time())`` through a few local names
        bound = ctx.binding(seed.value) if isinstance(seed, cst.Name) else None
        if bound is not None:
            seed = bound
            continue
        if not isinstance(seed, cst.Call):
            return False
        called = ctx.qualified(seed.func) or ""
        if called.startswith("time.") or is_stateful_rng_call(called):
            return True
        if called not in ("builtins.int", "builtins.hash") or not seed.args:
            return False
        seed = seed.args[0].value
    return False


RULES = [StatefulRngInTracedFunction, PrngKeyReuse, PrngKeyReuseInLoop, ConstantSeedInTracedFunction]
