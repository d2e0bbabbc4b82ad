"""JP1xx: side effects that run once, at trace time, and never again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from jaxpure.analysis import jaxapi
from jaxpure.analysis.cstnodes import is_array_region, names_read
from jaxpure.analysis.dataflow import base_name, dotted_name, iter_own_nodes
from jaxpure.analysis.index import ANYTIME, FunctionInfo
from jaxpure.analysis.rules.base import Rule, RuleContext
from jaxpure.analysis.testcode import in_test_function, is_test_file

_IO_CALLS = frozenset(
    """builtins.open builtins.input sys.stdout.write sys.stderr.write sys.stdout.flush
    sys.stdout.writelines sys.stderr.writelines os.remove os.unlink os.rename os.replace os.makedirs os.mkdir
    os.rmdir os.removedirs os.system os.write shutil.copy shutil.copyfile shutil.copytree shutil.move shutil.rmtree
    pickle.dump json.dump numpy.save numpy.savez numpy.savetxt""".split()
)
_BRANCH_TRANSFORMS = frozenset({"jax.lax.cond", "jax.lax.switch"})
_LOGGING_METHODS = frozenset("debug info warning warn error exception critical log fatal".split())
_FILE_METHODS = frozenset("write writelines read readline readlines flush".split())
_LOGGER_NAME = re.compile(r"^_?(log|logger|LOG|LOGGER|_logger)$")
_CLOCK_AND_ENV = frozenset(
    """time.time time.time_ns time.perf_counter time.perf_counter_ns time.monotonic time.monotonic_ns
    time.process_time time.localtime time.gmtime datetime.datetime.now datetime.datetime.utcnow
    datetime.datetime.today datetime.date.today os.getenv os.environ.get uuid.uuid1 uuid.uuid4 secrets.token_hex
    os.urandom""".split()
)


class PrintInTracedFunction(Rule):
    """`print()` inside a traced function.

    ## What it does
    Flags `print(...)` calls in functions that JAX stages: under `jit`, `vmap`,
    `lax.scan` and friends, and in the functions they call.

    ## Why is this bad?
    The body of a staged function runs once, when JAX traces it, with abstract
    tracers in place of your arrays. The print shows `Traced<ShapedArray(...)>`
    on the first call and nothing at all on every later call, which replays the
    compiled program. Under `vmap` or `grad` alone, which trace the body anew
    on every call (measured), only a print that shows a traced value is
    flagged: it prints a tracer, not the numbers.

    ## Example
    ```python
    import jax

    @jax.jit
    def step(x):
        print("x is", x)
        return x * 2
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def step(x):
        jax.debug.print("x is {}", x)
        return x * 2
    ```

    ## Fix safety
    The fix rewrites the call to `jax.debug.print`, turning an f-string into a
    format string with the values as arguments. It is not offered when `sep`,
    `end`, `file` or `flush` are passed.
    """

    code = "JP101"
    name = "print-in-traced-function"
    message = "print() runs once at trace time; use jax.debug.print"
    nodes = (cst.Call,)
    fixable = True

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        if ctx.qualified(node.func) != "builtins.print":
            return
        if ctx.caches_traces or _shows_traced_argument(node, ctx):  # vmap or grad alone print every call
            ctx.report(node, self)


class IoInTracedFunction(Rule):
    """File, stream, logging or warning I/O inside a traced function.

    ## What it does
    Flags `open`, `input`, writes to `sys.stdout`/`sys.stderr`, `logging` and
    logger calls and `os`/`shutil` file operations in staged code, and
    `warnings.warn` when its message shows a traced value or when it sits in a
    branch of `lax.cond`/`lax.switch`.

    ## Why is this bad?
    Like `print`, they run only while JAX traces the function: the log line is
    written once, with tracers, and the file is touched once, not on every call.
    Under `vmap`, `grad` or a custom derivative (`custom_vjp`, `custom_jvp`)
    alone, which trace the body anew on every call (measured: a `custom_vjp`
    body sees concrete arrays eagerly and under an eager `grad`), only a call
    that shows a traced value is flagged.
    A warning with a plain message is shown once per location anyway (Python's
    default filter), so at trace time it is what users see eagerly too; one
    that formats a tracer shows `Traced<...>`, and one in a `cond` branch fires
    whatever the condition, since every branch is traced.

    ## Example
    ```python
    import logging
    import jax

    @jax.jit
    def step(x):
        logging.info("loss %s", x)
        return x
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def step(x):
        jax.debug.callback(lambda v: print("loss", v), x)
        return x
    ```
    """

    code = "JP102"
    name = "io-in-traced-function"
    message = "{what} runs only at trace time; use jax.debug.callback or move it out of the traced function"
    nodes = (cst.Call,)

    def check(self, node: cst.Call, ctx: RuleContext) -> None:
        what = _io_call(node, ctx)
        if what is None:
            return
        # A plain warning shows once per location anyway (Python's default filter), unless every branch
        # of a ``cond`` is traced; vmap, grad or a custom derivative alone run the body on every call.
        plain_runs_once = ctx.caches_traces and (what != "warnings.warn()" or _in_branch(ctx))
        if plain_runs_once or _shows_traced_argument(node, ctx):
            ctx.report(node, self, what=what)


def _io_call(node: cst.Call, ctx: RuleContext) -> str | None:
    """How JP102 names the I/O a call does: ``open()``, ``logging.info()``, ``log.warning()``."""
    called = ctx.qualified(node.func)
    if called in _IO_CALLS:
        return f"{called.removeprefix('builtins.')}()"
    if called == "warnings.warn" or (
        called and called.startswith("logging.") and called.split(".")[-1] in _LOGGING_METHODS
    ):
        return f"{called}()"
    func = node.func
    if not isinstance(func, cst.Attribute):
        return None
    receiver = dotted_name(func.value) or ""
    logs = func.attr.value in _LOGGING_METHODS and _LOGGER_NAME.match(receiver.split(".")[-1])
    writes_file = (
        func.attr.value in _FILE_METHODS
        and isinstance(func.value, cst.Name)
        and ctx.bound_call(func.value.value) == "builtins.open"
    )
    return f"{receiver}.{func.attr.value}()" if logs or writes_file else None


def _in_branch(ctx: RuleContext) -> bool:
    """Inside a ``lax.cond``/``lax.switch`` branch: traced whatever the condition."""
    if ctx.transform in _BRANCH_TRANSFORMS:
        return True
    function = ctx.function
    return function is not None and any(
        root.function == function.qualname and root.transform.name in _BRANCH_TRANSFORMS for root in ctx.index.roots
    )


def _shows_traced_argument(call: cst.Call, ctx: RuleContext) -> bool:
    return any(_shows_traced(argument.value, ctx) for argument in call.args)


def _shows_traced(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """A message that holds or formats a traced value (``f"{x}"``, ``"{}".format(x)``, ``"%s" % x``)."""
    if ctx.traced(node):
        return True
    if isinstance(node, cst.FormattedString):
        return any(
            isinstance(part, cst.FormattedStringExpression) and _shows_traced(part.expression, ctx)
            for part in node.parts
        )
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        return _shows_traced_argument(node, ctx)
    if isinstance(node, cst.BinaryOperation):
        return _shows_traced(node.left, ctx) or _shows_traced(node.right, ctx)
    if isinstance(node, cst.Tuple | cst.List):
        return any(_shows_traced(e.value, ctx) for e in node.elements)
    return False


class ClockOrEnvReadInTracedFunction(Rule):
    """Reading the clock, the environment or a random UUID inside a traced function.

    ## What it does
    Flags `time.time()`, `perf_counter()`, `monotonic()`, `datetime.now()`,
    `os.environ[...]`, `os.getenv`, `os.environ.get` and `uuid.uuid4()` in staged code.

    ## Why is this bad?
    The value is read once, at trace time, and baked into the compiled program as
    a constant: every later call sees the same timestamp or setting. Only code
    whose trace is kept is flagged (`jit`, `lax` loop bodies, `checkpoint`, a
    framework Module's methods): under `vmap`, `grad` or a custom derivative
    alone the body is traced, and the value read, anew on every call.

    ## Example
    ```python
    import time
    import jax

    @jax.jit
    def stamp(x):
        return x + time.time()
    ```

    ## Use instead
    ```python
    import time
    import jax

    @jax.jit
    def stamp(x, now):
        return x + now

    stamp(1.0, time.time())
    ```
    """

    code = "JP103"
    name = "clock-or-env-read-in-traced-function"
    message = "{what} is read once at trace time and frozen into the compiled program; pass it as an argument"
    nodes = (cst.Call, cst.Subscript)

    def check(self, node, ctx: RuleContext) -> None:
        if isinstance(node, cst.Call):
            called = ctx.qualified(node.func)
            what = f"{called}()" if called in _CLOCK_AND_ENV else None
        else:
            what = "os.environ[...]" if ctx.qualified(node.value) == "os.environ" else None
        # A body traced anew on every call (vmap, grad, a custom derivative alone) reads anew too.
        if what is not None and ctx.caches_traces:
            ctx.report(node, self, what=what)


class GlobalRebindingInTracedFunction(Rule):
    """A `global` or `nonlocal` statement that rebinds a name inside a traced function.

    ## What it does
    Flags `global`/`nonlocal` declarations in staged functions that assign the name.

    ## Why is this bad?
    The assignment happens once, at trace time; later calls replay the compiled
    program and leave the global alone. If the value is a tracer, it leaks out of
    the trace and fails later with `UnexpectedTracerError`.

    ## Example
    ```python
    import jax

    calls = 0

    @jax.jit
    def step(x):
        global calls
        calls += 1
        return x
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def step(x, calls):
        return x, calls + 1
    ```

    In test files, `nonlocal` on a variable of the enclosing test function
    (`nonlocal n; n += 1` in a nested jitted function) is not reported: that is
    how a test counts traces, and the test that owns the variable runs once.
    """

    code = "JP104"
    name = "global-rebinding-in-traced-function"
    message = "global/nonlocal rebinding runs once at trace time and may leak a tracer; return the value instead"
    nodes = (cst.Global, cst.Nonlocal)

    def check(self, node, ctx: RuleContext) -> None:
        names = {n.name.value for n in node.names}
        if ctx.function is None or not names & ctx.function.local_names:  # declared, not assigned here
            return
        if isinstance(node, cst.Nonlocal) and _counts_for_a_test(names, ctx):
            return
        ctx.report(node, self)


class NonlocalMutationInTracedFunction(Rule):
    """Mutating an object the traced function did not create.

    ## What it does
    Flags `outer.append(x)`, `outer[k] = v`, `self.attr = v` and `obj.attr = v`
    on closed-over or global objects inside staged code, outside `with
    jax.ensure_compile_time_eval():` (a trace-time cache of constants, on
    purpose). A write to an array region (`ref[...] = v`, `ref[:, i] += v`: an
    ellipsis or a slice), or to any index of a Pallas kernel's parameter (the
    kernel handed to `pallas_call`, or a loop body nested in it), is left
    alone: that is how a mutable array reference (`jax.new_ref`, a Pallas
    kernel's refs) is written, and JAX stages the write, so it lands on every
    call. So is a memo: `CACHE[key] = built` after the function looked `key`
    up in `CACHE` (`CACHE.get(key)`, `key not in CACHE`), with neither traced
    and the value not read from the cache itself (a counter). Filled once per
    trace, it is what a cache of compiled kernels or shape tables is for.

    ## Why is this bad?
    The mutation happens once, at trace time, and stores tracers that leak out of
    the trace; later calls do not mutate anything.

    ## Example
    ```python
    import jax

    history = []

    @jax.jit
    def step(x):
        history.append(x)
        return x
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def step(x):
        return x, x  # return the new state and let the caller keep it
    ```

    In test files, mutating a variable of the enclosing test function
    (`traces.append(1)`, `counts[0] += 1` in a nested jitted function) is not
    reported: that is how a test observes tracing, and the test runs once. Nor
    is a nested helper that writes an object its traced enclosing function
    created, when that function only calls it (a jaxpr interpreter's
    `def write(v, x): env[v] = x`): it runs inside the same trace. A Module's
    own attributes are its framework's business: nnx tracks them, a haiku
    Module lives inside one trace, and a linen Module accepts `self.w = ...`
    only while `setup` runs (also from a helper it calls), which it does again
    on every `init` and `apply`; only linen's `__call__` is reported, where the
    assignment always raises.
    """

    code = "JP105"
    name = "nonlocal-mutation-in-traced-function"
    message = "mutating {what}, which the traced function did not create, happens once at trace time; return new state"
    nodes = (cst.Call, cst.AssignTarget, cst.AugAssign, cst.Del)

    def check(self, node, ctx: RuleContext) -> None:
        for reported, what in _outside_mutations(node, ctx):
            if not ctx.in_compile_time_eval(node):  # there: a trace-time cache of constants, on purpose
                ctx.report(reported, self, what=what)


def _outside_mutations(node, ctx: RuleContext) -> Iterator[tuple[cst.CSTNode, str]]:
    """The statement (or call) that mutates an object the traced function did not create, and
    how the message names the object."""
    if isinstance(node, cst.Call):
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in jaxapi.CONTAINER_MUTATORS
            and isinstance(func.value, cst.Name)
            and _outside(func.value.value, ctx)
        ):
            name = func.value.value
            if (ctx.qualified(func.value) or "").split(".")[0] in jaxapi.LIBRARY_MODULES:
                return  # ``np.insert(a, 0, v)``, ``np.append``: a library function, no list method
            evident = ctx.index.module_values.get(name) in ("list", "dict", "set")
            if _kept_in_its_trace(name, ctx):
                return
            if evident or func.attr.value in jaxapi.UNAMBIGUOUS_MUTATORS:
                yield node, name
        return
    for target in _targets(node):
        if isinstance(target, cst.Attribute) and ctx.is_self(target.value):
            if _self_assignment_flagged(ctx):
                yield _statement(node, ctx), f"self.{target.attr.value}"
        elif isinstance(target, cst.Subscript | cst.Attribute):
            base = base_name(target)
            if base is None or not _outside(base, ctx) or _kept_in_its_trace(base, ctx):
                continue
            if isinstance(target, cst.Subscript) and (is_array_region(target) or ctx.is_reference(base)):
                continue  # ``o_ref[...] = v``: a reference's staged write, not a Python mutation
            if isinstance(target, cst.Subscript) and _memo_store(target, node, ctx):
                continue
            if not (ctx.module_class and ctx.module_class.framework == "nnx"):
                yield _statement(node, ctx), base


def _memo_store(target: cst.Subscript, node, ctx: RuleContext) -> bool:
    """``CACHE[key] = built`` in a function that looks ``key`` up in ``CACHE`` first
    (``CACHE.get(key)``, ``key in CACHE``): a memo of Python values (a compiled kernel, a table
    built from static shapes). Filling it once per trace is all it is for; a trace for other
    shapes fills its own entry. A traced key or value would leak a tracer, and a value read from
    the cache itself (``n[k] = n.get(k, 0) + 1``) counts traces, not calls: both stay."""
    statement = ctx.parent(node)
    if not (isinstance(statement, cst.Assign) and isinstance(target.value, cst.Name) and len(target.slice) == 1):
        return False
    index = target.slice[0].slice
    cache = target.value.value
    if not isinstance(index, cst.Index) or cache in names_read(statement.value):
        return False
    key = index.value
    if ctx.traced(key) or ctx.traced(statement.value):
        return False
    return any(_looks_up(n, cache, key) for n in iter_own_nodes(ctx.function_body(node)))


def _looks_up(node: cst.CSTNode, cache: str, key: cst.BaseExpression) -> bool:
    """``cache.get(key)`` or ``key in cache`` / ``key not in cache``."""
    if isinstance(node, cst.Call):
        func = node.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "get"
            and isinstance(func.value, cst.Name)
            and func.value.value == cache
            and bool(node.args)
            and node.args[0].value.deep_equals(key)
        )
    return (
        isinstance(node, cst.Comparison)
        and node.left.deep_equals(key)
        and any(
            isinstance(c.operator, cst.In | cst.NotIn)
            and isinstance(c.comparator, cst.Name)
            and c.comparator.value == cache
            for c in node.comparisons
        )
    )


def _targets(node: cst.AssignTarget | cst.AugAssign | cst.Del) -> list[cst.BaseExpression]:
    target = node.target
    return [e.value for e in target.elements] if isinstance(target, cst.Tuple) else [target]


def _statement(node, ctx: RuleContext):
    return ctx.parent(node) if isinstance(node, cst.AssignTarget) else node


def _outside(name: str, ctx: RuleContext) -> bool:
    """A closed-over or global object: not a local, not a parameter (that is JP203), not self."""
    return not ctx.is_local(name) and not ctx.is_param(name) and name != "self"


def _kept_in_its_trace(name: str, ctx: RuleContext) -> bool:
    """An outside object whose mutation is seen where it matters: a test's own trace counter, or
    the object of the traced function around a nested helper."""
    return _counts_for_a_test({name}, ctx) or _owner_traces_it(name, ctx)


def _owner_traces_it(name: str, ctx: RuleContext) -> bool:
    """``env[var] = val`` in ``write``, nested in the traced function that created ``env`` and only
    called, never handed to a transform: it runs inside that function's own trace, on its own
    object (a jaxpr interpreter's environment), as the function itself writing to ``env`` would."""
    function = ctx.function
    owner = ctx.enclosing_binding(name)
    if function is None or owner is None or owner.qualname != function.parent:
        return False
    return ctx.is_traced_function(owner.qualname) and not ctx.is_transformed_function(function.qualname)


def _counts_for_a_test(names: set[str], ctx: RuleContext) -> bool:
    """In a test file, every name is a variable of an enclosing test function: the test's own
    state (a trace counter), which it reads once it has run."""
    if not is_test_file(ctx.path) or ctx.function is None:
        return False
    owners = [ctx.enclosing_binding(name) for name in names]
    return all(owner is not None and in_test_function(owner, ctx.index) for owner in owners)


def _self_assignment_flagged(ctx: RuleContext) -> bool:
    function = ctx.function
    if ctx.fresh_self:
        return False  # ``game = Game(state); game.step()`` in traced code: an object of this very trace
    if function is None or ctx.module_class is None:
        return function is not None and function.class_name is not None
    if function.name in ("__init__", "__post_init__", "setup"):
        return False
    # nnx Modules are mutable state, tracked by nnx.jit; a haiku Module only lives inside the
    # hk.transform'ed function that built it, so ``self.w = hk.get_parameter(...)`` mutates an
    # object of that very trace (haiku's own idiom for caching parameters and sub-modules). A
    # linen Module is frozen once bound, outside ``setup``: an assignment in a helper runs while
    # ``setup`` does (or on an unbound Module), and ``setup`` runs again on every ``init`` and
    # ``apply`` (measured); in ``__call__`` it can never run (SetAttributeFrozenModuleError).
    framework = ctx.module_class.framework
    if framework == "linen":
        return function.name == "__call__"
    return framework not in ("nnx", "haiku")


class MutableGlobalReadInTracedFunction(Rule):
    """Reading a module-level value that the module changes elsewhere.

    ## What it does
    Flags reads, inside staged code, of a module-level name that the module
    rebinds (`global` in a function, a later assignment, augmented assignment
    or `for` loop at module level) or that holds a list, dict, set or array it
    mutates, where that change can run after the traced function is defined:
    in any function body, in module-level code after the `def` (a later cell
    of a notebook), or under `if __name__ == "__main__":`. Configuration set
    up before the `def` is fine, and so is a parameter or local of an
    enclosing function that shadows the global. Only where a trace is kept and
    reused (`jit`, a `lax` loop body, `checkpoint`, a Module's methods): `vmap`
    or `grad` alone trace anew on every call and read the value of the moment.
    Reads inside `with jax.ensure_compile_time_eval():` are trace-time on purpose.
    A notebook is a whole program:
    a change after its last use of the traced function (or of a transform of
    it) cannot reach a stale trace, and is fine too. So is a module-level
    change that runs before the module's own first use of a top-level traced
    function (`Params = namedtuple("Params", Params)`, then `DEFAULT = f(...)`):
    no trace exists yet, and nothing changes the name later.

    ## Why is this bad?
    JAX reads the value once, at trace time, and bakes it into the compiled
    program. Later changes to the global are silently ignored until something
    forces a retrace.

    ## Example
    ```python
    import jax

    SCALE = [1.0]

    def set_scale(value):
        SCALE[0] = value

    @jax.jit
    def apply(x):
        return x * SCALE[0]
    ```

    ## Use instead
    ```python
    import jax

    @jax.jit
    def apply(x, scale):
        return x * scale
    ```
    """

    code = "JP106"
    name = "mutable-global-read-in-traced-function"
    severity = "warning"
    message = "{name} is a module-level value changed elsewhere; it is frozen at trace time, pass it as an argument"
    nodes = (cst.Name,)

    def check(self, node: cst.Name, ctx: RuleContext) -> None:
        name = node.value
        index = ctx.index
        if name not in index.module_values or ctx.is_local(name) or ctx.is_param(name):
            return
        if not ctx.caches_traces:
            return  # traced anew on every call, it reads the global's value of the moment
        defined = _definition_line(node, ctx)
        changes = index.rebound_globals.get(name, 0) > defined or (
            index.mutated_globals.get(name, 0) > defined
            and index.module_values.get(name) in ("list", "dict", "set", "array")
        )
        if not changes or _enclosing_binds(name, ctx) or not _is_plain_read(node, ctx):
            return
        if _changed_only_after_last_use(name, defined, ctx) or ctx.in_compile_time_eval(node):
            return  # no call sees the stale value, or it is read at trace time on purpose
        if _changed_only_before_first_use(name, ctx):
            return  # the module's setup finished before anything could trace the function
        if ctx.first_time(("JP106", name)):
            ctx.report(node, self, name=name)


def _outermost_function(ctx: RuleContext) -> FunctionInfo | None:
    """The module-level ``def`` around the read (None in a module-level lambda)."""
    function = ctx.function
    while function is not None and function.parent is not None and function.parent in ctx.index.functions:
        function = ctx.index.functions[function.parent]
    return function


def _definition_line(node: cst.Name, ctx: RuleContext) -> int:
    """Where the traced function comes into being at module level (its outermost enclosing
    ``def``, or the read itself in a module-level lambda): a change of the global before that
    line has happened before any trace."""
    function = _outermost_function(ctx)
    return function.span[0] if function is not None else ctx.line(node)


def _changed_only_after_last_use(name: str, defined: int, ctx: RuleContext) -> bool:
    """A whole program (a notebook) that changes the global only after its last use of the traced
    function (or of a transform of it): no call can see the stale value."""
    function = _outermost_function(ctx)
    last = ctx.index.last_uses.get(function.qualname) if function is not None else None
    changes = [line for line in ctx.index.change_lines.get(name, ()) if line > defined]
    return last is not None and bool(changes) and min(changes) > last and ANYTIME not in changes


def _changed_only_before_first_use(name: str, ctx: RuleContext) -> bool:
    """Every change of the global is module-level code that runs before the module's first use
    of the traced function (``Params = namedtuple("Params", Params)`` under the ``def``, then
    ``DEFAULT = f(...)``): no trace can happen earlier, and nothing changes it later."""
    function = _outermost_function(ctx)
    if function is None or function.class_name is not None:
        return False  # a module-level lambda, or a method, which its class may run at any time
    first = ctx.index.first_use(function.qualname)
    if first is None:
        return False  # not used by the module itself: SPEC §8 counts any later module-level change
    index = ctx.index
    last_change = max(index.rebound_globals.get(name, 0), index.mutated_globals.get(name, 0))
    return last_change < first  # ANYTIME (a function body changes the global) is after every line


def _enclosing_binds(name: str, ctx: RuleContext) -> bool:
    """A parameter or local of an enclosing function: the closure variable, not the global."""
    function = ctx.function
    while function is not None and function.parent is not None:
        function = ctx.index.functions.get(function.parent)
        if function is not None and name in function.local_names:
            return True
    return False


def _is_plain_read(node: cst.Name, ctx: RuleContext) -> bool:
    """A load of the value, not an attribute name, a keyword, or the object of a mutation (JP105)."""
    parent = ctx.parent(node)
    if isinstance(parent, cst.Attribute):
        if isinstance(ctx.parent(parent), cst.AssignTarget | cst.AugAssign | cst.Del):
            return False  # ``foo.count += 1``: the mutation, which is JP105's
        return parent.value is node and parent.attr.value not in jaxapi.CONTAINER_MUTATORS
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return False
    if isinstance(parent, cst.NameItem | cst.AssignTarget):
        return False
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return not isinstance(ctx.parent(parent), cst.AssignTarget | cst.Del | cst.AugAssign)
    return True


RULES = [
    PrintInTracedFunction,
    IoInTracedFunction,
    ClockOrEnvReadInTracedFunction,
    GlobalRebindingInTracedFunction,
    NonlocalMutationInTracedFunction,
    MutableGlobalReadInTracedFunction,
]
