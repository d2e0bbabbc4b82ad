"""The watch agent inside the user's processes: probes in flagged files, hooks on JAX's transforms.

``install`` runs at interpreter start-up (``bootstrap/sitecustomize.py``)
and imports no JAX: it only arranges that

- flagged files get probes when they are compiled (``builtins.compile``, which
  the import system, pytest's assertion rewriter, ``runpy`` and the notebook
  runner all call), their cached bytecode being bypassed and never written;
- a main script that is itself flagged (``python train.py``) runs through
  ``runpy``, so that it is compiled with probes too;
- once ``jax`` (and ``equinox``, ``flax.nnx``) is imported, its transforms are
  wrapped (``observer.py``), which also starts counting compilations.

Everything the agent learns goes to the plan's events file (``plan.py``).
"""

from __future__ import annotations

import ast
import atexit
import builtins
import copy
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Callable

from jaxpure.runtime.rules import KEY_REUSE, RULE_EXPERIMENTS
from jaxpure.runtime.watch.instrument import ENTER_HOOK, EXIT_HOOK, LINE_HOOK, RAISED_HOOK, Span, flagged, instrument
from jaxpure.runtime.watch.plan import FINISHED, PLAN_VARIABLE, STARTED, WatchPlan

_state: dict = {}


def install() -> None:
    plan = WatchPlan.read(os.environ[PLAN_VARIABLE])
    from jaxpure.runtime.watch.observer import Observer

    observer = Observer(plan)
    _state["observer"] = observer
    spans: dict[str, list[Span]] = {}
    for finding in plan.findings:
        task = finding.task
        # Key reuse happens in plain code too: the function around it is a root of its own.
        entry = RULE_EXPERIMENTS.get(task.code) == KEY_REUSE
        spans.setdefault(finding.file, []).append(
            Span(task.id, task.line, task.end_line, task.column, task.end_column, entry)
        )
    _state["spans"] = observer.spans = spans
    setattr(builtins, LINE_HOOK, observer.line)
    setattr(builtins, RAISED_HOOK, observer.raised)
    setattr(builtins, ENTER_HOOK, observer.enter)
    setattr(builtins, EXIT_HOOK, observer.exit)
    _patch_compile(spans)
    _bypass_bytecode_cache(spans)
    sys.meta_path.insert(0, _AfterImport({
        "jax": observer.jax_imported,
        "equinox": observer.library_imported,
        "flax.nnx": observer.library_imported,
        "_pytest.assertion.rewrite": lambda module: _patch_pytest_cache(module, spans),
    }))  # fmt: skip
    observer.emit(STARTED)
    atexit.register(_finish, observer)
    _run_flagged_main(spans)


def _finish(observer) -> None:
    observer.finish()
    observer.emit(FINISHED)


def _patch_compile(spans: dict[str, list[Span]]) -> None:
    original = builtins.compile

    def compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **kwargs):
        found = flagged(
            os.fsdecode(filename) if isinstance(filename, bytes | os.PathLike) else filename,
            spans,
        )
        if found and mode == "exec" and not flags & ast.PyCF_ONLY_AST:
            try:
                tree = copy.deepcopy(source) if isinstance(source, ast.Module) else ast.parse(source, filename, "exec")
                return original(
                    instrument(tree, found),
                    filename,
                    mode,
                    flags,
                    dont_inherit,
                    optimize,
                    **kwargs,
                )
            except Exception as error:  # compiled as it is, unwatched: the user's program comes first
                _state["observer"].note(f"{filename} runs unwatched: instrumenting it failed: {error!r}")
        return original(source, filename, mode, flags, dont_inherit, optimize, **kwargs)

    builtins.compile = compile


def _bypass_bytecode_cache(spans: dict[str, list[Span]]) -> None:
    """Flagged modules are compiled from source (with probes), never from or into ``__pycache__``."""
    loader = importlib.machinery.SourceFileLoader
    original = loader.get_code

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        if flagged(path, spans):
            return self.source_to_code(self.get_data(path), path)
        return original(self, fullname)

    loader.get_code = get_code  # type: ignore[method-assign]  # on the class: every source file loader


def _patch_pytest_cache(module, spans: dict[str, list[Span]]) -> None:
    """pytest keeps its own bytecode of rewritten test files: not for flagged ones."""
    read, write = module._read_pyc, module._write_pyc

    def read_pyc(source, pyc, *args, **kwargs):
        return None if flagged(os.fspath(source), spans) else read(source, pyc, *args, **kwargs)

    def write_pyc(state, co, source_stat, pyc):
        return False if flagged(co.co_filename, spans) else write(state, co, source_stat, pyc)

    module._read_pyc, module._write_pyc = read_pyc, write_pyc


def _run_flagged_main(spans: dict[str, list[Span]]) -> None:
    """``python train.py`` compiles the script in C, out of reach: run a flagged one here instead."""
    script = sys.argv[0] if sys.argv else ""
    if not script.endswith(".py") or not os.path.isfile(script) or not flagged(script, spans):
        return
    import runpy
    import traceback

    status = 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if exit.code is not None and not isinstance(exit.code, int):
            print(exit.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        status = 1
    threading._shutdown()  # type: ignore[attr-defined]  # wait for the script's threads, as the interpreter would
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls a hook right after a module named in ``hooks`` finishes importing."""

    def __init__(self, hooks: dict[str, Callable]):
        self._hooks = hooks
        self._busy: set[str] = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self._hooks or name in self._busy:
            return None
        self._busy.add(name)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._busy.discard(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _HookedLoader(spec.loader, self._hooks[name])
        return spec


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader, hook: Callable):
        self._loader, self._hook = loader, hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._hook(module)
        except Exception as error:  # the user's program goes on, unwatched
            print(
                f"jaxpure: could not watch {module.__name__}: {type(error).__name__}: {error}",
                file=sys.stderr,
            )

    def __getattr__(self, name):
        return getattr(self._loader, name)
