"""JP501: ``np.f(traced)`` → ``jnp.f(traced)``, where jax.numpy's ``f`` means the same.

NumPy cannot take a tracer; jax.numpy can. The rewrite is offered only for
the functions below, whose jnp twin takes the same arguments with the same
meaning (checked against the signatures of numpy 2 and jax 0.10.2), and only
with the keywords listed for each. Everything else is refused, by name:

- a keyword not listed (``np.array(x, copy=False)``, ``out=``, ufunc
  ``casting=``/``order=``, ``np.clip(x, a_min=0)``, ``np.reshape(x, newshape=…)``):
  the jnp twin rejects it or reads it differently;
- functions whose jnp twin differs: ``take`` (out-of-range indices clip
  instead of raising), ``argsort`` (stable by default), ``allclose`` and
  ``array_equal`` (a Python bool in NumPy, an array in JAX), and the
  data-dependent shapes of ``unique``/``nonzero``/``argwhere`` and
  one-argument ``where`` (JP407);
- ``from numpy import sum`` style calls: the name would have to change.

What stays different on purpose: jnp follows JAX's dtype rules (float32 and
int32 unless x64 is enabled) where NumPy would give float64/int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from jaxpure.fixes.base import FixContext, Fixer, Refused, Rewrite, dotted


@dataclass(frozen=True, slots=True)
class Twin:
    """How a jnp function may be called for the rewrite to keep its meaning."""

    keywords: frozenset[str] = frozenset()
    min_positional: int = 1
    max_positional: int | None = None


def _twins(
    names: str, keywords: str = "", min_positional: int = 1, max_positional: int | None = None
) -> dict[str, Twin]:
    twin = Twin(frozenset(keywords.split()), min_positional, max_positional)
    return {name: twin for name in names.split()}


JNP_TWINS: dict[str, Twin] = {
    # Reductions.
    **_twins("sum prod nansum", "axis dtype keepdims initial where"),
    **_twins("mean nanmean", "axis dtype keepdims where"),
    **_twins("max min amax amin nanmax nanmin", "axis keepdims initial where"),
    **_twins("argmax argmin", "axis keepdims"),
    **_twins("std var", "axis dtype ddof keepdims where"),
    **_twins("median", "axis keepdims"),
    **_twins("any all", "axis keepdims where"),
    **_twins("cumsum cumprod", "axis dtype"),
    # Elementwise functions (NumPy's ufunc keywords out/where/casting/order/dtype are not carried).
    **_twins(
        "exp exp2 log log2 log10 log1p expm1 sqrt cbrt square abs absolute fabs sign floor ceil rint "
        "sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh deg2rad rad2deg "
        "negative reciprocal isnan isinf isfinite logical_not conj conjugate"
    ),
    **_twins(
        "arctan2 hypot maximum minimum fmax fmin add subtract multiply divide true_divide floor_divide "
        "mod remainder power logaddexp logical_and logical_or logical_xor "
        "equal not_equal less less_equal greater greater_equal",
        min_positional=2,
        max_positional=2,
    ),
    **_twins("round around", "decimals", max_positional=2),
    **_twins("clip", max_positional=3),  # a_min/a_max keywords are deprecated in jnp
    **_twins("isclose", "rtol atol equal_nan", min_positional=2),
    # Linear algebra.
    **_twins("dot matmul outer kron", min_positional=2, max_positional=2),
    **_twins("tensordot", "axes", min_positional=2, max_positional=3),
    **_twins("einsum", min_positional=2),
    **_twins("trace", "offset axis1 axis2 dtype"),
    **_twins("diagonal", "offset axis1 axis2"),
    **_twins("tril triu diag", "k"),
    **_twins("linalg.norm", "ord axis keepdims"),
    **_twins("linalg.inv linalg.det linalg.slogdet", max_positional=1),
    **_twins("linalg.solve", min_positional=2, max_positional=2),
    # Building and reshaping arrays.
    **_twins("asarray array", "dtype", max_positional=2),
    **_twins("zeros_like ones_like", "dtype shape"),
    **_twins("full_like", "dtype shape", min_positional=2),
    **_twins("where", min_positional=3, max_positional=3),  # one-argument where has a data-dependent shape
    **_twins("stack concatenate", "axis dtype"),
    **_twins("hstack vstack", "dtype"),
    **_twins("reshape", min_positional=2, max_positional=2),  # ``newshape=`` is gone from jnp
    **_twins("ravel"),
    **_twins("transpose", "axes"),
    **_twins("expand_dims squeeze", "axis"),
    **_twins("swapaxes", min_positional=3, max_positional=3),
    **_twins("moveaxis", min_positional=3, max_positional=3),
    **_twins("flip", "axis"),
    **_twins("roll", "shift axis"),
    **_twins("tile", "reps"),
    **_twins("broadcast_to", "shape"),
    **_twins("atleast_1d atleast_2d atleast_3d"),
    **_twins("sort", "axis"),
    **_twins("diff", "n axis prepend append"),
    **_twins("interp", "left right period", min_positional=3),
    **_twins("nan_to_num", "nan posinf neginf"),
    **_twins("float32 int32 float16"),
}

NODE_TYPES = (cst.Call,)


def refusal(node: cst.CSTNode) -> str | None:
    try:
        _numpy_call(node)
    except Refused as error:
        return str(error)
    return None


def _numpy_call(node: cst.CSTNode) -> tuple[str, str]:
    """``(root name, function path)`` of a NumPy call with a jnp twin; raises ``Refused`` otherwise."""
    if not isinstance(node, cst.Call):
        raise Refused("not a call")
    path = _dotted_path(node.func)
    if path is None or "." not in path:
        raise Refused("the function is not reached as np.<name> (e.g. from numpy import f): rename it by hand")
    root, function = path.split(".", 1)
    twin = JNP_TWINS.get(function)
    if twin is None:
        raise Refused(f"np.{function} has no jnp twin with the same meaning in jaxpure's list")
    _check_arguments(node, function, twin)
    return root, function


def _dotted_path(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _dotted_path(node.value)
        return None if inner is None else f"{inner}.{node.attr.value}"
    return None


def _check_arguments(node: cst.Call, function: str, twin: Twin) -> None:
    positional = 0
    for arg in node.args:
        if arg.star:
            raise Refused(f"np.{function}({arg.star}...): the arguments are not known statically")
        if arg.keyword is None:
            positional += 1
        elif arg.keyword.value not in twin.keywords:
            raise Refused(f"np.{function}(..., {arg.keyword.value}=...): jnp.{function} does not take it the same way")
    if positional < twin.min_positional or (twin.max_positional is not None and positional > twin.max_positional):
        raise Refused(f"np.{function} with {positional} positional arguments: jnp.{function} differs there")


def rewrite(node: cst.CSTNode, context: FixContext) -> Rewrite:
    root, function = _numpy_call(node)
    if not context.names.is_numpy(root):
        raise Refused(f"{root} is not numpy as imported at the top of this module")
    jnp, needed = context.names.jax_numpy()
    call = node.with_changes(func=dotted(f"{jnp}.{function}"))
    return Rewrite(node, (call,), frozenset({needed}) if needed else frozenset())


FIXER = Fixer(codes=("JP501",), node_types=NODE_TYPES, refusal=refusal, rewrite=rewrite)
