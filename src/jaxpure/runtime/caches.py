"""Making JAX trace a function again, without throwing away what it compiled (child only).

What the installed JAX does (measured on 0.10.2; ``tests/test_runtime.py``
keeps checking it):

- ``jit``, ``make_jaxpr`` and ``jit(f).trace`` share one trace cache, keyed
  by the identity of the Python function: a second ``make_jaxpr(f)`` does not
  run ``f``, and neither does ``jax.jit(f)(x)`` after it.
- A fresh function object (``types.FunctionType(f.__code__, ...)``) traces
  itself again, but not the jitted functions it calls: their traces stay cached.
- ``jax.clear_caches()`` makes everything trace again, but also drops every
  compiled executable, so the next eager run compiles each primitive again
  (about a second for a few ``jax.random`` calls under ``disable_jit``).

So ``forget_traces`` clears JAX's staging caches and keeps the compiled
ones; should JAX's internals not be as expected, it falls back to
``jax.clear_caches()``.

In the user's own run (``watch/``) clearing is not allowed: the user's next
call would trace again (a test counting traces sees one more), and traces an
experiment leaves behind would serve the user's later calls (one fewer). There,
experiments run under ``private_traces()``: every cache key of JAX's jit and
trace caches holds the trace context, which holds ``jax_pgle_profiling_runs``,
a setting read only when PGLE is on. Giving it a value of jaxpure's own keys
the experiment's traces apart from the user's; ``forget_traces`` then moves to a
fresh value instead of clearing, and the user's cache entries are never touched.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading

import jax

# Caches of compiled code and device facts: keeping them costs no retrace.
_COMPILED = re.compile(r"compil|lower|primitive_callable|backend|device|process_count|sharding|mesh|layout")


_PRIVATE_KEYS = itertools.count(1_000_003)  # far from any real number of profiling runs
_private = threading.local()


class NoPrivateTraces(Exception):
    """This JAX cannot keep an experiment's traces apart from the user's."""


def forget_traces() -> None:
    """Make the next calls trace again: a fresh private key inside ``private_traces()``, else clear the caches."""
    stack = getattr(_private, "stack", None)
    if stack is not None:
        misses = _staging_misses()
        if misses is None or misses != _private.misses:  # something was traced under this key
            _enter_private_key(stack)
        return
    registry = _cache_registry()
    if registry is None:
        jax.clear_caches()
        return
    for cache, purpose in list(registry.items()):
        if not _COMPILED.search(str(purpose)):
            cache.cache_clear()


def _cache_registry():
    """JAX's registry of its memoizing caches ({cache: what it caches}), or None."""
    try:
        from jax._src import util
    except ImportError:
        return None
    registry = getattr(util, "_caches", None)
    return registry if hasattr(registry, "items") else None


@contextlib.contextmanager
def private_traces():
    """Traces made inside never read nor fill the cache entries of traces made outside (raises
    ``NoPrivateTraces`` where this JAX offers no way to keep them apart)."""
    if not _keys_trace_context():
        raise NoPrivateTraces(
            "this JAX keeps no trace apart from the user's, and clearing its caches would change the run"
        )
    outer = getattr(_private, "stack", None), getattr(_private, "misses", None)
    with contextlib.ExitStack() as stack:
        _private.stack = stack
        try:
            _enter_private_key(stack)
            yield
        finally:
            _private.stack, _private.misses = outer


def _enter_private_key(stack: contextlib.ExitStack) -> None:
    """A fresh key: every compilation under a new key starts again, so one is taken only when the
    current one has traced something (``forget_traces`` right after it would change nothing)."""
    stack.enter_context(_private_key())
    _private.misses = _staging_misses()


def _staging_misses() -> int | None:
    """How many times JAX's staging caches have missed so far (each miss is a new trace), or None."""
    registry = _cache_registry()
    if registry is None:
        return None
    counted, misses = False, 0
    for cache, purpose in list(registry.items()):
        info = getattr(cache, "cache_info", None)
        if info is not None and not _COMPILED.search(str(purpose)):
            counted, misses = True, misses + getattr(info(), "misses", 0)
    return misses if counted else None


def _private_key():
    from jax._src import config

    return config.pgle_profiling_runs(next(_PRIVATE_KEYS))


_KEYED: list[bool] = []


def _keys_trace_context() -> bool:
    """Measured once: a jitted function traces again under a private key, and not after it."""
    if not _KEYED:
        _KEYED.append(_measure_keyed())
    return _KEYED[0]


def _measure_keyed() -> bool:
    try:
        from jax._src import config

        if config.enable_pgle.value:  # the setting is live: a value of ours would change compilation
            return False
        traces: list[int] = []

        def probe_body(x):
            traces.append(1)
            return x

        probe = jax.jit(probe_body)
        probe(0)
        with _private_key():
            probe(0)
        probe(0)
        return len(traces) == 2
    except Exception:
        return False
