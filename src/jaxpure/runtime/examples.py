"""Runtime examples files: real arguments for the functions ``--runtime`` runs.

An examples file is a Python file defining ``EXAMPLES``, a dict from
``"module:qualname"`` to the arguments of one call::

    EXAMPLES = {
        "mypkg.train:step": lambda: ((jnp.ones((8, 3)), jax.random.key(0)), {"train": True}),
        "mypkg.model:Model.__call__": lambda: ((Model(4), jnp.ones(3)), {}),
    }

A value is ``(args, kwargs)``, a zero-argument callable returning that (so
that arrays are built in the child, on the device ``--device`` chose), or a
list of those, tried in turn. ``pytest --jaxpure`` writes such a file from
the calls the test suite makes (``save_recording``), with the arguments kept
in a pickle beside it.

This module imports neither JAX nor NumPy at import time: the pytest plugin
and the child process import it, and the child only after choosing a device.
"""

from __future__ import annotations

import pickle
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VARIABLE = "EXAMPLES"
RECORDING_SUFFIX = ".pkl"


class ExamplesError(Exception):
    """An examples file, or one of its entries, that cannot be used; the message says how to fix it."""


def load_examples(path: str) -> dict[str, Any]:
    """Run the examples file and return its ``EXAMPLES`` dict."""
    try:
        namespace = runpy.run_path(path, run_name="jaxpure_examples")
    except FileNotFoundError:
        raise ExamplesError(f"examples file {path} does not exist") from None
    except Exception as error:
        raise ExamplesError(f"examples file {path} failed to run: {type(error).__name__}: {error}") from None
    examples = namespace.get(VARIABLE)
    if not isinstance(examples, dict) or not all(isinstance(key, str) for key in examples):
        raise ExamplesError(f'examples file {path} must define {VARIABLE} = {{"module:qualname": (args, kwargs), ...}}')
    return examples


def find_entry(examples: dict[str, Any], module: str, qualname: str) -> tuple[str, Any] | None:
    """The entry for ``module:qualname``; the module may be named from another sys.path root
    (``src.pkg.train`` for ``pkg.train``), so dotted suffixes match too."""
    exact = f"{module}:{qualname}"
    if exact in examples:
        return exact, examples[exact]
    for key, value in examples.items():
        key_module, _, key_qualname = key.rpartition(":")
        if key_qualname == qualname and (key_module.endswith("." + module) or module.endswith("." + key_module)):
            return key, value
    return None


def expand_entry(key: str, value: Any) -> list[tuple[tuple, dict]]:
    """Every ``(args, kwargs)`` an entry holds, built now."""
    values = value if isinstance(value, list) else [value]
    calls = []
    for item in values:
        if callable(item):
            try:
                item = item()
            except Exception as error:
                raise ExamplesError(
                    f"examples entry {key!r} failed to build its arguments: {type(error).__name__}: {error}"
                ) from None
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], tuple | list)
            and isinstance(item[1], dict)
        ):
            raise ExamplesError(
                f"examples entry {key!r} must give (args, kwargs), e.g. ((x, y), {{}}); got {type(item).__name__}"
            )
        calls.append((tuple(item[0]), dict(item[1])))
    return calls


# ------------------------------------------------------------------ recordings (pytest --jaxpure)


@dataclass(frozen=True)
class RecordedArray:
    """A JAX array, kept as a NumPy copy so that the recording loads on any device."""

    data: Any

    def restore(self):
        import jax.numpy as jnp

        return jnp.asarray(self.data)


@dataclass(frozen=True)
class RecordedKey:
    """A typed PRNG key array: its raw data and the name of its implementation."""

    data: Any
    impl: str

    def restore(self):
        import jax

        return jax.random.wrap_key_data(self.data, impl=self.impl)


@dataclass(frozen=True)
class RecordedSpec:
    """An array too large to keep: only its shape and dtype, restored as zeros."""

    shape: tuple[int, ...]
    dtype: str

    def restore(self):
        import jax.numpy as jnp

        return jnp.zeros(self.shape, self.dtype)


RECORDED_LEAVES = (RecordedArray, RecordedKey, RecordedSpec)

_RECORDING_MODULE = '''"""Runtime examples recorded by `pytest --jaxpure` ({count} functions).

Use them with `jaxpure check --runtime` by setting, in pyproject.toml:

    [tool.jaxpure.runtime]
    examples = "{name}"

Each entry maps "module:qualname" to the arguments of the first call the test
suite made; the arguments are stored in {data} beside this file.
"""

from jaxpure.runtime.examples import load_recording

EXAMPLES = load_recording(__file__)
'''


def save_recording(path: str | Path, calls: dict[str, bytes]) -> None:
    """Write the examples file ``path`` and its pickle of ``calls`` (each a pickled ``(args, kwargs)``)."""
    path = Path(path)
    data = path.with_suffix(RECORDING_SUFFIX)
    data.write_bytes(pickle.dumps(calls))
    path.write_text(_RECORDING_MODULE.format(count=len(calls), name=path.name, data=data.name), encoding="utf-8")


def load_recording(module_file: str) -> dict[str, Any]:
    """The ``EXAMPLES`` of a recording: each entry unpickles and restores its arrays when built."""
    calls = pickle.loads(Path(module_file).with_suffix(RECORDING_SUFFIX).read_bytes())
    return {key: _restorer(blob) for key, blob in calls.items()}


def _restorer(blob: bytes):
    def build() -> tuple[tuple, dict]:
        import jax

        args, kwargs = pickle.loads(blob)
        restore = lambda leaf: leaf.restore() if isinstance(leaf, RECORDED_LEAVES) else leaf  # noqa: E731
        is_recorded = lambda leaf: isinstance(leaf, RECORDED_LEAVES)  # noqa: E731
        return jax.tree_util.tree_map(restore, (tuple(args), dict(kwargs)), is_leaf=is_recorded)

    return build
