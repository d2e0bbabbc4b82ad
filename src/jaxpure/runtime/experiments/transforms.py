"""Transform usage: a compiling transform rebuilt per call (JP502), unhashable static arguments (JP503)."""

from __future__ import annotations

import dataclasses
import inspect

import jax

from jaxpure.runtime.compare import show, snapshot, times
from jaxpure.runtime.context import Context, InputRejected, Verdict, confirmed, not_reproduced, skipped
from jaxpure.runtime.inputs import Inputs, describe_value
from jaxpure.runtime.targets import Target

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


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
        counts, runs = [], []
        for _ in range(2):
            start = CompileCounter.count
            with ctx.probe() as probe:
                target.call(inputs)
            counts.append(CompileCounter.count - start)
            runs.append(probe.runs)
        if runs[0] == 0:
            return ctx.line_never_ran(target, inputs, "in 2 calls of")
        in_loop = f"; line {ctx.task.line} ran {times(runs[0])} per call" if runs[0] > 1 else ""
        tally = f"{target.label} compiled {times(counts[0])} on its first call and {times(counts[1])} on its second"
        if counts[1] > 0:
            return confirmed(f"{tally}{in_loop}: the transform is rebuilt, so JAX's compile cache misses")
        return not_reproduced(f"{tally}: the compiled program was reused")

    return ctx.try_inputs(target, attempt)


def unhashable_static(ctx: Context) -> Verdict:
    """Pass the offending default explicitly (JAX never hashes an unpassed default): JAX refuses to hash it."""
    name = ctx.finding_name()
    target = ctx.target()
    try:
        parameter = inspect.signature(target.raw).parameters[name]
    except (KeyError, TypeError, ValueError):
        return skipped(f"{target.qualname} has no parameter {name!r} to pass")
    if name not in target.static_params:  # the static analysis saw it static: jit it so
        target = dataclasses.replace(target, static_params=(*target.static_params, name))
    has_default = parameter.default is not parameter.empty
    value = parameter.default if has_default else jax.numpy.arange(3.0)  # "used as an array in the body"
    shown = f"{name}={show(snapshot(value)) if has_default else describe_value(value)}"
    explicitly = " (its default, passed explicitly)" if has_default else ""

    def attempt(inputs: Inputs) -> Verdict:
        try:
            target.trace(_with_argument(target, inputs, name, value))
        except (ValueError, TypeError) as error:
            if "hash" not in str(error).lower():
                raise InputRejected(error) from error
            return confirmed(f"calling {target.qualname} with {shown}{explicitly} raised {ctx.describe_error(error)}")
        return not_reproduced(f"{target.label} accepted {shown} as a static argument")

    return ctx.try_inputs(target, attempt)


def _with_argument(target: Target, inputs: Inputs, name: str, value) -> Inputs:
    """``inputs`` with parameter ``name`` passed as ``value``, positionally or by name as its kind requires."""
    bound = inspect.signature(target.raw).bind_partial(*inputs.args, **inputs.kwargs)
    bound.arguments[name] = value
    return Inputs(bound.args, bound.kwargs, inputs.description)
