"""The experiments that confirm findings (child process only), and which rule runs which.

``rules.RULE_EXPERIMENTS`` maps each rule to an experiment name (the parent
reads it too); ``EXPERIMENTS`` maps each name to its function here. An
experiment that needs the Python body to run calls ``forget_traces()`` first:
JAX caches traces by function identity, nested jitted functions included
(``caches.py`` says what was measured).
"""

from __future__ import annotations

from collections.abc import Callable

from jaxpure.runtime import rules
from jaxpure.runtime.context import ExperimentContext, Verdict
from jaxpure.runtime.experiments.effects import global_rebinding, nonlocal_mutation, trace_time_effects
from jaxpure.runtime.experiments.keys import key_reuse
from jaxpure.runtime.experiments.state import argument_state, stale_global
from jaxpure.runtime.experiments.traces import tracing_raises, two_traces
from jaxpure.runtime.experiments.transforms import compilations, unhashable_static

EXPERIMENTS: dict[str, Callable[[ExperimentContext], Verdict]] = {
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


def run_experiment(ctx: ExperimentContext) -> Verdict:
    return EXPERIMENTS[rules.RULE_EXPERIMENTS[ctx.task.code]](ctx)
