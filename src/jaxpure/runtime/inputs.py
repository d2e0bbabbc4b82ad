"""Example arguments for a function jaxpure runs (child process only).

In order (SPEC §5): the user's examples file; annotations (``jax.Array``,
``jnp.ndarray``, jaxtyping ``Float[Array, "b 3"]``, Python scalars); the
parameter's name (``key``/``rng`` get ``jax.random.key(0)``); how the body
uses it (string keys make a dict); and otherwise a float32 array, tried with
the shapes ``()``, ``(4,)``, ``(4, 4)`` in turn.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from jaxpure.runtime.examples import expand_entry, find_entry
from jaxpure.runtime.usage import Usage, parameter_usage

SHAPES = ((), (4,), (4, 4))
NAMED_DIMENSION = 4
KEY_NAMES = re.compile(r"^(key|subkey|\w+_key|\w*rng\w*)$")
ARRAY_ANNOTATIONS = re.compile(r"^(?:\w+\.)*(Array|ndarray|ArrayLike|ArrayImpl|Tensor)$")
# jaxtyping: Float[Array, "b 3"], Int32[jax.Array, "n"], Key[Array, ""], ...
JAXTYPING = re.compile(r"^(?:\w+\.)*([A-Z][A-Za-z]*?)(\d*)\[\s*[\w.]+\s*,\s*['\"]([^'\"]*)['\"]\s*\]$")
JAXTYPING_DTYPES = {
    "Float": "float32", "Inexact": "float32", "Real": "float32", "Num": "float32", "Shaped": "float32",
    "Int": "int32", "Integer": "int32", "UInt": "uint32", "Bool": "bool", "Complex": "complex64",
}  # fmt: skip
SCALARS = {"float": 0.5, "int": 3, "bool": True, "complex": 1 + 0j}
OPTIONAL = re.compile(r"^(?:Optional\[(.+)\]|(.+?)\s*\|\s*None|None\s*\|\s*(.+))$")


@dataclass(frozen=True)
class Inputs:
    args: tuple
    kwargs: dict
    description: str  # what was passed, for the evidence: "x: float32[4], key: key<fry>[]"

    def __deepcopy__(self, memo) -> Inputs:
        """Fresh copies for each run; a value that cannot be deep-copied (a TestCase instance in the
        user's own run) is copied shallowly, or passed as it is."""
        args = tuple(copied(value, memo) for value in self.args)
        return Inputs(args, {name: copied(value, memo) for name, value in self.kwargs.items()}, self.description)


def copied(value: Any, memo: dict | None = None) -> Any:
    """A deep copy; else a shallow one whose attributes are deep copies where they can be (a TestCase
    instance in the user's own run); else the value itself. A failed attempt leaves ``memo`` as it was:
    its half-built objects must not stand in for anything."""
    trial = dict(memo or {})
    try:
        result = copy.deepcopy(value, trial)
    except Exception:
        pass
    else:
        if memo is not None:
            memo.update(trial)
        return result
    try:
        clone = copy.copy(value)
    except Exception:
        return value
    state = getattr(clone, "__dict__", None)
    if isinstance(state, dict) and state is not getattr(value, "__dict__", None):
        # Each attribute that can be copied is the copy's own: sharing one (a TestCase's ``_outcome``)
        # would let a re-run report into the user's run.
        for name, attribute in list(state.items()):
            try:
                state[name] = copy.deepcopy(attribute, {})
            except Exception:
                continue
    return clone


class NoInputs(Exception):
    """No arguments can be built; the message names the parameter and how to provide one."""


@dataclass(frozen=True)
class _Spec:
    """How to build one parameter's value for a given trial shape."""

    kind: str  # "array" (trial shape) | "fixed" (jaxtyping) | "key" | "value" | "dict" | "list"
    dtype: str = "float32"
    shape: tuple = ()
    value: Any = None
    keys: dict | None = None


def candidate_inputs(target, module: str, examples: dict | None, *, numpy_arrays: bool = False) -> list[Inputs]:
    """Argument sets to try in turn; raises ``NoInputs`` when none can be built."""
    entry = find_entry(examples, module, target.qualname) if examples else None
    if entry is not None:
        key, value = entry
        names = _positional_names(target)
        return [
            Inputs(args, kwargs, f"the examples entry {key!r} ({describe_arguments(args, kwargs, names)})")
            for args, kwargs in expand_entry(key, value)
        ]
    specs = _parameter_specs(target, module)
    has_trial_shape = any(spec.kind in ("array", "dict", "list") for _, _, spec in specs)
    candidates = []
    for seed, shape in enumerate(SHAPES if has_trial_shape else SHAPES[:1]):
        args, kwargs = [], {}
        for name, positional, spec in specs:
            value = _build(spec, shape, seed, numpy_arrays)
            if positional:
                args.append(value)
            else:
                kwargs[name] = value
        candidates.append(Inputs(tuple(args), kwargs, describe_arguments(args, kwargs, [n for n, p, _ in specs if p])))
    return candidates


def _parameter_specs(target, module: str) -> list[tuple[str, bool, _Spec]]:
    """(name, passed positionally, spec) for each parameter that needs a value."""
    try:
        signature = inspect.signature(target.raw)
    except (TypeError, ValueError):
        raise NoInputs(
            f"cannot read the signature of {target.qualname}; {_how_to_provide(module, target.qualname)}"
        ) from None
    usages = parameter_usage(target.raw)
    dimensions: dict[str, int] = {}  # jaxtyping dimension names, shared across parameters
    specs = []
    for index, parameter in enumerate(signature.parameters.values()):
        if (
            parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
            or parameter.default is not parameter.empty
        ):
            continue
        if index == 0 and target.is_method:
            raise NoInputs(
                f"parameter {parameter.name!r} of {target.qualname} needs an instance of its class; "
                f"{_how_to_provide(module, target.qualname)}"
            )
        spec = _spec_for(parameter, usages.get(parameter.name, Usage()), target.static_params, dimensions)
        if spec is None:
            raise NoInputs(
                f"cannot build a value for parameter {parameter.name!r} of {target.qualname}"
                f"{_annotation_note(parameter)}; {_how_to_provide(module, target.qualname)}"
            )
        specs.append((parameter.name, parameter.kind != parameter.KEYWORD_ONLY, spec))
    return specs


def _spec_for(parameter: inspect.Parameter, usage: Usage, static: tuple[str, ...], dimensions: dict) -> _Spec | None:
    annotation = annotation_text(parameter.annotation)
    if KEY_NAMES.match(parameter.name) and (annotation is None or ARRAY_ANNOTATIONS.match(annotation)):
        return _Spec("key")  # `key: jax.Array` is a key all the same
    if annotation is not None:
        return _spec_from_annotation(annotation, usage, dimensions)
    if parameter.name in static:
        return _Spec("value", value=SCALARS["int"])
    return _spec_from_usage(usage)


def _spec_from_annotation(text: str, usage: Usage, dimensions: dict) -> _Spec | None:
    optional = OPTIONAL.match(text)
    if optional:
        text = next(group for group in optional.groups() if group)
    base = text.split("[", 1)[0].rsplit(".", 1)[-1]
    if text in SCALARS:
        return _Spec("value", value=SCALARS[text])
    if base in ("PRNGKeyArray", "KeyArray") or base == "Key" or text.startswith("Key["):
        return _Spec("key")
    jaxtyping = JAXTYPING.match(text)
    if jaxtyping and jaxtyping.group(1) in JAXTYPING_DTYPES:
        return _Spec(
            "fixed", dtype=JAXTYPING_DTYPES[jaxtyping.group(1)], shape=_jaxtyping_shape(jaxtyping.group(3), dimensions)
        )
    if ARRAY_ANNOTATIONS.match(text):
        return _Spec("array")
    if base.lower() in ("dict", "mapping", "mutablemapping"):
        return _Spec("dict", keys=usage.keys or {"a": {}})
    if base.lower() in ("list", "sequence", "mutablesequence"):
        return _Spec("list")
    return None


def _spec_from_usage(usage: Usage) -> _Spec | None:
    if usage.container == "dict":
        return _Spec("dict", keys=usage.keys or {"a": {}})
    if usage.container == "list":
        return _Spec("list")
    if usage.attributes - _array_attributes():
        return None  # used as an object (cfg.hidden): nothing to build it from
    return _Spec("array")


def _jaxtyping_shape(dims: str, named: dict[str, int]) -> tuple[int, ...]:
    shape = []
    for dim in dims.split():
        if dim == "..." or dim.startswith("*"):
            continue  # any number of leading dimensions: none
        name = dim.lstrip("#_")
        if name.isdigit():
            shape.append(int(name))
        else:
            shape.append(named.setdefault(name or dim, NAMED_DIMENSION))
    return tuple(shape)


def _build(spec: _Spec, shape: tuple, seed: int, numpy_arrays: bool) -> Any:
    if spec.kind == "key":
        return _key_zero()
    if spec.kind == "value":
        return spec.value
    if spec.kind == "fixed":
        return _array(spec.shape, spec.dtype, seed, numpy_arrays)
    if spec.kind == "dict":
        assert spec.keys is not None  # every "dict" spec is made with its keys
        return _dict(spec.keys, shape, seed, numpy_arrays)
    if spec.kind == "list":
        return [_array(shape, "float32", seed + i, numpy_arrays) for i in range(2)]
    return _array(shape, "float32", seed, numpy_arrays)


def _dict(keys: dict, shape: tuple, seed: int, numpy_arrays: bool) -> dict:
    return {
        key: _dict(sub, shape, seed + i, numpy_arrays) if sub else _array(shape, "float32", seed + i, numpy_arrays)
        for i, (key, sub) in enumerate(keys.items())
    }


def _array(shape: tuple, dtype: str, seed: int, numpy_arrays: bool):
    """Distinct, unsorted values (a private generator: the global NumPy state stays untouched)."""
    generator = np.random.default_rng(seed)
    if dtype.startswith(("int", "uint")):
        values = generator.integers(0, 4, shape).astype(dtype)
    elif dtype == "bool":
        values = generator.standard_normal(shape) > 0
    else:
        values = generator.standard_normal(shape).astype(dtype)
    return values if numpy_arrays else jax.device_put(values)  # a transfer: jnp.asarray compiles per shape


def _key_zero():
    """``jax.random.key(0)``, built from its data: no compilation (``key(0)`` costs a compile per process)."""
    return jax.random.wrap_key_data(np.zeros(2, np.uint32))


def annotation_text(annotation: Any) -> str | None:
    """An annotation as source text (``from __future__ import annotations`` leaves strings)."""
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, str):
        return annotation.strip().strip("'\"")
    if isinstance(annotation, type):
        return (
            annotation.__qualname__
            if annotation.__module__ == "builtins"
            else f"{annotation.__module__}.{annotation.__qualname__}"
        )
    return str(annotation).replace("typing.", "")


def _positional_names(target) -> list[str]:
    try:
        parameters = inspect.signature(target.raw).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def with_jax_arrays(inputs: Inputs) -> Inputs:
    """The same inputs with NumPy arrays turned into JAX arrays (for code that must see JAX's semantics)."""
    args, kwargs = jax.tree_util.tree_map(
        lambda value: jax.device_put(value) if isinstance(value, np.ndarray) else value, (inputs.args, inputs.kwargs)
    )
    return Inputs(tuple(args), dict(kwargs), inputs.description.replace("np.", ""))  # describe_value's prefix


def describe_arguments(args, kwargs, names: list[str] | None = None) -> str:
    names = [*(names or []), *(f"arg{i}" for i in range(len(names or []), len(args)))]
    parts = [f"{name}: {describe_value(value)}" for name, value in zip(names, args, strict=False)]
    parts += [f"{name}: {describe_value(value)}" for name, value in kwargs.items()]
    return ", ".join(parts) or "no arguments"


def describe_value(value: Any) -> str:
    if isinstance(value, jax.Array | np.ndarray):
        dtype = str(value.dtype)
        return f"{'np.' if isinstance(value, np.ndarray) else ''}{dtype}[{','.join(map(str, value.shape))}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(describe_value(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    text = repr(value)
    return text if len(text) <= 40 else type(value).__name__


def _how_to_provide(module: str, qualname: str) -> str:
    return (
        f"give it real arguments in the runtime examples file ([tool.jaxpure.runtime] examples): "
        f'EXAMPLES = {{"{module}:{qualname}": lambda: ((arg, ...), {{}})}}, or record them with pytest --jaxpure'
    )


def _annotation_note(parameter: inspect.Parameter) -> str:
    text = annotation_text(parameter.annotation)
    return f" (annotated {text})" if text else ""


_ARRAY_ATTRIBUTES: set[str] = set()


def _array_attributes() -> set[str]:
    """Everything a JAX or NumPy array answers to: ``x.shape``, ``x.at``, ``x.fill()`` say nothing about objects."""
    if not _ARRAY_ATTRIBUTES:
        _ARRAY_ATTRIBUTES.update(dir(jax.Array), dir(np.ndarray))
    return _ARRAY_ATTRIBUTES
