"""What tracing itself shows: frozen values in two traces (JP103, JP301, JP304), and errors
JAX raises while tracing (JP201, JP202, JP401-JP407, JP501)."""

from __future__ import annotations

import jax

from jaxpure.runtime.caches import forget_traces
from jaxpure.runtime.compare import constant_seeds, jaxpr_difference
from jaxpure.runtime.context import ExperimentContext, InputRejected, Verdict, confirmed, not_reproduced
from jaxpure.runtime.inputs import Inputs

# JAX's errors for a tracer used where a concrete value is needed: any of them, raised at
# the finding's line, is the finding happening. Other errors there (an IndexError on a
# scalar trial input) are failures for another reason: the next input is tried.
_TRACER_ERRORS = tuple(
    getattr(jax.errors, name)
    for name in (
        "ConcretizationTypeError", "NonConcreteBooleanIndexError", "TracerArrayConversionError",
        "TracerBoolConversionError", "TracerIntegerConversionError", "UnexpectedTracerError", "KeyReuseError",
    )
)  # fmt: skip
# Rules whose crash is a plain TypeError/AttributeError: words JAX's message must contain.
_ERROR_WORDS = {"JP201": ("immutable",), "JP202": ("immutable",), "JP204": ("Tracer", "'out'")}


def caused_by_finding(ctx: ExperimentContext, error: BaseException) -> bool:
    if ctx.raised_at(error) is None:
        return False
    return isinstance(error, _TRACER_ERRORS) or any(word in str(error) for word in _ERROR_WORDS.get(ctx.task.code, ()))


def two_traces(ctx: ExperimentContext) -> Verdict:
    """Trace twice with the caches cleared (and the clock and environment moved): do the programs differ?"""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        forget_traces()
        with ctx.perturbation.recording(), ctx.probe() as probe:
            first = target.jaxpr(inputs)
        if probe.runs == 0:
            return ctx.line_never_ran(target, inputs, "while tracing")
        between = ""
        for variant in range(ctx.perturbation.variants):  # another value for each variable read, in turn
            with ctx.perturbation.shifted(variant) as changes:
                forget_traces()
                second = target.jaxpr(inputs)
            between = f", with {' and '.join(changes)} between them" if changes else ""
            differs = jaxpr_difference(first, second)
            if differs:
                return confirmed(f"two traces of {target.label} baked different constants{between}: {differs}")
        seeds = constant_seeds(first) if ctx.task.code == "JP304" else []
        if seeds:
            return confirmed(
                f"the traced program of {target.label} seeds its key from a constant (`{seeds[0]}`): "
                "every call draws the same numbers"
            )
        return not_reproduced(
            f"two traces of {target.label} gave the same program{between}: nothing is frozen with {inputs.description}"
        )

    return ctx.try_inputs(target, attempt)


def tracing_raises(ctx: ExperimentContext) -> Verdict:
    """Tracing raises at the finding's line; JAX's own error is the evidence."""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        forget_traces()
        try:
            target.trace(inputs)
        except Exception as error:
            if not caused_by_finding(ctx, error):
                raise InputRejected(error) from error
            return confirmed(f"tracing {target.label} with {inputs.description} raised {ctx.describe_error(error)}")
        return not_reproduced(f"tracing {target.label} with {inputs.description} raised no error")

    return ctx.try_inputs(target, attempt)
