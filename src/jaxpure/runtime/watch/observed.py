"""What the watched process records of the run, and the observer as its helpers see it (no JAX here).

``observer.py`` holds the state and calls ``verdicts.py`` and ``transforms.py``
when something happens; those two only know the ``Watch`` protocol below, so
that imports go one way (observer → verdicts, transforms → observed).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from jaxpure.runtime.context import Verdict
    from jaxpure.runtime.perturb import Perturbation
    from jaxpure.runtime.protocol import FindingTask

MAX_ATTEMPTS = 3  # experiments per finding that could not run with one root's arguments


@dataclass
class Sighting:
    """What the run showed of one finding so far."""

    hits: int = 0
    traced_hits: int = 0  # ran while a JAX trace was active
    tracer_hits: int = 0  # ran with a tracer among the names its span reads
    operands: str = ""  # the operands the last traced hit saw, for the evidence
    via: str = ""
    attempts: int = 0
    last_skip: str = ""
    touched: list[object] = field(default_factory=list)  # mutable objects the line names: experiments put them back


class Transformed(Protocol):
    """``transforms.Watched`` as the verdicts read it: what a transform returned, around the user's function."""

    _inner: Callable[..., Any]  # what JAX returned
    _fun: Any  # what the user transformed (usually a function)
    _transform: str
    _kind: str

    @property
    def label(self) -> str: ...


@dataclass
class RootCall:
    """A call of a transformed function made with concrete arguments."""

    watched: Transformed
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    reached: set[int] = field(default_factory=set)
    # The arguments' printed forms before the call, where an argument-state finding (JP203) may
    # have to be judged from the real call: an argument no experiment can copy.
    printed_before: list[str] | None = None


@dataclass
class PlainCall:
    """A call of a function around a key-reuse finding, made outside any transform."""

    code: types.CodeType
    globals: dict[str, Any]
    arguments: dict[str, Any]  # the parameters as they arrived (references)
    hits: dict[int, int]  # the findings' hit counts when it began
    first_draw: int  # where its draws begin in the thread's record of draws (``Observer.drew``)


@dataclass
class Site:
    """A line that builds a compiling transform: how often it built one, how often those compiled."""

    builds: int = 0
    compiles: int = 0
    transform: str = ""


def printed_arguments(args: tuple, kwargs: dict) -> list[str]:
    """Each argument as ``repr`` prints it, where that shows its contents (an object's default
    ``<... at 0x...>`` form, or a ``repr`` that fails, gives "")."""
    printed = []
    for value in [*args, *kwargs.values()]:
        try:
            text = repr(value)
        except Exception:
            text = ""
        printed.append("" if " at 0x" in text else text)
    return printed


class ActiveSites(list[tuple[str, int] | None]):
    """The ``jit`` sites of the watched calls under way, innermost last."""

    def top(self) -> tuple[str, int] | None:
        return self[-1] if self else None


class Watch(Protocol):
    """The observer, as ``verdicts.py`` and ``transforms.py`` use it (``observer.Observer``)."""

    tasks: dict[int, FindingTask]
    files: dict[int, str]
    resolved: set[int]
    sightings: dict[int, Sighting]
    sites: dict[tuple[str, int], Site]
    active_sites: ActiveSites
    busy: bool
    watches_draws: bool  # the plan has key-reuse findings: ``jax.random``'s draws are watched
    jax: Any  # the ``jax`` module once it is imported, else None
    core: Any  # ``jax._src.core``, likewise
    perturbation: Perturbation

    def calls(self) -> list[RootCall | None]: ...

    def root(self) -> RootCall | None: ...

    def root_ended(self, call: RootCall) -> None: ...

    def drew(self, key: Any) -> None: ...

    def keys_passed(self, jitted: Any, args: tuple, kwargs: dict) -> None: ...

    def watches_arguments(self, function: Any) -> bool: ...

    def flagged_file(self, filename: str) -> str | None: ...

    def built(self, site: tuple[str, int], transform: str) -> None: ...

    def compiled(self, site: tuple[str, int] | None) -> None: ...

    def begin(self, id: int) -> None: ...

    def resolve(self, id: int, verdict: Verdict, via: str | None = None) -> None: ...
