"""Verdicts in the watched process: from what the run showed, else from the finding's experiment
run on the root call's own arguments (child side; imported once JAX is)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import inspect
import io
import logging
import os
import sys
import types
import unittest
from typing import Any

from jaxpure.runtime.caches import NoPrivateTraces, private_traces
from jaxpure.runtime.compare import times
from jaxpure.runtime.context import (
    ExperimentContext,
    InputRejected,
    Verdict,
    confirmed,
    not_reproduced,
    skipped,
)
from jaxpure.runtime.experiments import run_experiment
from jaxpure.runtime.experiments.keys import Draw, reuse_among
from jaxpure.runtime.experiments.traces import caused_by_finding
from jaxpure.runtime.inputs import Inputs, copied, describe_arguments, describe_value
from jaxpure.runtime.protocol import FindingTask
from jaxpure.runtime.rules import (
    ARGUMENT_STATE,
    COMPILATIONS,
    KEY_REUSE,
    ONLY_UNDER_A_TRACE,
    RULE_EXPERIMENTS,
    TRACING_RAISES,
)
from jaxpure.runtime.targets import Target, TargetError
from jaxpure.runtime.watch.observed import MAX_ATTEMPTS, PlainCall, RootCall, Sighting, Watch, printed_arguments
from jaxpure.runtime.watch.putback import is_machinery_module, is_ref, restored


@dataclasses.dataclass
class ObservedContext(ExperimentContext):
    """A finding's context in the user's own run: the root call that reached it is the target,
    and its arguments (copied afresh for every use) are the only inputs."""

    root: Target | None = None
    arguments: tuple = ((), {})

    def target(self) -> Target:
        if self.root is None:
            raise TargetError("no transformed function was called with concrete arguments around this line")
        return self.root

    def own_function(self) -> Target:
        return self.target()

    def inputs(self) -> Inputs:
        originals, named = self.arguments
        for value in [*originals, *named.values()]:
            if not isinstance(value, unittest.TestCase) and not _deep_copyable(value):
                raise _NotCopyable(value)
        args, kwargs = [copied(value) for value in originals], {name: copied(value) for name, value in named.items()}
        for copy_, original in zip([*args, *kwargs.values()], [*originals, *named.values()], strict=True):
            if isinstance(copy_, unittest.TestCase) and copy_ is not original:
                # unittest's private result holder: its subTest blocks raise, rather than report into the user's run
                copy_._outcome = None  # type: ignore[attr-defined]
        try:
            names = list(inspect.signature(self.target().raw).parameters)
        except (TypeError, ValueError):
            names = None
        return Inputs(tuple(args), dict(kwargs), describe_arguments(args, kwargs, names))

    def try_inputs(self, target: Target, attempt, *, numpy_arrays: bool = False) -> Verdict:
        try:
            inputs = self.inputs()
        except _NotCopyable as error:
            return skipped(
                f"an argument of {target.label} in the run ({describe_value(error.value)}) cannot be copied, "
                "and re-running on the real one could change it: not run"
            )
        except Exception as error:
            return skipped(
                f"the arguments of {target.label} in the run cannot be copied: {type(error).__name__}: {error}"
            )
        try:
            return attempt(inputs)
        except InputRejected as rejected:
            failure = rejected.error
        except Exception as raised:
            failure = raised
        return skipped(
            f"{target.label} failed with the run's own arguments ({inputs.description}) "
            f"for a reason other than this finding: {self.describe_error(failure)}"
        )

    def line_never_ran(self, target: Target, inputs: Inputs, during: str) -> Verdict:
        return not_reproduced(f"line {self.task.line} never ran {during} {target.label} with the run's arguments")


class _NotCopyable(Exception):
    def __init__(self, value):
        super().__init__(type(value).__name__)
        self.value = value


def _deep_copyable(value) -> bool:
    try:
        copy.deepcopy(value)
    except Exception:  # RecursionError included: a mutable JAX ref held by a framework object
        return False
    return True


def drawn_verdicts(observer: Watch, pending: list[int], draws: list[Draw]) -> None:
    """Key reuse seen in the run itself, with nothing run again: within one call of the function
    around it (or a notebook's whole run), the flagged line drew from a key whose bits an earlier
    draw had used."""
    for id in pending:
        task = observer.tasks[id]
        if RULE_EXPERIMENTS.get(task.code) != KEY_REUSE:
            continue
        reuse = reuse_among(draws, observer.files[id], task.line, task.end_line)
        if reuse is not None:
            observer.resolve(id, confirmed(f"seen in the run, every jax.random draw watched: {reuse}"))


def plain_call_verdicts(observer: Watch, call: PlainCall, pending: list[int]) -> None:
    """Key reuse reached outside any transform: the function around it, called again on copies of
    the arguments it received, under JAX's checker."""
    found = _plain_function(call)
    if found is None:
        return
    function, args, kwargs = found
    target = Target(call.code.co_qualname, function, function, None, None, ())
    for id in pending:
        sighting = observer.sightings[id]
        if sighting.attempts >= MAX_ATTEMPTS:
            continue
        sighting.attempts += 1
        task, file = observer.tasks[id], observer.files[id]
        module = _module_of(file) or types.ModuleType("__unknown__")
        ctx = ObservedContext(
            task, module, module.__name__, file, None, observer.perturbation, root=target, arguments=(args, kwargs)
        )
        _settle(observer, id, sighting, _run(observer, id, ctx))


def _plain_function(call: PlainCall):
    """The function object of a watched call, and its arguments as positional and keyword ones."""
    code = call.code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    values = [call.arguments.get(name) for name in names]
    args = values[: code.co_argcount]
    kwargs = dict(zip(names[code.co_argcount :], values[code.co_argcount :], strict=True))
    flags_varargs, flags_varkw = 0x04, 0x08
    extra = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & flags_varargs:
        args += list(call.arguments.get(code.co_varnames[extra], ()))
        extra += 1
    if code.co_flags & flags_varkw:
        kwargs.update(call.arguments.get(code.co_varnames[extra], {}))
    candidates: list[Any] = [call.globals.get(code.co_name)]
    if args:  # a method: found on the instance's class
        owner = args[0] if isinstance(args[0], type) else type(args[0])
        candidates.append(inspect.getattr_static(owner, code.co_name, None))
    for candidate in candidates:
        function = getattr(candidate, "__func__", candidate)
        if getattr(inspect.unwrap(function) if callable(function) else None, "__code__", None) is code:
            return inspect.unwrap(function), args, kwargs
    # Renamed or wrapped where it is looked up (a parameterized test method): the function holding the code.
    import gc

    holders = [f for f in gc.get_referrers(code) if isinstance(f, types.FunctionType) and f.__code__ is code]
    if len(holders) == 1 or (holders and not code.co_freevars):
        return holders[0], args, kwargs
    return None  # several closures over one code: only a transform's root call tells which


def raised_verdict(observer: Watch, id: int, error: BaseException) -> Verdict | None:
    """Confirmed when the error is JAX's tracer error (or the rule's own) raised at the finding."""
    ctx = _context(observer, id, None)
    if not caused_by_finding(ctx, error):
        return None
    root = observer.root()
    during = f" while tracing {root.watched.label}" if root is not None else ""
    return confirmed(f"the run raised {ctx.describe_error(error)}{during}")


def root_verdicts(observer: Watch, call: RootCall, pending: list[int]) -> None:
    """Verdicts for the findings a root call reached: observed, else by experiment on its arguments."""
    for id in pending:
        task, sighting = observer.tasks[id], observer.sightings[id]
        experiment = RULE_EXPERIMENTS.get(task.code)
        if experiment == TRACING_RAISES:
            verdict = traced_line_verdict(task.line, sighting)
            if verdict is not None:
                observer.resolve(id, verdict)
        elif experiment == ARGUMENT_STATE and call.printed_before is not None and not _copyable(call):
            observer.resolve(id, _argument_seen_through(call, task, sighting))
        elif experiment != COMPILATIONS and experiment is not None and sighting.attempts < MAX_ATTEMPTS:
            sighting.attempts += 1
            _settle(observer, id, sighting, _run(observer, id, _context(observer, id, call)))


def _copyable(call: RootCall) -> bool:
    return all(isinstance(value, unittest.TestCase) or _deep_copyable(value) for value in _values(call))


def _values(call: RootCall) -> list:
    return [*call.args, *call.kwargs.values()]


def _argument_seen_through(call: RootCall, task: FindingTask, sighting: Sighting) -> Verdict:
    """An argument no experiment can copy (a framework's mutable reference): the real call shows
    whether the mutation reached the caller, from the arguments as they print before and after."""
    label = _root_target(call).label
    after = printed_arguments(call.args, call.kwargs)
    printed = list(zip(_values(call), call.printed_before or [], after, strict=False))
    for value, before, now in printed:
        if before and now and before != now:
            shown_before, shown_now = _where_they_differ(before, now)
            return not_reproduced(
                f"the caller's {describe_value(value)} changed through the call of {label} "
                f"({shown_before} -> {shown_now}): the mutation at line {task.line} reached the "
                "caller, as it does eagerly"
            )
    if sighting.traced_hits and printed and all(before for _, before, _ in printed):
        return confirmed(
            f"line {task.line} ran under the trace of {label}, and the caller's arguments print after the "
            "call as before it: the mutation did not reach them"
        )
    return skipped(
        f"an argument of {label} in the run cannot be copied, and its printed form does not show whether "
        "the call changed it: not run"
    )


def _where_they_differ(before: str, after: str, width: int = 40) -> tuple[str, str]:
    """The two printed forms around their first difference: ``…'a': Array(0…`` and ``…'a': Array(1…``."""
    before, after = " ".join(before.split()), " ".join(after.split())
    first = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), min(len(before), len(after))
    )
    start = max(0, first - width // 2)

    def around(text: str) -> str:
        piece = text[start : start + width]
        return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")

    return around(before), around(after)


def _settle(observer: Watch, id: int, sighting: Sighting, verdict: Verdict) -> None:
    if verdict.status == "skipped" and sighting.attempts < MAX_ATTEMPTS:
        sighting.last_skip = verdict.evidence  # a later call may have arguments that work
    else:
        observer.resolve(id, verdict)


def traced_line_verdict(line: int, sighting: Sighting) -> Verdict | None:
    """A line that ran under a trace and did not raise: what its operands were shows why."""
    if sighting.traced_hits == 0:
        return None
    operands = f" ({sighting.operands})" if sighting.operands else ""
    if sighting.tracer_hits == 0:
        return not_reproduced(
            f"line {line} ran {times(sighting.traced_hits)} under a JAX trace with concrete operands only{operands}: "
            "nothing traced reaches it"
        )
    return not_reproduced(
        f"line {line} ran {times(sighting.traced_hits)} under a JAX trace with traced operands{operands} "
        "and raised no error"
    )


def site_verdicts(observer: Watch, *, final: bool) -> None:
    """JP502 from the compilations counted at the line that built the transform."""
    for id, task in observer.tasks.items():
        if id in observer.resolved or RULE_EXPERIMENTS.get(task.code) != COMPILATIONS:
            continue
        file = observer.files[id]
        sites = [
            (key, site)
            for key, site in observer.sites.items()
            if key[0] == file and task.line <= key[1] <= task.end_line
        ]
        builds = sum(site.builds for _, site in sites)
        compiles = sum(site.compiles for _, site in sites)
        if not builds:
            continue
        what = f"the {sites[0][1].transform} built at line {sites[0][0][1]}"
        if builds >= 2 and compiles >= 2:
            observer.resolve(id, confirmed(
                f"{what} compiled again for a new build ({builds} builds, {compiles} compilations by then): "
                "each build is a new function to JAX's compile cache"
            ))  # fmt: skip
        elif final:
            observer.resolve(id, not_reproduced(
                f"{what} was built {times(builds)} during the run and compiled {times(compiles)}: "
                "no compilation was repeated"
            ))  # fmt: skip


def final_verdicts(observer: Watch) -> None:
    site_verdicts(observer, final=True)
    for id, sighting in list(observer.sightings.items()):
        if id not in observer.resolved:
            verdict = _verdict_at_the_end(observer.tasks[id], sighting)
            if verdict is not None:
                observer.resolve(id, verdict)


def _verdict_at_the_end(task: FindingTask, sighting: Sighting) -> Verdict | None:
    """What the whole run says of a line it reached that nothing has judged yet."""
    experiment = RULE_EXPERIMENTS.get(task.code)
    if experiment == TRACING_RAISES:
        verdict = traced_line_verdict(task.line, sighting)
        if verdict is not None:
            return verdict
    elif sighting.last_skip:
        return skipped(sighting.last_skip)
    ran = f"line {task.line} ran {times(sighting.hits)}"
    if sighting.traced_hits == 0 and task.code in ONLY_UNDER_A_TRACE:
        return not_reproduced(f"{ran} in the run, never under a JAX trace: nothing the run traced reaches it")
    if experiment == KEY_REUSE and task.function is None:
        return skipped(
            f"{ran}: no key it drew had been used before as far as the run shows (a key used up inside a "
            "program jaxpure cannot read, such as an ahead-of-time compiled executable or a transform other "
            "than jax.jit, shows no use), and module-level code cannot be run again under JAX's checker; "
            "move it into a function to have it checked"
        )
    if sighting.traced_hits == 0:  # e.g. JP304, whose harm does not need a trace
        return skipped(f"{ran} in the run, never under a JAX trace: its experiment had no traced call to run on")
    return None


def namespace_verdicts(observer: Watch, module: types.ModuleType, via: str, *, defined_only: bool = False) -> None:
    """Findings the run never reached, in functions its namespace still holds (a notebook's, after
    its last cell): each experiment runs as the import path runs it (SPEC §5), with inputs built
    from the signature, on the functions, instances and closures the cells made. ``defined_only``:
    a cell raised; a function the cells never defined keeps the reason (the cells that raised)."""
    for id, task in observer.tasks.items():
        if id in observer.resolved or id in observer.sightings or task.function is None:
            continue
        if defined_only and (task.root or task.function).split(".")[0] not in vars(module):
            continue
        ctx = ExperimentContext(task, module, module.__name__, observer.files[id], None, observer.perturbation)
        observer.resolve(id, _run(observer, id, ctx), via=via)


def _run(observer: Watch, id: int, ctx: ExperimentContext) -> Verdict:
    observer.begin(id)
    observer.busy = True
    try:
        # The experiment works on copies; what it still reaches of the user's own state (the real
        # arguments, what the flagged line names, closure variables and everything they hold) is put
        # back, and its traces are kept apart from the user's in JAX's caches.
        root, arguments = (ctx.root, ctx.arguments) if isinstance(ctx, ObservedContext) else (None, ((), {}))
        cells, named = _reached_state(root, arguments)
        touched = observer.sightings[id].touched if id in observer.sightings else []
        roots = [*touched, *arguments[0], *arguments[1].values(), *(value for _, value in cells), *named]
        with quiet(), private_traces(), restored(roots), _cells_restored(cells):
            return run_experiment(ctx)
    except NoPrivateTraces as error:
        return skipped(f"not run: {error}")
    except TargetError as error:
        return skipped(str(error))
    except SystemExit as exit:
        return skipped(f"the function called sys.exit({exit.code!r}) during the experiment")
    except Exception as error:
        return skipped(f"the experiment could not run: {type(error).__name__}: {error}")
    finally:
        observer.busy = False


@contextlib.contextmanager
def _cells_restored(cells: list):
    """The closure variables keep their values: a test's ``nonlocal`` trace counter must not count
    the experiment's re-runs."""
    try:
        yield
    finally:
        for cell, value in cells:
            cell.cell_contents = value


def _reached_state(root: Target | None, arguments: tuple = ((), {})) -> tuple[list, list]:
    """What re-running the root reaches of the user's state besides its arguments: the bound closure
    cells (with their values) of the root, of the functions among its arguments (lax bodies) and of
    the functions those close over; and the module-level lists, dicts, sets and JAX ``Ref``s those
    functions, and the module-level functions they call, name (``COUNTER[...] += 1`` in a scan body)."""
    cells, named, seen = [], [], set()
    pending = [root.raw] if root is not None else []
    pending += [value for value in [*arguments[0], *arguments[1].values()] if callable(value)]
    visited = 0
    while pending and visited < _MAX_FUNCTIONS:
        function = pending.pop()
        visited += 1
        function = getattr(function, "__func__", function)
        if isinstance(function, functools.partial):
            pending.append(function.func)
        if hasattr(function, "__wrapped__"):
            pending.append(function.__wrapped__)
        for cell in getattr(function, "__closure__", None) or ():
            if id(cell) in seen:
                continue
            seen.add(id(cell))
            try:
                value = cell.cell_contents
            except ValueError:  # not yet bound
                continue
            cells.append((cell, value))
            if isinstance(value, types.FunctionType):
                pending.append(value)
        code, namespace = getattr(function, "__code__", None), getattr(function, "__globals__", None)
        if code is None or not isinstance(namespace, dict) or is_machinery_module(namespace.get("__name__")):
            continue  # JAX's own functions (``lax.scan``, the root of a scan) name its state, not the user's
        for name in _names_in(code):
            value = namespace.get(name)
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, list | dict | set) or is_ref(value):
                named.append(value)
            elif isinstance(value, types.FunctionType) and value.__module__ == function.__module__:
                pending.append(value)
    return cells, named


_MAX_FUNCTIONS = 64


def _names_in(code: types.CodeType) -> set[str]:
    """The global names a function's code and the code nested in it use."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_in(constant)
    return names


@contextlib.contextmanager
def quiet():
    """What the experiment's calls print or log never reaches the user's streams, captures or log handlers."""
    handlers, level = logging.root.handlers[:], logging.root.level
    logging.root.handlers = []
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            yield
    finally:
        logging.root.handlers = handlers
        logging.root.setLevel(level)


def _context(observer: Watch, id: int, call: RootCall | None) -> ObservedContext:
    task, file = observer.tasks[id], observer.files[id]
    module = _module_of(file) or _module_of_function(call) or types.ModuleType("__unknown__")
    return ObservedContext(
        task, module, module.__name__, file, None, observer.perturbation,
        root=_root_target(call) if call else None, arguments=(call.args, call.kwargs) if call else ((), {}),
    )  # fmt: skip


def _root_target(call: RootCall) -> Target:
    watched = call.watched
    fun = watched._fun
    raw = inspect.unwrap(fun) if callable(fun) else fun
    name: str = getattr(raw, "__qualname__", "") or getattr(fun, "__qualname__", type(fun).__name__)
    return Target(name, watched._inner, raw, watched._transform, watched._kind, ())


_MODULES: dict[str, types.ModuleType | None] = {}


def _module_of(file: str) -> types.ModuleType | None:
    found = _MODULES.get(file)
    if found is not None:
        return found
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and (path == file or os.path.realpath(path) == file):
            _MODULES[file] = module
            return module
    return None


def _module_of_function(call: RootCall | None) -> types.ModuleType | None:
    if call is None:
        return None
    return sys.modules.get(getattr(inspect.unwrap(call.watched._fun), "__module__", None) or "")
