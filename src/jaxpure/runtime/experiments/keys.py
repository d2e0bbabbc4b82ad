"""PRNG key reuse (JP302, JP303), found by JAX's own checker, ``jax.debug_key_reuse``, and, behind
a reuse the checker stops at first, by the bits of the keys an eager run draws from."""

from __future__ import annotations

import copy
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType

import jax
import numpy as np

from jaxpure.runtime.caches import forget_traces
from jaxpure.runtime.context import ExperimentContext, InputRejected, Verdict, confirmed, not_reproduced, skipped
from jaxpure.runtime.inputs import Inputs
from jaxpure.runtime.targets import Target


def key_reuse(ctx: ExperimentContext) -> Verdict:
    """The checker, traced first (no compilation); run only where tracing does not point at the line."""
    target = ctx.target()

    def attempt(inputs: Inputs) -> Verdict:
        inputs, typing_notes = _typed_keys(inputs)
        errors, note = _checked_runs(target, inputs, lambda error: ctx.raised_at(error) is not None)
        notes = "".join(f"; {n}" for n in [*typing_notes, note] if n)
        if not errors:
            return not_reproduced(
                f"jax.debug_key_reuse raised nothing for {target.label} with {inputs.description}{notes}"
            )
        how, error = errors[-1]  # the most precise run
        if ctx.raised_at(error) is None:
            stopped = f"jax.debug_key_reuse stopped first at another reuse, line {ctx.error_line(error)}"
            return _reuse_among_draws(ctx, target, inputs, stopped) or skipped(
                f"{stopped} ({ctx.describe_error(error)}), and an eager run showed no draw at line "
                f"{ctx.task.line} from a key already used; fix that reuse to check this line"
            )
        first_how, first = errors[0]
        located = f"; {how}: {ctx.describe_error(error)}" if error is not first else ""
        return confirmed(
            f"jax.debug_key_reuse on {target.label}, {first_how}: {ctx.describe_error(first)}{located}{notes}"
        )

    return ctx.try_inputs(target, attempt)


def _reuse_among_draws(ctx: ExperimentContext, target: Target, inputs: Inputs, stopped: str) -> Verdict | None:
    """Confirmed if, in an eager run, the flagged line drew from a key whose bits an earlier draw
    had already used: what the checker would have said had it not stopped at the first reuse."""
    draws = _watched_draws(ctx.file, target, inputs)
    reuse = reuse_among(draws, os.path.realpath(ctx.file), ctx.task.line, ctx.task.end_line)
    if reuse is None:
        return None
    return confirmed(f"{stopped}; run eagerly with every jax.random draw watched, {reuse}")


@dataclass(frozen=True, slots=True)
class Draw:
    """A key used up: its bits, and the lines of the watched files on the stack, innermost first
    (a flagged call whose callee draws is drawing too: ``f.apply(params, key)``)."""

    bits: bytes
    lines: tuple[tuple[str, int], ...]  # (real path, line)


def stack_lines(watched: Callable[[str], bool], frame: FrameType | None) -> tuple[tuple[str, int], ...]:
    """The (real path, line) of every frame from ``frame`` outwards whose file ``watched`` accepts."""
    found = []
    while frame is not None:
        path = _realpath(frame.f_code.co_filename)
        if watched(path):
            found.append((path, frame.f_lineno))
        frame = frame.f_back
    return tuple(found)


def reuse_among(draws: list[Draw], file: str, first_line: int, last_line: int) -> str | None:
    """The first draw made by the lines ``first_line..last_line`` of ``file`` (on the stack) from a
    key whose bits an earlier draw had used, in words for the evidence; None if there is none."""
    for index, draw in enumerate(draws):
        # how far out the flagged line is on this draw's stack: the earlier draw is named at the same depth
        depth = next(
            (len(draw.lines) - 1 - position
             for position, (path, line) in enumerate(draw.lines)
             if path == file and first_line <= line <= last_line),
            None,
        )  # fmt: skip
        if depth is None:
            continue
        earlier = next((other for other in draws[:index] if other.bits == draw.bits), None)
        if earlier is not None:
            line = draw.lines[len(draw.lines) - 1 - depth][1]
            path, used = earlier.lines[max(len(earlier.lines) - 1 - depth, 0)]
            where = f"line {used}" if path == file else f"{os.path.basename(path)}:{used}"
            return f"line {line} drew from a key (bits {draw.bits.hex()[:16]}) that {where} had already used"
    return None


# One watched run per function and inputs: every finding of a test method reads the same draws.
_DRAWS_SEEN: dict[tuple[object, str, str], list[Draw]] = {}


def _watched_draws(file: str, target: Target, inputs: Inputs) -> list[Draw]:
    key = (target.raw, file, inputs.description)
    try:
        return _DRAWS_SEEN[key]
    except (KeyError, TypeError):  # not seen yet, or a function that cannot be a key: run it
        pass
    with _draws(file) as draws, suppress(Exception):  # the draws made before it failed still tell
        target.call_unstaged(copy.deepcopy(inputs))
    with suppress(TypeError):
        _DRAWS_SEEN[key] = draws
    return draws


# A jitted function's key-reuse signature, by the function and its arguments' structure and types.
_SIGNATURES: dict[tuple, frozenset[int]] = {}


def consumed_keys(jitted, args: tuple, kwargs: dict) -> list[bytes]:
    """The bits of the concrete keys among ``args``/``kwargs`` that ``jitted``'s program uses up,
    by JAX's own key-reuse signature of the program (as its checker counts a key passed to a
    jitted function). Legacy ``uint32[2]`` keys count where the program wraps them into keys it
    uses up (``_legacy_sinks``). Read after a call: ``.trace`` finds the program in JAX's cache.
    Static arguments are left out as the jit object records them; empty where it cannot tell (no
    ``.trace``, inputs that do not line up with the program's)."""
    dynamic, static = _split_arguments(jitted, args, kwargs)
    leaves, structure = jax.tree_util.tree_flatten(dynamic)
    typed = {position for position, leaf in enumerate(leaves) if _is_typed_key(leaf)}
    legacy = {position for position, leaf in enumerate(leaves) if _is_legacy_key(leaf)}
    if not (typed or legacy) or not hasattr(jitted, "trace"):
        return []
    shapes = tuple((getattr(leaf, "shape", None), str(getattr(leaf, "dtype", type(leaf)))) for leaf in leaves)
    memo = (id(jitted), structure, shapes, static)  # static values are hashable: JAX hashes them too
    sinks = _SIGNATURES.get(memo)
    if sinks is None:
        from jax.experimental.key_reuse import _core as key_reuse_core

        jaxpr = jitted.trace(*args, **kwargs).jaxpr.jaxpr
        if len(jaxpr.invars) != len(leaves):  # the inputs do not line up with the arguments' leaves
            sinks = frozenset()
        else:
            signature = key_reuse_core.jaxpr_type_signature(jaxpr)
            sinks = frozenset(sink.idx for sink in signature.sinks if np.any(sink.mask)) & typed
            sinks |= _legacy_sinks(jaxpr, legacy) if legacy else frozenset()
        _SIGNATURES[memo] = sinks
    return [bits for position in sorted(sinks) if (bits := key_bits(leaves[position])) is not None]


def _split_arguments(jitted, args: tuple, kwargs: dict) -> tuple[tuple[tuple, dict], tuple]:
    """The arguments the program takes as inputs, and the static ones (as a ``jax.jit`` object
    records them) that chose the program."""
    info = getattr(jitted, "_jit_info", None)
    numbers = set(getattr(info, "static_argnums", ()) or ())
    names = set(getattr(info, "static_argnames", ()) or ())
    dynamic = (
        tuple(value for position, value in enumerate(args) if position not in numbers),
        {name: value for name, value in kwargs.items() if name not in names},
    )
    static = (
        tuple(value for position, value in enumerate(args) if position in numbers),
        tuple(sorted((name, value) for name, value in kwargs.items() if name in names)),
    )
    return dynamic, static


def _is_typed_key(leaf) -> bool:
    dtype = getattr(leaf, "dtype", None)
    return (
        dtype is not None
        and not isinstance(leaf, jax.core.Tracer)
        and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    )


def _is_legacy_key(leaf) -> bool:
    """A concrete ``uint32[2]`` array: what ``jax.random.PRNGKey`` makes (the program decides
    whether it is used as a key)."""
    return (
        not isinstance(leaf, jax.core.Tracer)
        and getattr(leaf, "shape", None) == (2,)
        and str(getattr(leaf, "dtype", "")) == "uint32"
    )


def _legacy_sinks(jaxpr, positions: set[int]) -> frozenset[int]:
    """The ``positions`` of ``jaxpr``'s inputs, legacy keys, that it uses up. JAX's checker follows
    only typed keys: here each ``random_wrap`` of such an input becomes an input of its own (a
    typed key) and JAX's signature of that view says whether it is used up; a nested ``jit`` that
    is handed the input is looked into the same way."""
    from jax._src import core
    from jax.experimental.key_reuse import _core as key_reuse_core

    inputs = {jaxpr.invars[position]: position for position in positions}
    consumed: set[int] = set()
    wrapped: list[tuple[int, object]] = []
    kept = []
    for eqn in jaxpr.eqns:
        handed = [
            (index, inputs[var]) for index, var in enumerate(eqn.invars) if type(var) is core.Var and var in inputs
        ]
        if handed and eqn.primitive.name == "random_wrap":
            wrapped.append((handed[0][1], eqn.outvars[0]))
            continue
        inner = eqn.params.get("jaxpr") if handed and eqn.primitive.name in ("jit", "pjit", "closed_call") else None
        if inner is not None:
            used = _legacy_sinks(getattr(inner, "jaxpr", inner), {index for index, _ in handed})
            consumed.update(position for index, position in handed if index in used)
        kept.append(eqn)
    if wrapped:
        view = jaxpr.replace(invars=[*jaxpr.invars, *(key for _, key in wrapped)], eqns=kept)
        signature = key_reuse_core.jaxpr_type_signature(view)
        first = len(jaxpr.invars)
        consumed.update(
            wrapped[sink.idx - first][0] for sink in signature.sinks if sink.idx >= first and np.any(sink.mask)
        )
    return frozenset(consumed)


# jax.random functions that take a key and do not use it up (JAX's checker: fold_in and clone
# make new keys; the rest only read it).
_NOT_DRAWS = frozenset({"fold_in", "clone", "key_data", "key_impl"})


@contextmanager
def _draws(file: str) -> Iterator[list[Draw]]:
    """Every public ``jax.random`` function that uses up its key, wrapped for the block: it records
    the key's bits and the lines of ``file`` on the stack. Tracers, which have no bits, are not
    recorded."""
    draws: list[Draw] = []
    target = os.path.realpath(file)
    originals = draw_functions()

    def watched(function):
        def draw(key, *args, **kwargs):
            bits = key_bits(key)
            lines = stack_lines(target.__eq__, sys._getframe(1))
            if bits is not None and lines:
                draws.append(Draw(bits, lines))
            return function(key, *args, **kwargs)

        return draw

    for name, function in originals.items():
        setattr(jax.random, name, watched(function))
    try:
        yield draws
    finally:
        for name, function in originals.items():
            setattr(jax.random, name, function)


def draw_functions() -> dict[str, Callable]:
    """The public ``jax.random`` functions that use up their key (its first parameter), by name."""
    return {
        name: function
        for name, function in vars(jax.random).items()
        if callable(function) and name not in _NOT_DRAWS and _first_parameter(function) == "key"
    }


def _first_parameter(function) -> str | None:
    try:
        return next(iter(inspect.signature(function).parameters), None)
    except (TypeError, ValueError):
        return None


def key_bits(key) -> bytes | None:
    """The bits of a concrete key (typed or legacy ``uint32``); None for a tracer or a non-key."""
    if isinstance(key, jax.core.Tracer):
        return None
    try:
        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        return np.asarray(key).tobytes()
    except Exception:  # not a key at all: the call will say so itself
        return None


@functools.lru_cache(maxsize=1024)
def _realpath(path: str) -> str:
    return os.path.realpath(path)


def _checked_runs(target: Target, inputs: Inputs, at_finding: Callable[[BaseException], bool]):
    """([(how it ran, KeyReuseError), ...], note): stops at the first clean run or error at the finding.

    Traced first: no compilation, and the error names the line. Where it does not (``lax.scan``
    reports the reuse at its call), run: first with inner jits left alone (``jax.random`` compiles
    once), then with every jit disabled (each primitive compiles, but the loop runs in Python).
    Keys built inside with ``PRNGKey`` are made typed where the code allows.
    """
    runs = [("traced", target.jaxpr), ("run eagerly", target.call_unstaged), ("with jit disabled", target.eager)]
    if target.kind is None:  # an untransformed function: run eagerly, it is what the user runs
        runs = runs[:2]
    failure = None
    for typed_legacy_keys in (True, False):
        errors, completed = [], 0
        forget_traces()  # the checker only sees traces made while it is on
        with jax.enable_custom_prng(typed_legacy_keys), jax.debug_key_reuse(True):
            for how, run in runs:
                try:
                    run(copy.deepcopy(inputs))  # fresh keys: the checker marks the key objects it saw consumed
                    completed += 1
                    break  # the checker saw the whole program and found no reuse
                except jax.errors.KeyReuseError as error:
                    errors.append((how, error))
                    if at_finding(error):
                        break
                except Exception as error:  # this way of running cannot run this code: try the next
                    failure = error
        if errors or completed:
            note = (
                ""
                if typed_legacy_keys
                else (
                    "keys made inside with jax.random.PRNGKey stay legacy uint32 keys the checker cannot see "
                    f"(with typed keys the code failed: {type(failure).__name__})"
                )
            )
            return errors, note
    assert failure is not None  # no run completed and none raised KeyReuseError: each raised something else
    raise InputRejected(failure)


def _typed_attributes(holder, convert, notes: list[str]) -> None:
    """Legacy keys kept on an instance argument (``self.key`` made in a test's ``setUp``) become typed
    too; the instance is the experiment's own copy."""
    if isinstance(holder, jax.Array | np.ndarray) or not hasattr(holder, "__dict__") or isinstance(holder, type):
        return
    for name, value in list(vars(holder).items()):
        typed = convert(value)
        if typed is value:
            continue
        notes.pop()  # convert's note names no attribute: say which
        where = f"{type(holder).__name__}.{name}"
        try:
            object.__setattr__(holder, name, typed)
            notes.append(f"converted the legacy key {where} with jax.random.wrap_key_data")
        except Exception as error:
            notes.append(f"{where} holds a legacy key the checker cannot see ({type(error).__name__})")


def _typed_keys(inputs: Inputs) -> tuple[Inputs, list[str]]:
    """Legacy ``uint32[2]`` keys become typed keys: the checker only follows typed keys (SPEC §7)."""
    notes = []

    def convert(leaf):
        if not (isinstance(leaf, jax.Array | np.ndarray) and leaf.dtype == np.uint32 and leaf.shape[-1:] == (2,)):
            return leaf
        try:
            typed = jax.random.wrap_key_data(leaf)
        except Exception as error:
            notes.append(f"a uint32{list(leaf.shape)} argument is no key ({type(error).__name__}: {error})")
            return leaf
        notes.append(f"converted a legacy uint32{list(leaf.shape)} key with jax.random.wrap_key_data")
        return typed

    args, kwargs = jax.tree_util.tree_map(convert, (inputs.args, inputs.kwargs))
    for holder in jax.tree_util.tree_leaves((args, kwargs)):
        _typed_attributes(holder, convert, notes)
    description = inputs.description + (" (keys made typed)" if notes else "")
    return Inputs(tuple(args), dict(kwargs), description), notes
