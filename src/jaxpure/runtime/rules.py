"""Which experiment confirms which rule (SPEC §5, §7). Kept free of JAX: the parent reads it too.

The child maps each experiment name to its function in ``experiments/``.
"""

from __future__ import annotations

TRACE_TIME_EFFECTS = "trace-time-effects"  # effect on the tracing call, none on the cached call
TWO_TRACES = "two-traces"  # trace twice with the caches cleared; the programs' constants differ
GLOBAL_REBINDING = "global-rebinding"  # the global after staged calls vs eager calls; leaked tracers
NONLOCAL_MUTATION = "nonlocal-mutation"  # effect counting, and JAX's tracer-leak checker
STALE_GLOBAL = "stale-global"  # rebind the global between two calls; the staged one keeps the old value
TRACING_RAISES = "tracing-raises"  # tracing raises at the finding; quote JAX's error
ARGUMENT_STATE = "argument-state"  # the caller's argument after an eager and a staged call
KEY_REUSE = "key-reuse"  # jax.debug_key_reuse raises
COMPILATIONS = "compilations"  # compilations over two calls of the enclosing function
UNHASHABLE_STATIC = "unhashable-static"  # pass the offending default explicitly; JAX refuses to hash it

RULE_EXPERIMENTS: dict[str, str] = {
    "JP101": TRACE_TIME_EFFECTS,
    "JP102": TRACE_TIME_EFFECTS,
    "JP103": TWO_TRACES,
    "JP104": GLOBAL_REBINDING,
    "JP105": NONLOCAL_MUTATION,
    "JP106": STALE_GLOBAL,
    "JP201": TRACING_RAISES,
    "JP202": TRACING_RAISES,
    "JP203": ARGUMENT_STATE,
    "JP204": ARGUMENT_STATE,
    "JP301": TWO_TRACES,
    "JP302": KEY_REUSE,
    "JP303": KEY_REUSE,
    "JP304": TWO_TRACES,
    "JP401": TRACING_RAISES,
    "JP402": TRACING_RAISES,
    "JP403": TRACING_RAISES,
    "JP404": TRACING_RAISES,
    "JP405": TRACING_RAISES,
    "JP406": TRACING_RAISES,
    "JP407": TRACING_RAISES,
    "JP501": TRACING_RAISES,
    "JP502": COMPILATIONS,
    "JP503": UNHASHABLE_STATIC,
}

# The rules whose harm happens only while JAX traces the line: a run that executed the line, never
# under a trace, refutes them. Not key reuse (it correlates samples eagerly too), not a fixed seed
# (JP304: the same draws on every call, eagerly too), not the rules about transforms being built.
ONLY_UNDER_A_TRACE = frozenset(
    code
    for code, experiment in RULE_EXPERIMENTS.items()
    if experiment not in {KEY_REUSE, COMPILATIONS, UNHASHABLE_STATIC}
) - {"JP304"}
