"""The experiments that confirm findings, one function each (child process only).

Every experiment clears JAX's caches before it traces: JAX caches a trace by
the identity of the Python function, shares that cache between ``jit``,
``make_jaxpr`` and ``.trace``, and keeps the inner caches of nested jitted
functions; only ``jax.clear_caches()`` makes all of them trace again
(docs/runtime.md shows the measurement).
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
from collections.abc import Callable

import jax
import numpy as np

from jaxpure.runtime import rules
from jaxpure.runtime.compare import (
    TRACER_TEXT,
    constant_seeds,
    contains_tracer,
    difference,
    jaxpr_difference,
    same_tree,
    show,
    show_tree,
    snapshot,
)
from jaxpure.runtime.context import Context, InputRejected, Verdict, confirmed, not_reproduced, skipped
from jaxpure.runtime.inputs import Inputs, describe_value
from jaxpure.runtime.perturb import changed_value
from jaxpure.runtime.probes import LineProbe
from jaxpure.runtime.targets import Target

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def times(count: int) -> str:
    return f"{count} time" if count == 1 else f"{count} times"


# ------------------------------------------------------------------ JP101, JP102: trace-time effects


def trace_time_effects(ctx: Context) -> Verdict:
    """The effect happens on the tracing call and not on the cached one (or happens on a tracer)."""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        first, second = _two_probed_calls(ctx, target, inputs)
        line = ctx.task.line
        if first.runs == 0 and second.runs == 0:
            return not_reproduced(f"line {line} never ran in 2 calls of {target.label} with {inputs.description}")
        effects = first.effects or second.effects
        quote = f": {effects[0]}" if effects else ""
        what = "printed" if ctx.task.code == "JP101" else f"line {line} ran"
        if second.runs == 0:
            return confirmed(
                f"{what} {times(first.runs)} over 2 calls of {target.label} with the same shapes, "
                f"on the tracing call only{quote}"
            )
        if any(TRACER_TEXT.search(effect) for effect in second.effects):
            return confirmed(f"{what} on every call of {target.label}, but a tracer instead of values{quote}")
        return not_reproduced(
            f"line {line} ran on both calls of {target.label} ({first.runs} and {second.runs} times) "
            f"and showed values{quote}: the transform re-runs the Python body on every call"
        )

    return ctx.try_inputs(target, attempt)


def _two_probed_calls(ctx: Context, target: Target, inputs: Inputs, functions=frozenset()) -> tuple[LineProbe, LineProbe]:
    """A tracing call and a second, cached call of the staged target, each watched."""
    with ctx.probe(functions) as first:
        target.trace(inputs)
    with ctx.probe(functions) as second:
        target.trace(inputs)
    return first, second


# ------------------------------------------------------------------ JP103, JP301, JP304: two traces


def two_traces(ctx: Context) -> Verdict:
    """Trace twice with every cache cleared (and the clock and environment moved): do the programs differ?"""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        with ctx.perturbation.recording(), ctx.probe() as probe:
            first = target.jaxpr(inputs)
        with ctx.perturbation.shifted() as changes:
            jax.clear_caches()
            second = target.jaxpr(inputs)
        if probe.runs == 0:
            return not_reproduced(f"line {ctx.task.line} never ran while tracing {target.label} with {inputs.description}")
        between = f", with {' and '.join(changes)} between them" if changes else ""
        differs = jaxpr_difference(first, second)
        if differs:
            return confirmed(f"two traces of {target.label} baked different constants{between}: {differs}")
        seeds = constant_seeds(first) if ctx.task.code == "JP304" else []
        if seeds:
            return confirmed(f"the traced program of {target.label} seeds its key from a constant (`{seeds[0]}`): every call draws the same numbers")
        return not_reproduced(f"two traces of {target.label} gave the same program{between}: nothing is frozen with {inputs.description}")

    return ctx.try_inputs(target, attempt)


# ------------------------------------------------------------------ JP104: global rebinding

_DECLARATION = re.compile(r"\b(global|nonlocal)\s+([A-Za-z_][\w\s,]*)")
_MISSING = object()


def global_rebinding(ctx: Context) -> Verdict:
    """The global after two staged calls differs from after two eager calls, or holds a leaked tracer."""
    declaration = _DECLARATION.search(ctx.lines[ctx.task.line - 1])
    if declaration is None:
        return skipped(f"line {ctx.task.line} holds no global or nonlocal statement to watch")
    if declaration.group(1) == "nonlocal":
        return nonlocal_mutation(ctx)
    names = [name.strip() for name in declaration.group(2).split(",") if name.strip()]
    target = ctx.target()
    namespace = vars(ctx.module)

    def ending_values(run: Callable[[Inputs], object], inputs: Inputs) -> dict:
        saved = {name: namespace.get(name, _MISSING) for name in names}
        try:
            run(inputs)
            run(inputs)
            return {name: snapshot(namespace[name]) if name in namespace else _MISSING for name in names}
        finally:
            for name, value in saved.items():
                if value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        try:
            staged = ending_values(target.trace, inputs)
            eager = ending_values(target.eager, inputs)
        except Exception as error:
            raise InputRejected(error) from error
        for name in names:
            tracer = contains_tracer(staged[name])
            if tracer is not None:
                return confirmed(f"after 2 calls of {target.label}, global {name} holds a leaked tracer, {tracer}; run eagerly it ends as {_shown(eager[name])}")
        for name in names:
            if difference(eager[name], staged[name]):
                return confirmed(
                    f"after 2 calls, global {name} is {_shown(staged[name])} under {target.label} but "
                    f"{_shown(eager[name])} run eagerly: the rebinding ran only while tracing"
                )
        ending = ", ".join(f"{name} = {_shown(staged[name])}" for name in names)
        return not_reproduced(f"2 calls of {target.label} and 2 eager calls leave the same globals ({ending})")

    return ctx.try_inputs(target, attempt)


def _shown(value) -> str:
    return "unset" if value is _MISSING else show(value)


# ------------------------------------------------------------------ JP105 (and nonlocal JP104): mutation, leaks


def nonlocal_mutation(ctx: Context) -> Verdict:
    """The mutation runs on the tracing call only, and/or JAX's leak checker finds the tracer it stored."""
    target = ctx.target()
    declaration = ctx.task.code == "JP104"  # a `nonlocal` line never runs: count its function's calls

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        function = frozenset({ctx.task.function}) if ctx.task.function else frozenset()
        first, second = _two_probed_calls(ctx, target, inputs, function)
        ran = (first.calls, second.calls) if declaration else (first.runs, second.runs)
        subject = f"{ctx.task.function}, which rebinds a nonlocal," if declaration else f"the mutation at line {ctx.task.line}"
        leak = _leak_report(target, inputs)
        leak_note = f"; jax.checking_leaks: {leak}" if leak else ""
        if ran[0] and not ran[1]:
            return confirmed(f"{subject} ran {times(ran[0])} over 2 calls of {target.label}, on the tracing call only{leak_note}")
        if leak:
            return confirmed(f"jax.checking_leaks on {target.label}: {leak}")
        if not any(ran):
            return not_reproduced(f"{subject} never ran in 2 calls of {target.label} with {inputs.description}")
        return not_reproduced(f"{subject} ran on both calls of {target.label} ({ran[0]} and {ran[1]} times) and leaked no tracer")

    return ctx.try_inputs(target, attempt)


def _leak_report(target: Target, inputs: Inputs) -> str | None:
    jax.clear_caches()
    try:
        with jax.checking_leaks():
            target.trace(inputs)
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        if lines and lines[0].startswith("Leaked"):
            return " ".join(lines[:3])[:200]
    finally:
        jax.clear_caches()
    return None


# ------------------------------------------------------------------ JP106: stale global


def stale_global(ctx: Context) -> Verdict:
    """Rebind the global between two calls: the staged function keeps the value it was traced with."""
    name = _leading_name(ctx.finding_text())
    namespace = vars(ctx.module)
    if name is None or name not in namespace:
        return skipped(f"the read at line {ctx.task.line} ({ctx.finding_text()!r}) is not a global of {ctx.module_name}")
    old = namespace[name]
    new = changed_value(old)
    if new is None:
        return skipped(f"jaxpure cannot make another value for global {name} (a {type(old).__name__}); rebind it between two calls yourself to see the stale value")
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        try:
            before = target.call(inputs)
            namespace[name] = new
            after = target.call(inputs)
            eager = target.eager(inputs)
        except Exception as error:
            raise InputRejected(error) from error
        finally:
            namespace[name] = old
        rebound = f"after rebinding {name} from {show(snapshot(old))} to {show(snapshot(new))}"
        if not same_tree(before, after):
            return not_reproduced(f"{rebound}, {target.label} returned {show_tree(after)} (was {show_tree(before)}): it saw the new value")
        if _close_trees(after, eager):
            return not_reproduced(f"the result of {target.label} does not depend on {name} with {inputs.description}")
        return confirmed(
            f"{rebound}, {target.label} still returns {show_tree(after)} (the value it was traced with); "
            f"run eagerly it returns {show_tree(eager)}"
        )

    return ctx.try_inputs(target, attempt)


def _leading_name(text: str) -> str | None:
    match = re.match(r"\s*([A-Za-z_]\w*)", text)
    return match.group(1) if match else None


def _close_trees(a, b) -> bool:
    """Equal up to the rounding that separates eager and compiled arithmetic."""
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    if len(leaves_a) != len(leaves_b):
        return False
    for x, y in zip(leaves_a, leaves_b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True):
            return False
    return True


# ------------------------------------------------------------------ JP2xx/JP4xx/JP501: tracing raises


def tracing_raises(ctx: Context) -> Verdict:
    """Tracing raises at the finding's line; JAX's own error is the evidence."""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        try:
            target.trace(inputs)
        except Exception as error:
            if ctx.raised_at(error) is None:
                raise InputRejected(error) from error
            return confirmed(f"tracing {target.label} with {inputs.description} raised {ctx.describe_error(error)}")
        return not_reproduced(f"tracing {target.label} with {inputs.description} raised no error")

    return ctx.try_inputs(target, attempt)


# ------------------------------------------------------------------ JP203, JP204: argument state


def argument_state(ctx: Context) -> Verdict:
    """Run eagerly and staged on copies of the same arguments: compare the caller's arguments and results."""
    target = ctx.target()
    inplace_numpy = ctx.task.code == "JP204"  # in-place NumPy methods need NumPy arguments to act on

    def attempt(inputs: Inputs) -> Verdict:
        staged_inputs, eager_inputs = copy.deepcopy(inputs), copy.deepcopy(inputs)
        before = snapshot(_named_arguments(target, inputs))
        jax.clear_caches()
        staged_error = None
        try:
            staged_result = target.call(staged_inputs)
        except Exception as error:
            if ctx.raised_at(error) is None:
                raise InputRejected(error) from error
            staged_error, staged_result = error, None
        try:
            eager_result = target.eager(eager_inputs)
        except Exception as error:
            raise InputRejected(error) from error
        eager_change = difference(before, snapshot(_named_arguments(target, eager_inputs)))
        staged_after = snapshot(_named_arguments(target, staged_inputs))
        eagerly = f"; run eagerly it changes the argument: {eager_change}" if eager_change else ""
        if staged_error is not None:
            return confirmed(f"under {target.label}, {ctx.describe_error(staged_error)}{eagerly}")
        leaked = contains_tracer(staged_after)
        if leaked is not None:
            return confirmed(f"after a call of {target.label} the caller's argument holds a leaked tracer, {leaked}")
        if eager_change and not difference(before, staged_after):
            return confirmed(f"the argument changed eagerly ({eager_change}), not under {target.label}: the caller's object is left as it was")
        if not _close_trees(staged_result, eager_result):
            return confirmed(f"eager and staged results differ: eagerly {show_tree(eager_result)}, under {target.label} {show_tree(staged_result)}")
        if ctx.task.code == "JP204":
            return _sorted_copy_ignored(ctx, target, inputs)
        return not_reproduced(f"eager and staged calls of {target.label} with {inputs.description} leave the arguments and results alike")

    return ctx.try_inputs(target, attempt, numpy_arrays=inplace_numpy)


def _named_arguments(target: Target, inputs: Inputs) -> dict:
    try:
        return dict(inspect.signature(target.raw).bind_partial(*inputs.args, **inputs.kwargs).arguments)
    except (TypeError, ValueError):
        return {"args": list(inputs.args), **inputs.kwargs}


def _sorted_copy_ignored(ctx: Context, target: Target, numpy_inputs: Inputs) -> Verdict:
    """``x.sort()`` as a statement on a JAX array: the sorted copy is thrown away (SPEC §7)."""
    receiver = _sort_receiver(ctx.finding_text())
    if receiver is None:
        return not_reproduced(f"eager and staged calls of {target.label} with {numpy_inputs.description} leave the arguments and results alike")
    jax_inputs = Inputs(
        *jax.tree_util.tree_map(lambda v: jax.numpy.asarray(v) if isinstance(v, np.ndarray) else v, (numpy_inputs.args, numpy_inputs.kwargs)),
        numpy_inputs.description.replace("np.", ""),
    )
    with ctx.probe(watch=receiver) as probe:
        target.eager(jax_inputs)
    for before, after in probe.watched:
        if isinstance(before, np.ndarray) and before.size > 1 and not np.array_equal(np.sort(before, axis=-1), before) and not difference(before, after):
            return confirmed(f"{receiver}.sort() at line {ctx.task.line} left {receiver} unsorted ({show(before)} before and after): a JAX array's .sort() returns a sorted copy")
    return not_reproduced(f"{receiver}.sort() at line {ctx.task.line} left no unsorted JAX array behind with {jax_inputs.description}")


def _sort_receiver(text: str) -> str | None:
    """``x`` of ``x.sort()``, if it is a plain name or attribute chain (safe to evaluate)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sort"):
        return None
    receiver = node.func.value
    while isinstance(receiver, ast.Attribute):
        receiver = receiver.value
    return ast.unparse(node.func.value) if isinstance(receiver, ast.Name) else None


# ------------------------------------------------------------------ JP302, JP303: key reuse


def key_reuse(ctx: Context) -> Verdict:
    """JAX's key-reuse checker, staged and eagerly; the eager run says which line reuses the key."""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        inputs, notes = _typed_keys(inputs)
        staged_error, eager_error, custom_note = _run_key_checker(target, inputs)
        note = "".join(f"; {n}" for n in [*notes, custom_note] if n)
        if staged_error is None and eager_error is None:
            return not_reproduced(f"jax.debug_key_reuse raised nothing for {target.label} with {inputs.description}{note}")
        eager_line = ctx.error_line(eager_error) if eager_error is not None else None
        if eager_line is not None and ctx.raised_at(eager_error) is None:
            return skipped(f"jax.debug_key_reuse stopped first at another reuse, line {eager_line} ({ctx.describe_error(eager_error)}); fix it to check line {ctx.task.line}")
        reported = ctx.describe_error(staged_error if staged_error is not None else eager_error)
        eagerly = f"; run eagerly: {ctx.describe_error(eager_error)}" if eager_error is not None and staged_error is not None else ""
        return confirmed(f"jax.debug_key_reuse on {target.label}: {reported}{eagerly}{note}")

    return ctx.try_inputs(target, attempt)


def _run_key_checker(target: Target, inputs: Inputs):
    """(staged error, eager error, note); keys built inside with PRNGKey are made typed where the code allows."""
    failure = None
    for typed_legacy_keys in (True, False):
        jax.clear_caches()
        errors = []
        try:
            with jax.enable_custom_prng(typed_legacy_keys), jax.debug_key_reuse(True):
                for run in (target.trace, target.eager):
                    try:
                        run(inputs)
                        errors.append(None)
                    except jax.errors.KeyReuseError as error:
                        errors.append(error)
        except Exception as error:
            failure = error
            continue
        finally:
            jax.clear_caches()
        note = "" if typed_legacy_keys else f"keys made inside with jax.random.PRNGKey stay legacy uint32 keys the checker cannot see (typed, the code failed: {type(failure).__name__})"
        return errors[0], errors[1], note
    raise InputRejected(failure)


def _typed_keys(inputs: Inputs) -> tuple[Inputs, list[str]]:
    """Legacy ``uint32[2]`` keys become typed keys: the checker only follows typed keys (SPEC §7)."""
    notes = []

    def convert(leaf):
        if isinstance(leaf, jax.Array | np.ndarray) and leaf.dtype == np.uint32 and leaf.shape[-1:] == (2,):
            try:
                typed = jax.random.wrap_key_data(leaf)
            except Exception as error:
                notes.append(f"a uint32{list(leaf.shape)} argument could not be made a typed key ({type(error).__name__}: {error})")
                return leaf
            notes.append(f"converted a legacy uint32{list(leaf.shape)} key with jax.random.wrap_key_data")
            return typed
        return leaf

    args, kwargs = jax.tree_util.tree_map(convert, (inputs.args, inputs.kwargs))
    description = inputs.description if not notes else inputs.description + " (keys made typed)"
    return Inputs(tuple(args), dict(kwargs), description), notes


# ------------------------------------------------------------------ JP502: compilations


class CompileCounter:
    """Counts XLA compilations through jax.monitoring (registered once per child)."""

    count = 0
    _registered = False

    @classmethod
    def register(cls) -> None:
        if not cls._registered:
            jax.monitoring.register_event_duration_secs_listener(cls._on_event)
            cls._registered = True

    @classmethod
    def _on_event(cls, event: str, duration: float, **kwargs) -> None:
        if event == COMPILE_EVENT:
            cls.count += 1


def compilations(ctx: Context) -> Verdict:
    """Call the enclosing function twice: a transform rebuilt per call compiles on both calls."""
    target = ctx.own_function()
    CompileCounter.register()

    def attempt(inputs: Inputs) -> Verdict:
        jax.clear_caches()
        counts, runs = [], []
        for _ in range(2):
            start = CompileCounter.count
            with ctx.probe() as probe:
                target.call(inputs)
            counts.append(CompileCounter.count - start)
            runs.append(probe.runs)
        if runs[0] == 0:
            return not_reproduced(f"line {ctx.task.line} never ran in 2 calls of {target.label} with {inputs.description}")
        in_loop = f"; line {ctx.task.line} ran {times(runs[0])} per call" if runs[0] > 1 else ""
        tally = f"{target.label} compiled {times(counts[0])} on its first call and {times(counts[1])} on its second"
        if counts[1] > 0:
            return confirmed(f"{tally}{in_loop}: the transform is rebuilt, so JAX's compile cache misses")
        return not_reproduced(f"{tally}: the compiled program was reused")

    return ctx.try_inputs(target, attempt)


# ------------------------------------------------------------------ JP503: unhashable static argument


def unhashable_static(ctx: Context) -> Verdict:
    """Pass the offending default explicitly (JAX never hashes an unpassed default); JAX refuses to hash it."""
    name = _leading_name(ctx.finding_text())
    target = ctx.target()
    try:
        parameter = inspect.signature(target.raw).parameters[name]
    except (KeyError, TypeError, ValueError):
        return skipped(f"{target.qualname} has no parameter {name!r} to pass")
    if name not in target.static_params:
        target.static_params = (*target.static_params, name)  # the static analysis saw it static; jit it so

    def attempt(inputs: Inputs) -> Verdict:
        value = parameter.default if parameter.default is not parameter.empty else jax.numpy.arange(3.0)
        passed = _with_argument(target, inputs, parameter, value)
        jax.clear_caches()
        shown = f"{name}={describe_value(value) if parameter.default is parameter.empty else show(snapshot(value))}"
        explicitly = " (its default, passed explicitly)" if parameter.default is not parameter.empty else ""
        try:
            target.trace(passed)
        except (ValueError, TypeError) as error:
            if "hash" not in str(error).lower():
                raise InputRejected(error) from error
            return confirmed(f"calling {target.qualname} with {shown}{explicitly} raised {ctx.describe_error(error)}")
        return not_reproduced(f"{target.label} accepted {shown} as a static argument")

    return ctx.try_inputs(target, attempt)


def _with_argument(target: Target, inputs: Inputs, parameter: inspect.Parameter, value) -> Inputs:
    """``inputs`` with ``parameter`` passed as ``value``, positionally or by name as its kind requires."""
    bound = inspect.signature(target.raw).bind_partial(*inputs.args, **inputs.kwargs)
    bound.arguments[parameter.name] = value
    return Inputs(bound.args, bound.kwargs, inputs.description)


EXPERIMENTS: dict[str, Callable[[Context], Verdict]] = {
    rules.TRACE_TIME_EFFECTS: trace_time_effects,
    rules.TWO_TRACES: two_traces,
    rules.GLOBAL_REBINDING: global_rebinding,
    rules.NONLOCAL_MUTATION: nonlocal_mutation,
    rules.STALE_GLOBAL: stale_global,
    rules.TRACING_RAISES: tracing_raises,
    rules.ARGUMENT_STATE: argument_state,
    rules.KEY_REUSE: key_reuse,
    rules.COMPILATIONS: compilations,
    rules.UNHASHABLE_STATIC: unhashable_static,
}


def run_experiment(ctx: Context) -> Verdict:
    return EXPERIMENTS[rules.RULE_EXPERIMENTS[ctx.task.code]](ctx)
