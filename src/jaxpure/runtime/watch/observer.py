"""What the watched process sees, and the verdicts it draws (see ``agent.py`` for how it is wired).

- ``line``/``raised`` are called by the probes in flagged files: which finding
  ran, under a trace or not, with traced or concrete operands, and whether it
  raised JAX's tracer error there.
- ``transforms.py`` wraps JAX's transforms; a call made outside any trace
  (concrete arguments) is a *root*. When a root call ends and findings ran
  inside it, each gets a verdict, once: from what was observed where that
  suffices (a tracer error, concrete operands), else from its experiment
  (``experiments``), run right there on copies of the root's real arguments,
  with the real function, instance and closure.
- Compilations are counted per ``jit`` site (the line that built the
  transform), for JP502.

Nothing here changes what the user's program does: hooks re-raise what they
see and never raise of their own (a failure is noted, and the program goes
on), experiments run on copies, after the root call has returned.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import sys
import threading
import types
from typing import Any

from jaxpure.runtime.protocol import FindingTask
from jaxpure.runtime.rules import ARGUMENT_STATE, KEY_REUSE, RULE_EXPERIMENTS, TRACING_RAISES
from jaxpure.runtime.watch.instrument import Span, flagged
from jaxpure.runtime.watch.observed import ActiveSites, PlainCall, RootCall, Sighting, Site
from jaxpure.runtime.watch.plan import BEGIN, NOTE, REACHED, RESULT, WatchPlan

_MAX_DRAWS = 100_000  # key draws remembered per watched call (a notebook: per run; a loop's first ones tell)
_USER_FRAME = 2  # seen from a probe: the user's frame is above the probe and its ``_never_raises`` guard


def _never_raises(hook):
    """A probe runs inside the user's code: its own failure is noted, never raised there."""

    @functools.wraps(hook)
    def guarded(self, *args):
        try:
            return hook(self, *args)
        except Exception as error:
            with contextlib.suppress(Exception):
                self.note(f"the watch's {hook.__name__} probe failed: {type(error).__name__}: {error}")
            return None

    return guarded


class Observer:
    """The process's watch: what the probes and transforms report, and the verdicts it draws (``observed.Watch``)."""

    active_sites: ActiveSites  # set by ``transforms.watch_jax``

    def __init__(self, plan: WatchPlan):
        self.plan = plan
        self.tasks: dict[int, FindingTask] = {f.task.id: f.task for f in plan.findings}
        self.files: dict[int, str] = {f.task.id: f.file for f in plan.findings}
        self.resolved: set[int] = set()
        self.spans: dict[str, list[Span]] = {}  # the agent's spans by file, for ``flagged_file``
        self.sightings: dict[int, Sighting] = {}
        self.sites: dict[tuple[str, int], Site] = {}
        self.via_override: str | None = None  # the notebook runner's "cell 3"
        self.whole_run = False  # draws are recorded outside watched calls too (a notebook's cells)
        self.busy = False  # an experiment is running: hooks stay out of its way
        self.watches_draws = any(RULE_EXPERIMENTS.get(task.code) == KEY_REUSE for task in self.tasks.values())
        self._argument_tasks = {
            id: self.files[id] for id, task in self.tasks.items() if RULE_EXPERIMENTS.get(task.code) == ARGUMENT_STATE
        }
        self.jax: Any = None  # the ``jax`` module once it is imported (``jax_imported``)
        self.core: Any = None  # ``jax._src.core``, likewise
        self._local = threading.local()
        self._events = open(plan.events, "a", encoding="utf-8")  # noqa: SIM115 - for the process's lifetime
        self._pid = os.getpid()
        self._lock = threading.Lock()
        from jaxpure.runtime.perturb import Perturbation

        self.perturbation = Perturbation()
        self.perturbation.install_clock()  # before the user's code binds ``from time import time``

    # ----- events

    def emit(self, event: str, **fields) -> None:
        if os.getpid() != self._pid:  # a fork: its own observer state is a copy; report as itself
            self._pid = os.getpid()
        with self._lock:
            self._events.write(json.dumps({"event": event, "pid": self._pid, **fields}) + "\n")
            self._events.flush()

    def via(self) -> str:
        if self.via_override:
            return self.via_override
        test = os.environ.get("PYTEST_CURRENT_TEST")
        if test:
            return "pytest " + test.rsplit(" (", 1)[0]
        return self.plan.command

    def note(self, text: str) -> None:
        self.emit(NOTE, text=text)

    # ----- probes

    @_never_raises
    def line(self, ids: tuple[int, ...], names: tuple[str, ...]) -> None:
        if self.busy:
            return
        for id in ids:
            if id in self.resolved:
                continue
            sighting = self.sightings.get(id)
            if sighting is None:
                sighting = self.sightings[id] = Sighting(via=self.via())
                self.emit(REACHED, id=id, via=sighting.via)
            sighting.hits += 1
            if sighting.hits == 1:
                sighting.touched = _mutable_operands(names, sys._getframe(_USER_FRAME))
            if self.jax is not None:
                self._classify(sighting, names, sys._getframe(_USER_FRAME))
            root = self.root()
            if root is not None:
                root.reached.add(id)

    @_never_raises
    def raised(self, ids: tuple[int, ...]) -> None:
        if self.busy or self.jax is None:
            return
        error = sys.exc_info()[1]
        if error is None:  # never: the probe calls this from its ``except`` block
            return
        for id in ids:
            if id not in self.resolved and RULE_EXPERIMENTS.get(self.tasks[id].code) == TRACING_RAISES:
                from jaxpure.runtime.watch.verdicts import raised_verdict

                verdict = raised_verdict(self, id, error)
                if verdict is not None:
                    self.resolve(id, verdict)

    def _classify(self, sighting: Sighting, names: tuple[str, ...], frame) -> None:
        if self.core.trace_ctx.is_top_level():
            return
        sighting.traced_hits += 1
        shown, traced = [], False
        for name in names:
            value = frame.f_locals.get(name, frame.f_globals.get(name, _ABSENT))
            if (
                value is _ABSENT
                or isinstance(value, types.ModuleType)
                or (callable(value) and not hasattr(value, "shape"))
            ):
                continue
            leaves = self.jax.tree_util.tree_leaves(value) if not isinstance(value, str) else [value]
            is_traced = any(isinstance(leaf, self.core.Tracer) for leaf in leaves)
            traced = traced or is_traced
            shown.append(f"{name}: {_short_value(value, self.core)}")
        sighting.tracer_hits += traced
        sighting.operands = ", ".join(shown)

    # ----- calls of functions around key reuse (instrument._watch_calls)

    @_never_raises
    def enter(self, ids: tuple[int, ...]) -> None:
        entries = self._entries()
        if self.busy or all(id in self.resolved for id in ids):
            entries.append(None)
            return
        hits = {id: self.sightings[id].hits if id in self.sightings else 0 for id in ids}
        frame = sys._getframe(_USER_FRAME)
        entries.append(PlainCall(frame.f_code, frame.f_globals, dict(frame.f_locals), hits, len(self._draws())))

    @_never_raises
    def exit(self, ids: tuple[int, ...]) -> None:
        entries = self._entries()
        call = entries.pop() if entries else None
        draws = self._draws()
        if not any(entries) and not self.whole_run:  # the outermost watched call ended: its draws are done
            self._local.draws = []
        if call is None or self.busy or self.jax is None or not self.core.trace_ctx.is_top_level():
            return
        reached = [
            id
            for id in ids
            if id not in self.resolved and id in self.sightings and self.sightings[id].hits > call.hits[id]
        ]
        if reached:
            from jaxpure.runtime.watch.verdicts import drawn_verdicts, plain_call_verdicts

            drawn_verdicts(self, reached, draws[call.first_draw :])
            rest = [id for id in reached if id not in self.resolved]
            if rest:
                plain_call_verdicts(self, call, rest)

    @_never_raises
    def drew(self, key) -> None:
        """A ``jax.random`` function used up ``key`` (``transforms._watch_draws``): inside a watched call,
        a concrete key's bits and the flagged line that drew are recorded (a tracer has no bits; a key
        that ``grad`` does not differentiate stays concrete)."""
        from jaxpure.runtime.experiments.keys import key_bits

        lines = self._drawing_lines()
        bits = key_bits(key) if lines else None
        if bits is not None:
            self._record_draws([bits], lines)

    def watches_arguments(self, function) -> bool:
        """Whether a root call of ``function`` reaches an argument-state finding not judged yet (the
        finding's root is this function): then its arguments' printed forms are kept from before
        the call, in case no experiment can copy them."""
        if not self._argument_tasks or self.busy or not callable(function):
            return False
        raw = inspect.unwrap(function)
        code = getattr(raw, "__code__", None)
        if code is None:
            return False
        file = self.flagged_file(code.co_filename)
        return any(
            path == file and id not in self.resolved and _root_name(self.tasks[id]) == raw.__qualname__
            for id, path in self._argument_tasks.items()
        )

    @_never_raises
    def keys_passed(self, jitted, args: tuple, kwargs: dict) -> None:
        """A root call of a jitted function returned: the concrete keys its program used up (typed, or
        legacy ones it wraps) count as drawn by the calling lines (``experiments.keys.consumed_keys``)."""
        lines = self._drawing_lines()
        if not lines:
            return
        from jaxpure.runtime.experiments.keys import consumed_keys
        from jaxpure.runtime.watch.verdicts import quiet

        self.busy = True  # were ``.trace`` to run the function again, its probes and output stay out
        try:
            with quiet():
                used = consumed_keys(jitted, args, kwargs)
        finally:
            self.busy = False
        self._record_draws(used, lines)

    def _drawing_lines(self) -> tuple[tuple[str, int], ...]:
        """The flagged lines on the stack, where draws are being recorded now (inside a watched
        call, or a notebook's whole run, and room left); empty otherwise."""
        if self.busy or not (self.whole_run or any(self._entries())) or len(self._draws()) >= _MAX_DRAWS:
            return ()
        from jaxpure.runtime.experiments.keys import stack_lines

        return stack_lines(self.spans.__contains__, sys._getframe(_USER_FRAME + 1))

    def _record_draws(self, used: list[bytes], lines: tuple[tuple[str, int], ...]) -> None:
        from jaxpure.runtime.experiments.keys import Draw

        self._draws().extend(Draw(bits, lines) for bits in used)

    def _entries(self) -> list:
        entries = getattr(self._local, "entries", None)
        if entries is None:
            entries = self._local.entries = []
        return entries

    def _draws(self) -> list:  # experiments.keys.Draw, in the order drawn
        draws = getattr(self._local, "draws", None)
        if draws is None:
            draws = self._local.draws = []
        return draws

    # ----- root calls (transforms.py)

    def calls(self) -> list[RootCall | None]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def root(self) -> RootCall | None:
        stack = self.calls()
        return stack[0] if stack else None

    def root_ended(self, call: RootCall) -> None:
        from jaxpure.runtime.watch.verdicts import root_verdicts

        pending = [id for id in sorted(call.reached) if id not in self.resolved]
        if pending:
            root_verdicts(self, call, pending)

    # ----- compilations (JP502)

    def flagged_file(self, filename: str) -> str | None:
        """The real path of ``filename`` if it holds findings."""
        spans = flagged(filename, self.spans)
        return os.path.realpath(filename) if spans else None

    def built(self, site: tuple[str, int], transform: str) -> None:
        entry = self.sites.setdefault(site, Site(transform=transform))
        entry.builds += 1

    def compiled(self, site: tuple[str, int] | None) -> None:
        if site is None or site not in self.sites or self.busy:
            return
        self.sites[site].compiles += 1
        from jaxpure.runtime.watch.verdicts import site_verdicts

        site_verdicts(self, final=False)

    # ----- verdicts

    def resolve(self, id: int, verdict, via: str | None = None) -> None:
        if id in self.resolved:
            return
        self.resolved.add(id)
        sighting = self.sightings.get(id)
        evidence = verdict.evidence
        if verdict.status != "skipped" and self.jax is not None:
            evidence = f"{evidence} [on {self.device()}]"
        self.emit(
            RESULT,
            id=id,
            status=verdict.status,
            evidence=evidence,
            via=via or (sighting.via if sighting else self.via()),
        )

    def begin(self, id: int) -> None:
        self.emit(
            BEGIN,
            id=id,
            via=self.sightings[id].via if id in self.sightings else self.via(),
        )

    def device(self) -> str:
        from jaxpure.runtime.device import describe

        return describe(self.jax.devices()[0])

    def finish(self) -> None:
        """At exit: verdicts that only the whole run can give (JP502 sites, lines that ran outside roots)."""
        if self.jax is None:
            return
        from jaxpure.runtime.watch.verdicts import final_verdicts

        try:
            final_verdicts(self)
        except Exception as error:  # never turn the user's exit into a traceback
            self.note(f"final verdicts failed: {type(error).__name__}: {error}")

    def cells_ended(self, module: types.ModuleType, raised: bool, via: str) -> None:
        """After a notebook's cells: key reuse among the whole run's draws; the findings no cell
        reached, run from the namespace the cells left (if a cell raised, only in the functions
        the cells did define)."""
        if self.jax is None:  # nothing imported JAX: nothing it flags can have been traced
            return
        from jaxpure.runtime.watch.verdicts import drawn_verdicts, namespace_verdicts

        try:
            drawn_verdicts(self, [id for id in self.sightings if id not in self.resolved], self._draws())
            namespace_verdicts(self, module, via, defined_only=raised)
        except Exception as error:
            self.note(f"verdicts after the notebook's cells failed: {type(error).__name__}: {error}")

    # ----- imports

    def jax_imported(self, module) -> None:
        import jax
        from jax._src import core

        self.jax, self.core = jax, core
        from jaxpure.runtime.watch.transforms import watch_jax

        watch_jax(self)

    def library_imported(self, module) -> None:
        from jaxpure.runtime.watch.transforms import watch_library

        watch_library(self, module)


def _root_name(task: FindingTask) -> str:
    """The qualified name of the function whose call reaches the finding (without the static
    analysis's ``@L<line>`` mark of a name defined again)."""
    return (task.root or task.function or "").split("@")[0]


_ABSENT = object()
_MUTABLE = (list, dict, set, bytearray)


def _mutable_operands(names: tuple[str, ...], frame) -> list:
    """The containers and plain objects a flagged line names (``outer`` of ``outer.append(x)``)."""
    found = []
    for name in names:
        value = frame.f_locals.get(name, frame.f_globals.get(name, _ABSENT))
        if isinstance(value, _MUTABLE) or (
            hasattr(value, "__dict__") and not isinstance(value, type | types.ModuleType | types.FunctionType)
        ):
            found.append(value)
    return found


def _short_value(value, core) -> str:
    if isinstance(value, core.Tracer):
        return f"{type(value).__name__}({value.aval.str_short()})" if hasattr(value, "aval") else type(value).__name__
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{value.dtype}[{','.join(map(str, value.shape))}] (concrete)"
    text = repr(value)
    return text if len(text) <= 30 else type(value).__name__
