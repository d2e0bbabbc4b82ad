"""How a function is traced (``Context``), and calls from traced code into other modules (``CallSeed``).

Kept apart from the analyzer, and light: analysis results carry these between
processes, and the parent of the workers unpickles them without importing
libcst or the analyzer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from jaxpure.analysis.jaxapi import STAGING

if TYPE_CHECKING:
    from jaxpure.analysis.index import FunctionInfo


@dataclass(frozen=True, slots=True)
class Context:
    """How a function is traced."""

    kind: str  # STAGING | DIFFERENTIATION
    compiling: bool
    transform: str
    traced_params: frozenset[str] | None = None  # None: every parameter that is not static
    static_params: frozenset[str] = frozenset()
    root: str | None = None
    root_static: tuple[str, ...] = ()
    abstract: bool = False  # reached only under eval_shape/make_jaxpr: never run on values

    def merged(self, other: Context) -> Context:
        """The context of a function reached both ways: staging wins, traced parameters add up."""
        if self.traced_params is None and other.traced_params is None:
            traced, static = None, self.static_params & other.static_params
        elif self.traced_params is None or other.traced_params is None:
            # "Every parameter but the static ones" merged with an explicit set: a parameter
            # stays static unless the other way traces it (a jitted function's static
            # argument stays static when traced code calls it with traced array arguments).
            everything, explicit = (self, other) if self.traced_params is None else (other, self)
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
        )


@dataclass(frozen=True, slots=True)
class CallSeed:
    """A call from traced code into a function of another project module.

    The callee's parameters are not known on the caller's side (modules are
    analyzed in separate workers), so traced arguments travel as positions
    and keywords and the callee's module maps them onto parameters.
    """

    module: str
    function: str
    context: Context
    positions: frozenset[int] = frozenset()
    keywords: frozenset[str] = frozenset()

    def merged(self, other: CallSeed) -> CallSeed:
        return replace(
            self,
            context=self.context.merged(other.context),
            positions=self.positions | other.positions,
            keywords=self.keywords | other.keywords,
        )

    def traced_params(self, info: FunctionInfo) -> frozenset[str]:
        names = {p.name for p in info.params if p.position in self.positions}
        names |= {p.name for p in info.params if p.name in self.keywords}
        if any(p.star == "*" for p in info.params) and any(n >= len(info.params) for n in self.positions):
            names |= {p.name for p in info.params if p.star == "*"}
        return frozenset(names)
