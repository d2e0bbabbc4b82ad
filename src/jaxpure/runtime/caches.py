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
"""

from __future__ import annotations

import re

import jax

# Caches of compiled code and device facts: keeping them costs no retrace.
_COMPILED = re.compile(r"compil|lower|primitive_callable|backend|device|process_count|sharding|mesh|layout")


def forget_traces() -> None:
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
