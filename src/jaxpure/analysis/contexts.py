"""How a function is traced (``TracedContext``), and calls from traced code into other modules (``CallSeed``).

Kept apart from the analyzer, and light: analysis results carry these between
processes, and the parent of the workers unpickles them without importing
libcst or the analyzer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from jaxpure.analysis.jaxapi import STAGING

if TYPE_CHECKING:
    from jaxpure.analysis.index import FunctionInfo, Param


MODULE_ENTRY_SUFFIX = ".Module"  # the transform a Module method's seed names: ``linen.Module``


@dataclass(frozen=True, slots=True)
class TracedContext:
    """How a function is traced."""

    kind: str  # STAGING | DIFFERENTIATION
    compiling: bool
    transform: str
    traced_params: frozenset[str] | None = None  # None: every parameter that is not static
    static_params: frozenset[str] = frozenset()
    root: str | None = None
    root_static: tuple[str, ...] = ()
    abstract: bool = False  # reached only under eval_shape/make_jaxpr: never run on values
    arrays_only: bool = False  # reached only through transforms that trace only arrays (equinox's filter_*)
    # Reached only from Pallas kernels: parameters are mutable references there, written on purpose.
    on_references: bool = False
    fresh_self: bool = False  # a method only ever called on an object built inside the same trace
    # Parameters every call fills with a container its caller built inside the same trace.
    fresh_params: frozenset[str] = frozenset()
    # The parameters some call passes (None: any may be, as a transform's caller may); the
    # others hold their defaults in every trace.
    passed_params: frozenset[str] | None = None

    @property
    def module_entry(self) -> bool:
        """Seeded as a framework Module's method (``ModuleAnalyzer._seed_module_methods``): an entry
        point its framework calls (``model.apply``), meant to run under its users' ``jit``."""
        return self.transform.endswith(MODULE_ENTRY_SUFFIX)

    def merged(self, other: TracedContext) -> TracedContext:
        """The context of a function reached both ways: staging wins, traced parameters add up."""
        if self.traced_params is None and other.traced_params is None:
            traced, static = None, self.static_params & other.static_params
        elif self.traced_params is None or other.traced_params is None:
            # "Every parameter but the static ones" merged with an explicit set: a parameter
            # stays static unless the other way traces it (a jitted function's static
            # argument stays static when traced code calls it with traced array arguments).
            everything, explicit = (self, other) if self.traced_params is None else (other, self)
            assert explicit.traced_params is not None  # one side is explicit in this branch
            traced, static = None, everything.static_params - (explicit.traced_params - explicit.static_params)
        else:
            traced = self.traced_params | other.traced_params
            static = self.static_params & other.static_params
        return replace(
            self,
            kind=STAGING if STAGING in (self.kind, other.kind) else self.kind,
            compiling=self.compiling or other.compiling,
            traced_params=traced,
            static_params=static,
            transform=self.transform if self.kind == STAGING or other.kind != STAGING else other.transform,
            abstract=self.abstract and other.abstract,
            arrays_only=self.arrays_only and other.arrays_only,
            on_references=self.on_references and other.on_references,
            fresh_self=self.fresh_self and other.fresh_self,
            fresh_params=self.fresh_params & other.fresh_params,
            passed_params=(
                None
                if self.passed_params is None or other.passed_params is None
                else self.passed_params | other.passed_params
            ),
        )


# How a call passes one argument: ``(keyword, star)``: ``("n", "")`` for ``n=...``,
# ``(None, "")`` positional, ``(None, "*")`` for ``*args``, ``(None, "**")`` for ``**kw``.
ArgumentShape = tuple["str | None", str]


def bind_arguments(params: Sequence[Param], arguments: Sequence[ArgumentShape], bound: int = 0) -> list[frozenset[str]]:
    """The parameters each argument of a call may fill (the one place calls meet signatures).

    ``bound``: leading parameters already bound (``self`` of a method, a
    ``partial``'s positional arguments). An unpacked ``*args`` may fill every
    positional parameter from where it starts, and ``**kw`` every parameter
    that is filled neither by position nor by a keyword of the same call (Python
    refuses a second value for a parameter: ``f(flag=True, **kw)`` with ``"flag"`` in
    ``kw`` raises TypeError).
    """
    variadic = next((p.name for p in params if p.star == "*"), None)
    keywords = next((p.name for p in params if p.star == "**"), None)
    named = {p.name for p in params if not p.star}
    given = {keyword for keyword, _ in arguments if keyword is not None}
    filled: list[frozenset[str]] = []
    position = bound
    for keyword, star in arguments:
        if keyword is not None:
            filled.append(frozenset({keyword} if keyword in named or keywords is None else {keywords}))
        elif star == "*":
            later = {p.name for p in params if p.position is not None and p.position >= position}
            filled.append(frozenset(later | ({variadic} if variadic else set())))
        elif star == "**":
            filled.append(
                frozenset(
                    p.name
                    for p in params
                    if p.star == "**"
                    or ((p.position is None or p.position >= position) and not p.star and p.name not in given)
                )
            )
        else:
            param = next((p.name for p in params if p.position == position), variadic)
            filled.append(frozenset({param} if param else ()))
            position += 1
    return filled


def filled_by(filled: Sequence[frozenset[str]], chosen: Iterable[int], alone: bool = False) -> frozenset[str]:
    """The parameters the ``chosen`` arguments (by index) may fill, of what ``bind_arguments``
    found; with ``alone``, only where an argument fills one parameter and no other."""
    return frozenset(
        name for i in chosen if i < len(filled) and (not alone or len(filled[i]) == 1) for name in filled[i]
    )


@dataclass(frozen=True, slots=True)
class CallSeed:
    """A call from traced code into a function of another project module.

    The callee's parameters are not known on the caller's side (modules are
    analyzed in separate workers), so each call travels as the shape of its
    arguments and which of them are traced, and the callee's module binds
    them to parameters (``bind_arguments``).
    """

    module: str
    function: str
    context: TracedContext
    # Each call: the shape of its arguments, which are traced, which are containers the caller built.
    calls: frozenset[tuple[tuple[ArgumentShape, ...], frozenset[int], frozenset[int]]] = frozenset()

    def merged(self, other: CallSeed) -> CallSeed:
        return replace(self, context=self.context.merged(other.context), calls=self.calls | other.calls)

    def context_for(self, info: FunctionInfo) -> TracedContext:
        """The callee's context, once its module has bound the calls to its parameters."""
        traced: set[str] = set()
        passed: set[str] = set()
        fresh: list[frozenset[str]] = []
        for shape, traced_arguments, fresh_arguments in self.calls:
            filled = bind_arguments(info.params, shape)
            traced |= filled_by(filled, traced_arguments)
            passed.update(*filled)
            fresh.append(filled_by(filled, fresh_arguments, alone=True))
        return replace(
            self.context,
            traced_params=frozenset(traced),
            passed_params=frozenset(passed)
            & info.flag_params,  # only flags' values matter: fewer contexts to tell apart
            fresh_params=frozenset.intersection(*fresh) if fresh else frozenset(),
        )


@dataclass(frozen=True, slots=True)
class ClassSummary:
    """What other modules need to know about a class of the project (SPEC §8): whether it is
    a framework Module (through base classes anywhere in the project), and which of its
    fields are never arrays."""

    framework: str | None
    bases: tuple[str, ...] = ()  # qualified names of its bases in other project modules
    fields: frozenset[str] = frozenset()
    array_fields: frozenset[str] = frozenset()
    non_array_fields: frozenset[str] = frozenset()
    declared_static: frozenset[str] = frozenset()
    is_enum: bool = False
    properties: frozenset[str] = frozenset()
    self_returning: frozenset[str] = frozenset()  # methods annotated to return the class itself
    fresh_keys: frozenset[str] = frozenset()  # properties that return a new key on every access

    @property
    def informative(self) -> bool:
        """Whether knowing it can change another module's analysis."""
        return self.framework is not None or self.is_enum or bool(self.declared_static) or bool(self.fresh_keys)


def resolve_frameworks(classes: dict[str, ClassSummary]) -> dict[str, ClassSummary]:
    """Each class's framework, inherited through bases in other project modules."""
    resolved = dict(classes)
    changed = True
    while changed:
        changed = False
        for name, summary in resolved.items():
            if summary.framework is None:
                inherited = next(
                    (resolved[b].framework for b in summary.bases if b in resolved and resolved[b].framework), None
                )
                if inherited is not None:
                    resolved[name] = replace(summary, framework=inherited)
                    changed = True
    return resolved
