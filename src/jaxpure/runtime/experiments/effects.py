"""Trace-time effects (JP101, JP102), global and nonlocal rebinding (JP104), outside mutation (JP105)."""

from __future__ import annotations

import re
from collections.abc import Callable

import jax

from jaxpure.runtime.caches import forget_traces
from jaxpure.runtime.compare import TRACER_TEXT, contains_tracer, difference, show, snapshot, times
from jaxpure.runtime.context import ExperimentContext, InputRejected, Verdict, confirmed, not_reproduced, skipped
from jaxpure.runtime.inputs import Inputs
from jaxpure.runtime.probes import LineProbe
from jaxpure.runtime.targets import Target

_DECLARATION = re.compile(r"\b(global|nonlocal)\s+([A-Za-z_][\w\s,]*)")
_MISSING = object()


def trace_time_effects(ctx: ExperimentContext) -> Verdict:
    """The effect happens on the tracing call and not on the cached one (or, under vmap, shows a tracer)."""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        forget_traces()
        first, second = _two_probed_calls(ctx, target, inputs)
        line = ctx.task.line
        if first.runs == 0 and second.runs == 0:
            return ctx.line_never_ran(target, inputs, "in 2 calls of")
        effects = first.effects or second.effects
        quote = f": {effects[0]}" if effects else ""
        what = "printed" if ctx.task.code == "JP101" else f"line {line} ran"
        if second.runs == 0:
            return confirmed(
                f"{what} {times(first.runs)} over 2 calls of {target.label} with {inputs.description}, "
                f"on the tracing call only{quote}"
            )
        if ctx.task.kind == "staging" and any(TRACER_TEXT.search(effect) for effect in second.effects):
            return confirmed(f"{what} on every call of {target.label}, but a tracer instead of values{quote}")
        return not_reproduced(
            f"line {line} ran on both calls of {target.label} ({first.runs} and {second.runs} times) "
            f"and showed values{quote}: the transform re-runs the Python body on every call"
        )

    return ctx.try_inputs(target, attempt)


def global_rebinding(ctx: ExperimentContext) -> Verdict:
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
        """The globals after two runs; the module is put back as it was."""
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
        forget_traces()
        try:
            staged = ending_values(target.trace, inputs)
            eager = ending_values(target.eager, inputs)
        except Exception as error:
            raise InputRejected(error) from error
        for name in names:
            tracer = contains_tracer(staged[name])
            if tracer is not None:
                return confirmed(
                    f"after 2 calls of {target.label}, global {name} holds a leaked tracer, {tracer}; "
                    f"run eagerly it ends as {_shown(eager[name])}"
                )
        for name in names:
            if difference(eager[name], staged[name]):
                return confirmed(
                    f"after 2 calls of {target.label}, global {name} is {_shown(staged[name])}, but "
                    f"{_shown(eager[name])} run eagerly: the rebinding ran only while tracing"
                )
        ending = ", ".join(f"{name} = {_shown(staged[name])}" for name in names)
        return not_reproduced(f"2 calls of {target.label} and 2 eager calls leave the same globals ({ending})")

    return ctx.try_inputs(target, attempt)


def nonlocal_mutation(ctx: ExperimentContext) -> Verdict:
    """The mutation runs on the tracing call only, and/or JAX's leak checker finds the tracer it stored.

    A ``nonlocal`` rebinding (JP104) is confirmed by a leak only: rebinding a
    variable of an enclosing function inside the same trace is harmless.
    """
    target = ctx.target()
    rebinding = ctx.task.code == "JP104"

    def attempt(inputs: Inputs) -> Verdict:
        forget_traces()
        try:
            first, second = _two_probed_calls(ctx, target, inputs)
        except jax.errors.UnexpectedTracerError as error:
            return confirmed(f"tracing {target.label} raised {ctx.describe_error(error)}")
        except Exception as error:
            if not rebinding and _refused_under_trace(ctx, error):
                return confirmed(
                    f"the mutation at line {ctx.task.line} raised {ctx.describe_error(error)} while tracing "
                    f"{target.label}: the object refuses a change made under a trace"
                )
            raise InputRejected(error) from error
        leak = _leak_report(target, inputs)
        if rebinding:
            if leak:
                return confirmed(f"jax.checking_leaks on {target.label}: {leak}")
            return not_reproduced(
                f"no tracer leaked through the nonlocal over 2 calls of {target.label} with {inputs.description}"
            )
        subject = f"the mutation at line {ctx.task.line}"
        if first.runs and not second.runs:
            leak_note = f"; jax.checking_leaks: {leak}" if leak else ""
            return confirmed(
                f"{subject} ran {times(first.runs)} over 2 calls of {target.label}, on the tracing call only{leak_note}"
            )
        if leak:
            return confirmed(f"jax.checking_leaks on {target.label}: {leak}")
        if not first.runs:
            return ctx.line_never_ran(target, inputs, "in 2 calls of")
        return not_reproduced(
            f"{subject} ran on both calls of {target.label} ({first.runs} and {second.runs} times), leaking no tracer"
        )

    return ctx.try_inputs(target, attempt)


def _refused_under_trace(ctx: ExperimentContext, error: BaseException) -> bool:
    """An error raised through the flagged line that names the trace (flax's ``TraceContextError:
    Cannot mutate 'Foo' from a different trace level``): a framework guarding its objects
    against this very mutation. Other errors there (a trial input of the wrong shape) are not it."""
    words = f"{type(error).__name__} {error}".lower()
    return "trace" in words and ctx.raised_through(error)


def _two_probed_calls(ctx: ExperimentContext, target: Target, inputs: Inputs) -> tuple[LineProbe, LineProbe]:
    """A tracing call and a second, cached call of the staged target, each watched."""
    with ctx.probe() as first:
        target.trace(inputs)
    with ctx.probe() as second:
        target.trace(inputs)
    return first, second


def _leak_report(target: Target, inputs: Inputs) -> str | None:
    """JAX's own leak checker; it checks only traces it sees being made."""
    forget_traces()
    try:
        with jax.checking_leaks():
            target.trace(inputs)
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        if lines and lines[0].startswith("Leaked"):
            return " ".join(lines[:2])
    return None


def _shown(value) -> str:
    return "unset" if value is _MISSING else show(value)
