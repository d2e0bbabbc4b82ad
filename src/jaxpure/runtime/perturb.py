"""Making the world differ between two traces, so that frozen values show (child process only).

Before the user's module is imported, the clock functions, ``datetime``'s
``now``/``utcnow``/``today`` and ``os.environ`` are replaced by stand-ins that
behave exactly like the real ones until an experiment shifts them: the
clock by a day, every environment variable that was read to another value.
Imports like ``from time import time`` therefore bind the stand-ins too.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import os
import sys
import time
from collections.abc import Iterator, MutableMapping
from types import FrameType

CLOCK_SHIFT_SECONDS = 86_400.0  # a day: larger than float32's resolution at today's Unix time (128 s)
_CLOCK_FUNCTIONS = ("time", "monotonic", "perf_counter", "process_time")
# Reads made by these libraries are theirs, not the user's: not recorded, never changed.
_LIBRARIES = frozenset(
    {"jax", "jaxlib", "numpy", "ml_dtypes", "jaxpure", "importlib", "logging", "warnings", "threading"}
)
# Modules a read passes through on its way here (os.getenv -> Mapping.get -> __getitem__).
_PLUMBING = frozenset({__name__, "os", "_collections_abc", "contextlib", "datetime"})


class Perturbation:
    def __init__(self):
        self.clock_shift = 0.0
        self.clock_reads = 0
        self.environment = _WatchedEnviron(os.environ)

    def install(self) -> None:
        self.install_clock()
        datetime.datetime = _shifting_datetime(self)  # type: ignore[misc]  # the stand-in class user code sees
        os.environ = self.environment  # noqa: B003 - a stand-in mapping over the real one, which stays

    def install_clock(self) -> None:
        """Only the clock functions (``--run``: the user's own run keeps the real datetime and environ)."""
        for name in _CLOCK_FUNCTIONS:
            setattr(time, name, self._shifted(getattr(time, name), 1.0))
            setattr(time, f"{name}_ns", self._shifted(getattr(time, f"{name}_ns"), 1e9, integer=True))

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Note the clock and environment reads of the code run inside."""
        self.clock_reads = 0
        self.environment.reads.clear()
        yield

    @property
    def variants(self) -> int:
        """How many different worlds ``shifted`` can make: one per alternative environment value."""
        return max([1, *(len(changed_environment_values(value)) for value in self.environment.reads.values())])

    @contextlib.contextmanager
    def shifted(self, variant: int = 0) -> Iterator[list[str]]:
        """Move the clock a day ahead and give every variable read since ``recording``
        its ``variant``-th alternative value. Yields what changed, in words, for the evidence."""
        changes = [f"the clock moved {CLOCK_SHIFT_SECONDS / 3600:g} hours ahead"] if self.clock_reads else []
        overrides = {}
        for name, value in self.environment.reads.items():
            alternatives = changed_environment_values(value)
            overrides[name] = alternatives[min(variant, len(alternatives) - 1)]
        changes += [f"${name} {_shown(self.environment.reads[name])} -> {value!r}" for name, value in overrides.items()]
        self.clock_shift = CLOCK_SHIFT_SECONDS
        self.environment.overrides = overrides
        try:
            yield changes
        finally:
            self.clock_shift = 0.0
            self.environment.overrides = {}

    def _shifted(self, real, scale: float, integer: bool = False):
        # wraps: the stand-in keeps the real one's module and name, which tools look up again
        # (pytest-benchmark stores its timer as "time.perf_counter" and imports it back)
        @functools.wraps(real)
        def clock():
            self.clock_reads += _called_from_user_code()
            shift = self.clock_shift * scale
            return real() + (int(shift) if integer else shift)

        return clock


def _shifting_datetime(perturbation: Perturbation) -> type[datetime.datetime]:
    real = datetime.datetime

    class ShiftingDatetime(datetime.datetime):  # ``real`` (the class found now): a base mypy can check
        @classmethod
        def now(cls, tz=None):
            perturbation.clock_reads += _called_from_user_code()
            return real.now(tz) + datetime.timedelta(seconds=perturbation.clock_shift)

        @classmethod
        def utcnow(cls):
            return cls.now(datetime.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls):
            return cls.now()

    ShiftingDatetime.__name__ = ShiftingDatetime.__qualname__ = "datetime"
    ShiftingDatetime.__module__ = "datetime"
    return ShiftingDatetime


class _WatchedEnviron(MutableMapping):
    """``os.environ`` that records the variables read, and can answer with other values."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self._real = real
        self.reads: dict[str, str | None] = {}
        self.overrides: dict[str, str] = {}

    def __getitem__(self, name):
        if name not in self.reads and _called_from_user_code():
            self.reads[name] = self._real.get(name)
        if name in self.overrides:
            return self.overrides[name]
        return self._real[name]

    def __contains__(self, name):
        with contextlib.suppress(KeyError):
            self[name]
            return True
        return False

    def __setitem__(self, name, value):
        self._real[name] = value

    def __delitem__(self, name):
        del self._real[name]

    def __iter__(self):
        return iter(self._real)

    def __len__(self):
        return len(self._real)

    def copy(self):
        return dict(self._real)

    def __getattr__(self, name):  # encodekey, putenv, ... of the real os._Environ
        return getattr(self._real, name)


def _called_from_user_code() -> bool:
    """Whether the nearest caller outside this module and the libraries' plumbing is user code."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module not in _PLUMBING:
            return module.split(".")[0] not in _LIBRARIES
        frame = frame.f_back
    return False


def changed_environment_values(value: str | None) -> list[str]:
    """Other plausible values, to try in turn: numbers move by one, flags flip; an unset
    variable gets values unlike the usual defaults first (``"2"``), then flags."""
    if value is None or value == "":
        return ["2", "1", "0"]
    flips = {"0": "1", "1": "0", "true": "false", "false": "true", "True": "False", "False": "True"}
    if value in flips:
        return [flips[value]]
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return [str(kind(value) + 1)]
    return [value + "-changed", ""]


def _shown(value: str | None) -> str:
    return "unset" if value is None else repr(value)


def changed_value(value):
    """Another value of the same kind for a global (JP106), or None when jaxpure cannot invent one.

    Numbers and arrays move by one, flags flip, strings and lists grow (as
    ``.append`` would make them), dicts change every value, other pytrees (an
    ``nnx`` Module, a dataclass of arrays) their array leaves.
    """
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return not value
    if isinstance(value, int | float | complex | np.number):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if hasattr(value, "dtype") and hasattr(value, "shape"):  # NumPy or JAX array
        kind = np.dtype(value.dtype).kind if not str(value.dtype).startswith("key") else "key"
        return ~value if kind == "b" else value + 1 if kind in "iufc" else None
    if isinstance(value, list):
        return [*value, value[-1]] if value else None
    if isinstance(value, tuple):
        items = [changed_value(item) for item in value]
        if any(item is None for item in items):
            return None
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        items = {key: changed_value(item) for key, item in value.items()}
        return None if not items or any(item is None for item in items.values()) else items
    return _changed_pytree(value)


def _changed_pytree(value):
    """A registered pytree (a dataclass of arrays, an ``nnx`` Module): its array leaves moved by
    one, the rest kept. JAX is imported already wherever an experiment runs."""
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    try:
        leaves, structure = jax.tree_util.tree_flatten(value)
    except Exception:  # a class whose flattening fails is no pytree to change
        return None
    if leaves == [value]:  # not a container: JAX treats it as a leaf
        return None
    moved = [changed_value(leaf) if hasattr(leaf, "dtype") and hasattr(leaf, "shape") else None for leaf in leaves]
    if all(leaf is None for leaf in moved):
        return None
    try:
        return jax.tree_util.tree_unflatten(
            structure, [leaf if new is None else new for leaf, new in zip(leaves, moved, strict=True)]
        )
    except Exception:
        return None
