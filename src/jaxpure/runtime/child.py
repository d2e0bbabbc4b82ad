"""The child process: imports JAX and the user's module, runs one experiment per finding.

Started by ``isolation.run_child`` as ``python -c <bootstrap> ROOT REQUEST EVENTS``;
it reports only through the events file (``protocol``). User output is
discarded behind a cap; a fork, ``sys.exit`` or a failed import ends the
module's run with a reason, and every finding still gets a verdict.
"""

from __future__ import annotations

import faulthandler
import importlib
import importlib.util
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from jaxpure.runtime.isolation import OUTPUT_LIMIT
from jaxpure.runtime.modules import ModuleLocation
from jaxpure.runtime.perturb import Perturbation
from jaxpure.runtime.protocol import ABORT, BEGIN, RESULT, TIMING, FindingTask, ModuleRequest
from jaxpure.runtime.sandbox import ForkWatch, Reporter, install_output_cap

HANG_REPORT_MARGIN = 0.5  # seconds before the parent's deadline


class ModuleSkipped(Exception):
    """Nothing in this module can run; the message is every finding's reason."""


def main(argv: list[str]) -> int:
    request = ModuleRequest.read(Path(argv[0]))
    # Just before the parent's deadline, show where the code hangs (the parent quotes it).
    assert sys.__stderr__ is not None  # the parent gives the child a stderr pipe
    faulthandler.dump_traceback_later(max(0.5, request.timeout - HANG_REPORT_MARGIN), file=sys.__stderr__)
    reporter = Reporter(Path(argv[1]))
    install_output_cap(reporter, OUTPUT_LIMIT)
    forks = ForkWatch()
    try:
        session = _start(request, reporter, forks)
    except ModuleSkipped as reason:
        reporter.emit(ABORT, reason=str(reason))
        return 0
    for task in request.tasks:
        _run_task(task, session, reporter, forks)
    return 0


@dataclass
class _Session:
    """What every experiment in this module shares."""

    request: ModuleRequest
    module: ModuleType
    device: str  # "cpu:0", named in the evidence
    examples: dict | None
    perturbation: Perturbation


def _start(request: ModuleRequest, reporter: Reporter, forks: ForkWatch) -> _Session:
    reporter.phase(f"starting JAX on {request.device}")
    started = time.perf_counter()
    from jaxpure.runtime.device import DeviceUnavailable, describe, start_jax

    try:
        device = start_jax(request.device)
    except DeviceUnavailable as error:
        raise ModuleSkipped(str(error)) from None
    reporter.emit(TIMING, name="jax_import", seconds=time.perf_counter() - started)
    started = time.perf_counter()
    _warm_up()
    reporter.emit(TIMING, name="jax_warm_up", seconds=time.perf_counter() - started)
    perturbation = Perturbation()
    perturbation.install()  # before the user's module binds `from time import time`
    sys.path.insert(0, request.search_path)  # the examples file may import the user's modules too
    examples = _load_examples(request, reporter)
    module = _import_module(request, reporter, forks)
    return _Session(request, module, describe(device), examples, perturbation)


def _warm_up() -> None:
    """JAX's first trace in a process sets up its tracing machinery: a cost of the module, not of a finding."""
    import jax

    jax.make_jaxpr(lambda x: x * 2 + 1)(1.0)


def _load_examples(request: ModuleRequest, reporter: Reporter):
    if not request.examples:
        return None
    from jaxpure.runtime.examples import ExamplesError, load_examples

    reporter.phase(f"loading the examples file {request.examples}")
    try:
        return load_examples(request.examples)
    except ExamplesError as error:
        raise ModuleSkipped(str(error)) from None


def _import_module(request: ModuleRequest, reporter: Reporter, forks: ForkWatch):
    reporter.phase(f"importing {request.module}")
    started = time.perf_counter()
    try:
        module = _import(request)
    except SystemExit as exit:
        raise ModuleSkipped(f"{request.module} called sys.exit({exit.code!r}) while being imported") from None
    except BaseException as error:  # any failure of user code at import, KeyboardInterrupt included
        raise ModuleSkipped(f"importing {request.module} failed: {_error_summary(error, request.file)}") from None
    if forks.forks:
        raise ModuleSkipped(
            f"{request.module} called os.fork() while being imported; jaxpure does not run modules that fork"
        )
    reporter.emit(TIMING, name="module_import", seconds=time.perf_counter() - started)
    return module


def _import(request: ModuleRequest):
    location = ModuleLocation(request.module, request.search_path, request.file)
    if location.importable:
        return importlib.import_module(request.module)
    # A file whose name is no identifier (my-script.py) still loads from its path.
    spec = importlib.util.spec_from_file_location(request.module.replace("-", "_"), request.file)
    if spec is None or spec.loader is None:
        raise ImportError(f"no loader for {request.file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run_task(task: FindingTask, session: _Session, reporter: Reporter, forks: ForkWatch) -> None:
    from jaxpure.runtime.context import ExperimentContext, skipped
    from jaxpure.runtime.experiments import run_experiment
    from jaxpure.runtime.targets import TargetError

    reporter.phase(f"running {task.where}")
    reporter.emit(BEGIN, id=task.id)
    started = time.perf_counter()
    forks_before = forks.forks
    context = ExperimentContext(
        task, session.module, session.request.module, session.request.file, session.examples, session.perturbation
    )
    try:
        verdict = run_experiment(context)
    except TargetError as error:
        verdict = skipped(str(error))
    except SystemExit as exit:
        verdict = skipped(f"the function called sys.exit({exit.code!r}) during the experiment")
    except Exception as error:
        verdict = skipped(f"the experiment could not run: {_error_summary(error, session.request.file)}")
    if forks.forks != forks_before:
        verdict = skipped("the function called os.fork() during the experiment; jaxpure does not run code that forks")
    evidence = verdict.evidence if verdict.status == "skipped" else f"{verdict.evidence} [on {session.device}]"
    reporter.emit(RESULT, id=task.id, status=verdict.status, evidence=evidence, seconds=time.perf_counter() - started)


def _error_summary(error: BaseException, file: str) -> str:
    """``ModuleNotFoundError: No module named 'x' (at mod.py:3)``: the class, the message, the user's line."""
    message = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if frame.filename == file] or frames[-1:]
    where = f" (at {Path(own[-1].filename).name}:{own[-1].lineno})" if own else ""
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"
