"""Transform usage: a compiling transform rebuilt per call (JP502), unhashable static arguments (JP503)."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import sys

import jax

from jaxpure.runtime.compare import show, snapshot, times
from jaxpure.runtime.context import ExperimentContext, InputRejected, Verdict, confirmed, not_reproduced, skipped
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
    def _on_event(cls, event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == COMPILE_EVENT:
            cls.count += 1


def compilations(ctx: ExperimentContext) -> Verdict:
    """Call the enclosing function twice, counting only the compilations of transforms built at the
    finding's line: a transform rebuilt per call compiles again on the second call. Compilations of
    anything else the function runs (other jits, eager operations) are not the finding's."""
    target = ctx.own_function()
    CompileCounter.register()

    def attempt(inputs: Inputs) -> Verdict:
        counts, runs, builds = [], [], []
        for _ in range(2):
            with ctx.probe() as probe, _site_compilations(ctx) as site:
                target.call(inputs)
            counts.append(site.compiles)
            builds.append(site.builds)
            runs.append(probe.runs)
        if runs[0] == 0:
            return ctx.line_never_ran(target, inputs, "in 2 calls of")
        line = ctx.task.line
        if builds[0] == 0:
            return not_reproduced(f"line {line} ran but built no compiling transform in a call of {target.label}")
        tally = (
            f"the transform built at line {line} compiled {times(counts[0])} in the first call of {target.label} "
            f"and {times(counts[1])} in the second (built {times(builds[1])} per call)"
        )
        if counts[1] > 0:
            return confirmed(f"{tally}: it is rebuilt, so JAX's compile cache misses")
        return not_reproduced(f"{tally}: the compiled program was reused")

    return ctx.try_inputs(target, attempt)


@dataclasses.dataclass
class _SiteCount:
    builds: int = 0
    compiles: int = 0


_COMPILING = (("jax", "jit"), ("jax", "pmap"), ("equinox", "filter_jit"), ("flax.nnx", "jit"))


@contextlib.contextmanager
def _site_compilations(ctx: ExperimentContext):
    """While inside: the compiling transforms built at the finding's lines are counted, and so are
    the compilations made while the functions they returned run."""
    count = _SiteCount()
    originals = {}
    for module_name, name in _COMPILING:
        module = sys.modules.get(module_name)
        if module is not None and callable(getattr(module, name, None)):
            originals[module, name] = getattr(module, name)
    namespace = vars(ctx.module)
    rebound = {key: value for key, value in namespace.items() if any(value is o for o in originals.values())}
    wrapped = {id(original): _counting_build(original, ctx, count) for original in originals.values()}
    try:
        for (module, name), original in originals.items():
            setattr(module, name, wrapped[id(original)])
        for key, value in rebound.items():  # ``from jax import jit``
            namespace[key] = wrapped[id(value)]
        yield count
    finally:
        for (module, name), original in originals.items():
            setattr(module, name, original)
        namespace.update(rebound)


def _counting_build(original, ctx: ExperimentContext, count: _SiteCount):
    def build(*args, **kwargs):
        built = original(*args, **kwargs)
        caller = sys._getframe(1)
        at_site = ctx.task.line <= caller.f_lineno <= ctx.task.end_line and _same_file(
            caller.f_code.co_filename, ctx.file
        )
        if not at_site or not callable(built):
            return built
        count.builds += 1

        def call(*call_args, **call_kwargs):
            start = CompileCounter.count
            try:
                return built(*call_args, **call_kwargs)
            finally:
                count.compiles += CompileCounter.count - start

        return call

    return build


def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def unhashable_static(ctx: ExperimentContext) -> Verdict:
    """Pass the offending default explicitly (JAX never hashes an unpassed default): JAX refuses to hash it."""
    name = ctx.finding_name()
    target = ctx.target()
    try:
        if name is None:  # the finding starts with no identifier
            raise KeyError(name)
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
