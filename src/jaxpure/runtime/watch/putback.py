"""The user's state an experiment may reach, saved before it runs and put back after (child side).

An experiment runs on copies, but the function it re-runs still reaches the
user's own objects: through its closure (a scan body capturing a variable),
through a framework's graph of shared references, through a mutable JAX
``Ref`` inside a variable, or through what the flagged line names. Everything
reachable from those roots is saved shallowly (a container's items, an
object's ``__dict__`` and ``__slots__``, a ``Ref``'s or a NumPy array's value)
and put back afterwards, so that the user's run goes on with its own state.
"""

from __future__ import annotations

import collections
import contextlib
import types

MAX_OBJECTS = 20_000  # the nearest ones first; past that, a graph this large is not walked further
# Objects of these packages hold the machinery around the run (test runners, loggers, JAX's caches),
# not the user's state: never walked, never put back.
_MACHINERY = ("unittest.", "_pytest.", "pytest.", "pluggy.", "logging", "threading", "jax.", "jaxlib.", "jaxpure.")
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.CodeType)
_ATOMS = (str, bytes, int, float, complex, bool, type(None))


@contextlib.contextmanager
def restored(roots: list):
    """Whatever happens inside to the state reachable from ``roots`` is undone on the way out."""
    saved = [(obj, _state_of(obj)) for obj in reachable(roots)]
    try:
        yield
    finally:
        for obj, state in reversed(saved):
            with contextlib.suppress(Exception):
                if not _unchanged(obj, state):
                    _put_back(obj, state)


def reachable(roots: list) -> list:
    """The mutable objects reachable from ``roots``, nearest first, at most ``MAX_OBJECTS``."""
    found: list = []
    seen: set[int] = set()
    queue = collections.deque(roots)
    while queue and len(found) < MAX_OBJECTS:
        obj = queue.popleft()
        if id(obj) in seen or isinstance(obj, _ATOMS + _OPAQUE) or _is_machinery(obj):
            continue
        seen.add(id(obj))
        if is_ref(obj) or _is_numpy_array(obj):
            found.append(obj)
            continue
        children = _children(obj)
        if children is None:
            continue
        if not isinstance(obj, tuple | frozenset):
            found.append(obj)
        queue.extend(children)
    return found


def _children(obj) -> list | None:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, list | tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, bytearray):
        return []
    fields = _fields(obj)
    return list(fields.values()) if fields is not None else None


def _fields(obj) -> dict | None:
    """An object's attributes, from its ``__dict__`` and its ``__slots__``; None if it has neither."""
    fields = dict(vars(obj)) if hasattr(obj, "__dict__") and isinstance(vars(obj), dict) else None
    for slot in _slots(type(obj)):
        fields = {} if fields is None else fields
        with contextlib.suppress(AttributeError):
            fields[slot] = getattr(obj, slot)
    return fields


def _slots(cls: type) -> list[str]:
    names = []
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        names += [declared] if isinstance(declared, str) else list(declared)
    return [name for name in names if name not in ("__dict__", "__weakref__")]


def _is_machinery(obj) -> bool:
    return is_machinery_module(type(obj).__module__) and not is_ref(obj)


def is_machinery_module(module: str | None) -> bool:
    """A module of the machinery around the run (``_MACHINERY``), not of the user's code."""
    return ((module or "") + ".").startswith(_MACHINERY)


def is_ref(obj) -> bool:
    """A mutable JAX array (``jax.new_ref``): its value changes in place."""
    try:
        from jax._src.core import Ref
    except ImportError:
        return False
    return isinstance(obj, Ref)


def _is_numpy_array(obj) -> bool:
    return type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray"


def _state_of(obj):
    if is_ref(obj):
        return obj[...]
    if _is_numpy_array(obj):
        return obj.copy()
    if isinstance(obj, list | bytearray):
        return obj[:]
    if isinstance(obj, dict | set):
        return obj.copy()
    return _fields(obj)


def _unchanged(obj, state) -> bool:
    """Nothing to put back: the same items, the same attribute values (by identity), the same array values."""
    if _is_numpy_array(obj):
        return bool((obj == state).all()) if obj.shape == state.shape else False
    now = _state_of(obj)
    if is_ref(obj):
        return now is state
    if isinstance(now, dict) and isinstance(state, dict):
        return now.keys() == state.keys() and all(now[key] is state[key] for key in now)
    if isinstance(now, set | bytearray):
        return now == state
    return len(now) == len(state) and all(a is b for a, b in zip(now, state, strict=True))


def _put_back(obj, state) -> None:
    if is_ref(obj) or _is_numpy_array(obj):
        obj[...] = state
    elif isinstance(obj, list | bytearray):
        obj[:] = state
    elif isinstance(obj, dict | set):
        obj.clear()
        obj.update(state)
    else:
        _put_back_fields(obj, state)


def _put_back_fields(obj, state: dict) -> None:
    slots = set(_slots(type(obj)))
    if hasattr(obj, "__dict__") and isinstance(vars(obj), dict):
        vars(obj).clear()
        vars(obj).update({name: value for name, value in state.items() if name not in slots})
    for slot in slots:
        if slot in state:
            object.__setattr__(obj, slot, state[slot])
        else:
            with contextlib.suppress(AttributeError):
                object.__delattr__(obj, slot)
