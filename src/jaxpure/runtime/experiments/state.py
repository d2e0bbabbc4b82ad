"""State the staged program does not share with the Python code: stale globals (JP106),
the caller's arguments (JP203), in-place NumPy methods (JP204)."""

from __future__ import annotations

import ast
import copy
import inspect

import numpy as np

from jaxpure.runtime.caches import forget_traces
from jaxpure.runtime.compare import close_trees, contains_tracer, difference, same_tree, show, show_tree, snapshot
from jaxpure.runtime.context import ExperimentContext, InputRejected, Verdict, confirmed, not_reproduced, skipped
from jaxpure.runtime.experiments.traces import caused_by_finding
from jaxpure.runtime.inputs import Inputs, with_jax_arrays
from jaxpure.runtime.perturb import changed_value
from jaxpure.runtime.targets import Target


def stale_global(ctx: ExperimentContext) -> Verdict:
    """Rebind the global between two calls: the staged function keeps the value it was traced with."""
    name = ctx.finding_name()
    namespace = vars(ctx.module)
    if name is None or name not in namespace:
        return skipped(
            f"the read at line {ctx.task.line} ({ctx.finding_text()!r}) is not a global of {ctx.module_name}"
        )
    old = namespace[name]
    new = changed_value(old)
    if new is None:
        return skipped(
            f"jaxpure cannot make another value for global {name} (a {type(old).__name__}); "
            "rebind it between two calls yourself to see the stale value"
        )
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
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
            return not_reproduced(
                f"{rebound}, {target.label} returned {show_tree(after)} (was {show_tree(before)}): it saw the new value"
            )
        if close_trees(after, eager):
            return not_reproduced(f"the result of {target.label} does not depend on {name} with {inputs.description}")
        return confirmed(
            f"{rebound}, {target.label} still returns {show_tree(after)} (the value it was traced with); "
            f"run eagerly it returns {show_tree(eager)}"
        )

    return ctx.try_inputs(target, attempt)


def argument_state(ctx: ExperimentContext) -> Verdict:
    """Run eagerly and staged on copies of the same arguments: compare the caller's arguments and the results."""
    target = ctx.target()
    inplace_numpy = ctx.task.code == "JP204"  # in-place NumPy methods need NumPy arguments to act on

    def attempt(inputs: Inputs) -> Verdict:
        staged_inputs, eager_inputs = copy.deepcopy(inputs), copy.deepcopy(inputs)
        before = _argument_snapshot(target, inputs)
        forget_traces()
        staged_error = staged_result = None
        try:
            staged_result = target.call(staged_inputs)
        except Exception as error:
            if not caused_by_finding(ctx, error):
                raise InputRejected(error) from error
            staged_error = error
        try:
            eager_result = target.eager(eager_inputs)
        except Exception as error:
            raise InputRejected(error) from error
        eager_change = _argument_change(before, _argument_snapshot(target, eager_inputs))
        staged_after = _argument_snapshot(target, staged_inputs)
        if staged_error is not None:
            eagerly = f"; run eagerly it changes the argument: {eager_change}" if eager_change else ""
            return confirmed(f"{target.label} raised {ctx.describe_error(staged_error)}{eagerly}")
        leaked = contains_tracer(staged_after)
        if leaked is not None:
            return confirmed(f"after a call of {target.label} the caller's argument holds a leaked tracer, {leaked}")
        if eager_change and not _argument_change(before, staged_after):
            return confirmed(
                f"the argument changed eagerly ({eager_change}), not in a call of {target.label}: "
                "the caller's object is left as it was"
            )
        if not close_trees(staged_result, eager_result):
            return confirmed(
                f"eager and staged results differ: eagerly {show_tree(eager_result)}, "
                f"from {target.label} {show_tree(staged_result)}"
            )
        if ctx.task.code == "JP204":
            return _sorted_copy_dropped(ctx, target, with_jax_arrays(inputs))
        return not_reproduced(
            f"eager and staged calls of {target.label} with {inputs.description} leave the arguments and results alike"
        )

    return ctx.try_inputs(target, attempt, numpy_arrays=inplace_numpy)


def _argument_snapshot(target: Target, inputs: Inputs) -> dict:
    """Each argument by parameter name, snapshotted."""
    try:
        named = inspect.signature(target.raw).bind_partial(*inputs.args, **inputs.kwargs).arguments
    except (TypeError, ValueError):
        named = {f"argument {i}": value for i, value in enumerate(inputs.args)} | inputs.kwargs
    return {name: snapshot(value) for name, value in named.items()}


def _argument_change(before: dict, after: dict) -> str | None:
    """``params['w'] 0.1 -> 0.2``: the first argument that changed, and how."""
    return next(filter(None, (difference(before[name], after[name], name) for name in before)), None)


def _sorted_copy_dropped(ctx: ExperimentContext, target: Target, inputs: Inputs) -> Verdict:
    """``x.sort()`` as a statement on a JAX array: the sorted copy is thrown away (SPEC §7)."""
    receiver = _sort_receiver(ctx.finding_text())
    if receiver is None:
        return not_reproduced(
            f"eager and staged calls of {target.label} with {inputs.description} leave the arguments and results alike"
        )
    with ctx.probe(watch=receiver) as probe:
        target.eager(inputs)
    for before, after in probe.watched:
        unsorted = isinstance(before, np.ndarray) and before.size > 1 and not np.array_equal(np.sort(before), before)
        if unsorted and not difference(before, after):
            return confirmed(
                f"{receiver}.sort() at line {ctx.task.line} left {receiver} unsorted "
                f"({show(before)} before and after): a JAX array's .sort() returns a sorted copy"
            )
    return not_reproduced(
        f"{receiver}.sort() at line {ctx.task.line} left no unsorted JAX array behind with {inputs.description}"
    )


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
