"""JAX's transforms, wrapped so that the watch knows the root calls and the ``jit`` sites.

``jax.jit(f)`` (and every transform in ``TRANSFORMS``) returns a ``Watched``
around what JAX returned: calling it calls JAX's object, and every other
attribute (``.lower``, ``.trace``, ``.clear_cache``) is JAX's own. A call made
outside any trace is a root call: its arguments are kept (by reference; the
experiments copy them) until it returns. The line that built a compiling
transform in a flagged file is its site: compilations during its calls are
counted there (JP502). The ``lax`` control-flow functions run at once: a call
outside any trace is a root too.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

from jaxpure.runtime.watch.observed import ActiveSites, RootCall, Watch, printed_arguments

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
STAGING, DIFFERENTIATION = "staging", "differentiation"
COMPILING = {
    "jax.jit",
    "jax.pmap",
    "equinox.filter_jit",
    "equinox.filter_pmap",
    "flax.nnx.jit",
}
# module -> {name: kind}; functions that take the function to transform first.
TRANSFORMS = {
    "jax": {
        "jit": STAGING, "pmap": STAGING, "vmap": STAGING, "checkpoint": STAGING, "remat": STAGING,
        "grad": DIFFERENTIATION, "value_and_grad": DIFFERENTIATION, "jacfwd": DIFFERENTIATION,
        "jacrev": DIFFERENTIATION, "hessian": DIFFERENTIATION,
    },
    "equinox": {
        "filter_jit": STAGING, "filter_pmap": STAGING, "filter_vmap": STAGING, "filter_checkpoint": STAGING,
        "filter_grad": DIFFERENTIATION, "filter_value_and_grad": DIFFERENTIATION,
    },
    "flax.nnx": {
        "jit": STAGING, "vmap": STAGING, "remat": STAGING, "grad": DIFFERENTIATION, "value_and_grad": DIFFERENTIATION,
    },
}  # fmt: skip
LAX_CALLS = ("scan", "fori_loop", "while_loop", "cond", "switch", "map")
# Code of these packages builds transforms for its own use: not the user's sites, not the user's roots.
_OWN_PACKAGES = ("jax.", "jaxlib.", "equinox.", "flax.", "jaxpure.")
_MISSING = object()


class Watched:
    """What a transform returned, with its calls watched."""

    # Set in ``__init__`` through ``__dict__`` (``__setattr__`` forwards to JAX's object); ``observed.Transformed``.
    _inner: Callable[..., Any]
    _fun: Any
    _transform: str
    _kind: str
    _site: tuple[str, int] | None
    _observer: Watch

    def __init__(self, inner, fun, transform: str, kind: str, site, observer: Watch):
        self.__dict__.update(
            _inner=inner, _fun=fun, _transform=transform, _kind=kind, _site=site, _observer=observer,
            __doc__=getattr(inner, "__doc__", None), __module__=getattr(inner, "__module__", None),
        )  # fmt: skip

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True  # pytest shows the user's frames, not the watch's
        return self._observer_call(self._inner, args, kwargs)

    def _observer_call(self, run, args, kwargs):
        __tracebackhide__ = True
        observer = self._observer
        if observer.busy:
            return run(*args, **kwargs)
        stack = observer.calls()
        is_root = not stack and observer.core.trace_ctx.is_top_level()
        entry = RootCall(self, args, kwargs) if is_root else None
        if entry is not None and observer.watches_arguments(self._fun):
            entry.printed_before = printed_arguments(args, kwargs)
        stack.append(entry if is_root else (stack[0] if stack else None))
        sites = observer.active_sites
        sites.append(self._site)
        try:
            result = run(*args, **kwargs)
        finally:
            sites.pop()
            stack.pop()
            if entry is not None:
                observer.root_ended(entry)
        if entry is not None and observer.watches_draws and self._transform in COMPILING:
            observer.keys_passed(self._inner, args, kwargs)  # as JAX's checker counts keys passed to jit
        return result

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return functools.partial(self, instance)  # a transformed method: the instance is its first argument

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        setattr(self._inner, name, value)

    def __repr__(self):
        return repr(self._inner)

    @property
    def __wrapped__(self):
        return self._fun

    @property
    def label(self) -> str:
        return f"{getattr(self._fun, '__qualname__', type(self._fun).__name__)} ({self._transform})"


def watch_jax(observer: Watch) -> None:
    import jax

    observer.active_sites = ActiveSites()
    _hide_from_tracebacks()

    def on_event_duration(event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == COMPILE_EVENT:
            observer.compiled(observer.active_sites.top())

    jax.monitoring.register_event_duration_secs_listener(on_event_duration)
    _wrap_module(observer, jax, "jax")
    if observer.watches_draws:
        _watch_draws(observer, jax)
    for name in LAX_CALLS:
        original = getattr(jax.lax, name, None)
        if original is not None:
            setattr(jax.lax, name, _lax_call(observer, original, f"jax.lax.{name}"))


def _watch_draws(observer: Watch, jax) -> None:
    """Each ``jax.random`` function that uses up its key tells the observer which key it drew from."""
    from jaxpure.runtime.experiments.keys import draw_functions

    for name, function in draw_functions().items():
        setattr(jax.random, name, _draw(observer, function))


def _draw(observer: Watch, function):
    @functools.wraps(function)
    def draw(key, *args, **kwargs):
        observer.drew(key)
        return function(key, *args, **kwargs)

    return draw


def watch_library(observer: Watch, module) -> None:
    if observer.jax is not None and module.__name__ in TRANSFORMS:
        _wrap_module(observer, module, module.__name__)


def _wrap_module(observer: Watch, module, prefix: str) -> None:
    for name, kind in TRANSFORMS[prefix].items():
        original = getattr(module, name, None)
        if original is not None and not getattr(original, "_jaxpure_watched", False):
            setattr(module, name, _transform(observer, original, f"{prefix}.{name}", kind))


def _transform(observer: Watch, original, name: str, kind: str):
    @functools.wraps(original)
    def transform(fun=_MISSING, *args, **kwargs):
        if fun is _MISSING:  # the decorator-factory form: jax.jit(static_argnames=...)
            return functools.partial(transform, *args, **kwargs)
        inner = original(fun, *args, **kwargs)
        caller = sys._getframe(1)
        if not callable(inner) or caller.f_globals.get("__name__", "").startswith(_OWN_PACKAGES):
            return inner
        site = None
        real = observer.flagged_file(caller.f_code.co_filename) if name in COMPILING else None
        if real is not None:
            site = (real, caller.f_lineno)
            observer.built(site, name)
        return Watched(inner, fun, name, kind, site, observer)

    transform._jaxpure_watched = True  # type: ignore[attr-defined]  # marks a transform already wrapped
    return transform


def _lax_call(observer: Watch, original, name: str):
    @functools.wraps(original)
    def call(*args, **kwargs):
        if observer.busy or observer.calls() or not observer.core.trace_ctx.is_top_level():
            return original(*args, **kwargs)
        run = functools.partial(original)  # not ``original`` itself: the experiments call it as it is
        return Watched(run, original, name, STAGING, None, observer)._observer_call(run, args, kwargs)

    call._jaxpure_watched = True  # type: ignore[attr-defined]  # marks a lax function already wrapped
    return call


def _hide_from_tracebacks() -> None:
    """JAX filters its own frames out of the tracebacks users see; the watch's go with them."""
    try:
        from jax._src import traceback_util
    except ImportError:
        return
    traceback_util.register_exclusion(os.path.dirname(__file__))
