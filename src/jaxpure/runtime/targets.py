"""The function an experiment runs, and the ways to run it: staged, eagerly, traced only (child only).

A finding in a helper is confirmed through the traced root that reaches it
(SPEC §7): the root is what gets called, the helper's line is what gets watched.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxpure.runtime.inputs import Inputs


class TargetError(Exception):
    """The function cannot be run; the message says why."""


@dataclass
class Target:
    qualname: str
    obj: Any  # the module attribute as the user wrote it: maybe already jitted
    raw: Any  # the Python function underneath every decorator
    transform: str | None  # qualified transform, as the static analysis named it
    kind: str | None  # "staging" | "differentiation" | None (not traced)
    static_params: tuple[str, ...]
    is_method: bool = False  # a function read from a class: its first argument is the instance

    @functools.cached_property
    def staged(self):
        """What a caller of the transformed function runs."""
        if self.kind is None or self.obj is not self.raw:
            return self.obj  # not traced, or already transformed by its own decorators
        if self.kind == "differentiation":
            return differentiated(self.raw)
        # A plain instance is no JAX type: jit hashes it (by identity) as a static argument.
        return jax.jit(self.raw, static_argnums=(0,) if self.is_method else (), static_argnames=self._static_names())

    @property
    def label(self) -> str:
        """``step (jax.jit)``: what ran, and under which transform, for the evidence."""
        if self.kind is None:
            return self.qualname
        if self.obj is not self.raw:
            return f"{self.qualname} ({self.transform or 'as decorated'})"
        if self.kind == "differentiation":
            return f"{self.qualname} ({self.transform or 'differentiated'}, run as jax.vjp)"
        stand_in = "" if self.transform in (None, "jax.jit") else f" standing in for {self.transform}"
        return f"{self.qualname} (jax.jit{stand_in})"

    @property
    def traces_without_running(self) -> bool:
        """Whether ``trace`` stops at a jaxpr (jit-like) rather than running the function."""
        # JAX's own jit objects only: flax.nnx.jit's ``.trace`` returns no jaxpr.
        staged = self.staged
        return hasattr(staged, "trace") and hasattr(staged, "lower") and type(staged).__module__.startswith("jax")

    def call(self, inputs: Inputs):
        return self.staged(*inputs.args, **inputs.kwargs)

    def trace(self, inputs: Inputs):
        """Trace without compiling where the transform allows it; the jaxpr, or the outputs."""
        if self.traces_without_running:
            return self.staged.trace(*inputs.args, **inputs.kwargs).jaxpr
        return self.call(inputs)

    def jaxpr(self, inputs: Inputs):
        """The closed jaxpr of the staged function, made without compiling."""
        if self.traces_without_running:
            return self.staged.trace(*inputs.args, **inputs.kwargs).jaxpr
        return jax.make_jaxpr(functools.partial(self.staged, **inputs.kwargs))(*inputs.args)

    def eager(self, inputs: Inputs):
        """The plain Python function, every inner jit disabled: what the code says."""
        with jax.disable_jit():
            return self.raw(*inputs.args, **inputs.kwargs)

    def call_unstaged(self, inputs: Inputs):
        """The plain Python function with inner jits left alone: eager at the top, cheap below
        (``jax.random``'s own jits compile once instead of primitive by primitive)."""
        return self.raw(*inputs.args, **inputs.kwargs)

    def _static_names(self) -> tuple[str, ...]:
        try:
            parameters = inspect.signature(self.raw).parameters
        except (TypeError, ValueError):
            return ()
        return tuple(name for name in self.static_params if name in parameters)


def resolve(
    module: ModuleType, qualname: str | None, transform: str | None, kind: str | None, static_params=()
) -> Target:
    if not qualname:
        raise TargetError("the traced function is a lambda or module-level code that no importable function reaches")
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise TargetError(
            f"{qualname} is nested inside another function and no importable traced function reaching it is known; "
            "move it to module level, or confirm it through a jitted function that calls it"
        )
    if "@L" in qualname:  # the static analysis names an earlier ``def`` of a name defined again
        raise TargetError(
            f"{qualname.split('@')[0]} is defined again later in the module: once imported, the name is the later "
            "definition, and this one cannot be reached to confirm"
        )
    owner: Any = None
    obj: Any = module
    for part in qualname.split("."):
        owner = obj
        try:
            found = inspect.getattr_static(obj, part)  # a method as its function, not bound
        except AttributeError:
            raise TargetError(
                f"{module.__name__} has no {qualname} once imported (defined conditionally, or deleted?)"
            ) from None
        if isinstance(found, staticmethod):
            obj = found.__func__
        elif isinstance(found, classmethod):
            obj = getattr(owner, part)  # bound to its class: no instance needed
        else:
            obj = found
    if not callable(obj):
        raise TargetError(f"{module.__name__}.{qualname} is a {type(obj).__name__}, not a function")
    is_method = isinstance(owner, type) and not isinstance(found, staticmethod | classmethod)
    return Target(qualname, obj, inspect.unwrap(obj), transform, kind, tuple(static_params), is_method)


def differentiated(function):
    """``function`` run under ``jax.vjp`` with respect to every floating-point positional argument."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        positions = [i for i, value in enumerate(args) if _differentiable(value)]
        if not positions:
            return function(*args, **kwargs)

        def along(*values):
            full = list(args)
            for position, value in zip(positions, values, strict=True):
                full[position] = value
            return function(*full, **kwargs)

        outputs, _ = jax.vjp(along, *(args[i] for i in positions))
        return outputs

    return run


def _differentiable(value: Any) -> bool:
    leaves = jax.tree_util.tree_leaves(value)
    return bool(leaves) and all(
        isinstance(leaf, float)
        or (isinstance(leaf, jax.Array | np.ndarray) and jnp.issubdtype(leaf.dtype, jnp.inexact))
        for leaf in leaves
    )
