"""Comparing what two runs left behind, and saying how it differs in a few words (child only).

Values are snapshotted (arrays copied to NumPy, tracers noted as tracers)
so that a later in-place change cannot alter the record of the earlier state.
"""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.extend.core as jax_core
import numpy as np

VALUE_CHARACTERS = 60
TRACER_TEXT = re.compile(r"\b\w*Trac(?:er|ed)\b[<(]")


class Tracer:
    """A tracer found in a snapshot: it escaped the trace that made it."""

    def __init__(self, value):
        self.text = _short(str(value))

    def __eq__(self, other):
        return isinstance(other, Tracer)

    def __repr__(self):
        return self.text


class Opaque:
    """An object jaxpure does not look inside; equal only to itself."""

    def __init__(self, value):
        self.identity = id(value)
        self.text = f"<{type(value).__name__}>"

    def __eq__(self, other):
        return isinstance(other, Opaque) and other.identity == self.identity

    def __repr__(self):
        return self.text


def snapshot(value: Any) -> Any:
    if isinstance(value, jax.core.Tracer):
        return Tracer(value)
    if isinstance(value, jax.Array):
        if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
            return ("key", np.asarray(jax.random.key_data(value)))
        return np.array(value)
    if isinstance(value, np.ndarray | np.generic):
        return np.array(value)
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return (
            type(value)(snapshot(item) for item in value)
            if type(value) in (list, tuple)
            else [snapshot(v) for v in value]
        )
    if isinstance(value, int | float | complex | str | bytes | bool | type(None)):
        return value
    return Opaque(value)


def difference(before: Any, after: Any, path: str = "") -> str | None:
    """The first way ``after`` differs from ``before``, e.g. ``['w'] [0.1 0.2] -> [1. 1.]``; None if equal."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before:
            if key not in after:
                return f"{path}[{key!r}] deleted"
        for key in after:
            if key not in before:
                return f"{path}[{key!r}] added ({show(after[key])})"
            found = difference(before[key], after[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return f"{path or 'list'} went from {len(before)} to {len(after)} items"
        return next(
            filter(
                None, (difference(b, a, f"{path}[{i}]") for i, (b, a) in enumerate(zip(before, after, strict=True)))
            ),
            None,
        )
    if same_value(before, after):
        return None
    return f"{path + ' ' if path else ''}{show(before)} -> {show(after)}"


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def contains_tracer(snapshotted: Any) -> Tracer | None:
    if isinstance(snapshotted, Tracer):
        return snapshotted
    items = (
        snapshotted.values()
        if isinstance(snapshotted, dict)
        else snapshotted
        if isinstance(snapshotted, list | tuple)
        else ()
    )
    return next(filter(None, (contains_tracer(item) for item in items)), None)


def show(value: Any) -> str:
    """A value in at most a few dozen characters."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "key":
        return f"key{show(value[1])}"
    if isinstance(value, np.ndarray | jax.Array) and not isinstance(value, jax.core.Tracer):
        value = np.asarray(value)
        text = np.array2string(value, precision=4, threshold=6, max_line_width=10_000, separator=" ")
        return _short(text if value.ndim else f"{value.item():.6g}")
    if isinstance(value, dict):
        return _short("{" + ", ".join(f"{k!r}: {show(v)}" for k, v in value.items()) + "}")
    if isinstance(value, list):
        return _short("[" + ", ".join(show(v) for v in value) + "]")
    if isinstance(value, tuple):
        return _short("(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")")
    return _short(repr(value))


def show_tree(tree: Any) -> str:
    """Outputs of a call: one leaf shown as itself, several as a list."""
    leaves = jax.tree_util.tree_leaves(tree)
    return show(leaves[0]) if len(leaves) == 1 else show(leaves)


def same_tree(a: Any, b: Any) -> bool:
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        same_value(snapshot(x), snapshot(y)) for x, y in zip(leaves_a, leaves_b, strict=True)
    )


def close_trees(a: Any, b: Any) -> bool:
    """Equal up to the rounding that separates eager and compiled arithmetic."""
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    if len(leaves_a) != len(leaves_b):
        return False
    for x, y in zip(leaves_a, leaves_b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True):
            return False
    return True


def times(count: int) -> str:
    return f"{count} time" if count == 1 else f"{count} times"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= VALUE_CHARACTERS else text[: VALUE_CHARACTERS - 3] + "..."


# ------------------------------------------------------------------ jaxprs


def jaxpr_difference(first, second) -> str | None:
    """Where two closed jaxprs differ: an equation with another constant, or a constant array."""
    eqns_a, eqns_b = first.jaxpr.eqns, second.jaxpr.eqns
    for eqn_a, eqn_b in zip(eqns_a, eqns_b, strict=False):
        text_a, text_b = " ".join(str(eqn_a).split()), " ".join(str(eqn_b).split())
        if text_a != text_b:
            return _token_difference(text_a, text_b)
    if len(eqns_a) != len(eqns_b):
        return f"the first program has {len(eqns_a)} equations, the second {len(eqns_b)}"
    for index, (a, b) in enumerate(zip(first.consts, second.consts, strict=False)):
        if not same_value(snapshot(a), snapshot(b)):
            return f"constant #{index} is {show(a)} in the first and {show(b)} in the second"
    if str(first.jaxpr) != str(second.jaxpr):
        return "the programs' outputs differ"
    return None


def _token_difference(eqn_a: str, eqn_b: str) -> str:
    for a, b in zip(eqn_a.split(), eqn_b.split(), strict=False):
        if a != b:
            return f"`{a}` in the first, `{b}` in the second (in `{_short(eqn_a)}`)"
    return f"`{_short(eqn_a)}` in the first, `{_short(eqn_b)}` in the second"


def constant_seeds(closed) -> list[str]:
    """``random_seed`` equations whose seed is a literal: the program draws the same numbers every call."""
    found = []
    for eqn in _equations(closed.jaxpr):
        if eqn.primitive.name == "random_seed" and isinstance(eqn.invars[0], jax_core.Literal):
            found.append(_short(str(eqn).strip()))
    return found


def _equations(jaxpr):
    for eqn in jaxpr.eqns:
        yield eqn
        for inner in jax_core.jaxprs_in_params(eqn.params):
            yield from _equations(inner)
