"""``pytest --jaxpure``: record the arguments JAX-transformed functions receive in the test
suite, and save them as a runtime examples file for ``jaxpure check --runtime``.

While the option is on, ``jax.jit``, ``jax.grad`` and the other transforms in
``TRANSFORMS`` are wrapped: each function of the project they transform gets
its first concrete call recorded (arrays copied to NumPy, typed keys as their
data). At the end of the session the calls are written with
``jaxpure.runtime.examples.save_recording`` (``jaxpure_examples.py`` and its
``.pkl``). Without ``--jaxpure`` the plugin does nothing and imports nothing.
"""

from __future__ import annotations

import functools
import inspect
import pickle
import sysconfig
from pathlib import Path

import pytest

TRANSFORMS = ("jit", "grad", "value_and_grad", "vmap", "jacfwd", "jacrev", "hessian")
LARGE_ARRAY_BYTES = 16 << 20  # larger arrays are kept as shape and dtype only
_NOT_GIVEN = object()
_RECORDER = pytest.StashKey["Recorder"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jaxpure")
    group.addoption(
        "--jaxpure",
        action="store_true",
        help="record the arguments JAX-transformed functions receive, as a jaxpure runtime examples file",
    )
    group.addoption(
        "--jaxpure-examples",
        default="jaxpure_examples.py",
        metavar="PATH",
        help="where --jaxpure writes the examples file (default: jaxpure_examples.py in the rootdir)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # Before conftest.py files import the project: their @jax.jit must already be wrapped.
    if getattr(early_config.known_args_namespace, "jaxpure", False):
        _start(early_config)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("jaxpure"):
        _start(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash.get(_RECORDER, None)
    if recorder is not None and recorder.calls:
        recorder.save()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None:
        return
    if recorder.calls:
        terminalreporter.write_line(f"jaxpure: recorded {len(recorder.calls)} function(s) into {recorder.path}")
    else:
        terminalreporter.write_line("jaxpure: no transformed function of this project was called; nothing recorded")
    for key, reason in sorted(recorder.unrecorded.items()):
        terminalreporter.write_line(f"jaxpure: {key} not recorded: {reason}")


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is not None:
        recorder.uninstall()


def _start(config: pytest.Config) -> None:
    if _RECORDER in config.stash:
        return
    root = Path(config.rootpath)
    recorder = Recorder(root, root / config.getoption("jaxpure_examples"))
    recorder.install()
    config.stash[_RECORDER] = recorder


class Recorder:
    """Wraps JAX's transforms and keeps the first concrete call of each project function."""

    def __init__(self, root: Path, path: Path):
        self.root = root.resolve()
        self.path = path
        self.calls: dict[str, bytes] = {}  # "module:qualname" -> pickled (args, kwargs)
        self.unrecorded: dict[str, str] = {}  # "module:qualname" -> why its call could not be kept
        self._originals: dict[str, object] = {}

    def install(self) -> None:
        import jax

        for name in TRANSFORMS:
            self._originals[name] = getattr(jax, name)
            setattr(jax, name, self._wrapped_transform(getattr(jax, name)))

    def uninstall(self) -> None:
        import jax

        for name, original in self._originals.items():
            setattr(jax, name, original)
        self._originals.clear()

    def save(self) -> None:
        from jaxpure.runtime.examples import save_recording

        save_recording(self.path, self.calls)

    def _wrapped_transform(self, transform):
        @functools.wraps(transform)
        def transform_and_record(fun=_NOT_GIVEN, /, *args, **kwargs):
            if fun is _NOT_GIVEN:  # a decorator factory: @jax.jit(static_argnames=...)
                decorator = transform(*args, **kwargs)
                return lambda function: self._recording(decorator(function), function)
            return self._recording(transform(fun, *args, **kwargs), fun)

        return transform_and_record

    def _recording(self, transformed, fun):
        """``transformed``, recording its first concrete call if ``fun`` belongs to the project."""
        key = self._key(fun)
        if key is None:
            return transformed

        @functools.wraps(transformed)
        def recorded(*args, **kwargs):
            if key not in self.calls:
                self._record(key, args, kwargs)
            return transformed(*args, **kwargs)

        for name in ("lower", "trace", "eval_shape", "clear_cache"):  # jit's own methods
            if hasattr(transformed, name):
                setattr(recorded, name, getattr(transformed, name))
        return recorded

    def _key(self, fun) -> str | None:
        """``module:qualname`` for a module-level function or method defined under the rootdir."""
        raw = inspect.unwrap(fun)
        module, qualname = getattr(raw, "__module__", None), getattr(raw, "__qualname__", "")
        if not module or module == "__main__" or "<" in qualname:
            return None  # lambdas and nested functions cannot be imported by --runtime
        try:
            source = Path(inspect.getsourcefile(raw) or "").resolve()
        except TypeError:
            return None
        libraries = Path(sysconfig.get_paths()["purelib"]).resolve()
        if not source.is_relative_to(self.root) or source.is_relative_to(libraries):
            return None
        return f"{module}:{qualname}"

    def _record(self, key: str, args: tuple, kwargs: dict) -> None:
        import jax

        leaves = jax.tree_util.tree_leaves((args, kwargs))
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            return  # called inside another trace: wait for a call with real values
        try:
            blob = pickle.dumps(jax.tree_util.tree_map(_recordable, (args, kwargs)))
        except Exception as error:  # pickling user objects can fail in any way
            self.unrecorded[key] = f"its arguments cannot be pickled ({type(error).__name__}: {error})"
            return
        self.calls[key] = blob
        self.unrecorded.pop(key, None)


def _recordable(leaf):
    """A leaf as it can be pickled and restored on any device."""
    import jax
    import numpy as np

    from jaxpure.runtime.examples import RecordedArray, RecordedKey, RecordedSpec

    if not isinstance(leaf, jax.Array):
        return leaf
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return RecordedKey(np.asarray(jax.random.key_data(leaf)), str(jax.random.key_impl(leaf)))
    if leaf.nbytes > LARGE_ARRAY_BYTES:
        return RecordedSpec(tuple(leaf.shape), str(leaf.dtype))
    return RecordedArray(np.asarray(leaf))
