"""One module's analysis: which functions are traced, how, and what the rules find there.

Pipeline for a module (``ModuleAnalyzer.run``):

1. seed traced contexts from the index: transform roots, Module-class
   methods, and callees reached from other modules (``seeds``);
2. analyze traced functions from a worklist: each analysis computes the
   function's traced values, runs the rules, and discovers the callees it
   reaches with traced arguments (which are seeded and analyzed in turn);
3. analyze the untraced code the "everywhere" rules care about (key reuse,
   transforms rebuilt per call) and lambdas handed to transforms there.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Collection, Container, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import libcst as cst

from jaxpure.analysis import jaxapi, prngkeys
from jaxpure.analysis.contexts import (
    MODULE_ENTRY_SUFFIX,
    CallSeed,
    ClassSummary,
    TracedContext,
    bind_arguments,
    filled_by,
)
from jaxpure.analysis.cstnodes import (
    JUMPS,
    STRING_LITERALS,
    all_nodes,
    all_params,
    constant_truth,
    is_none,
    is_string_index,
)
from jaxpure.analysis.cstnodes import code_children as cst_children
from jaxpure.analysis.dataflow import (
    Binding,
    TracedValues,
    collect_bindings,
    dotted_name,
    iter_own_nodes,
    lambdas_bound_once,
    string_key,
)
from jaxpure.analysis.index import ClassInfo, FunctionInfo, ModuleIndex, Param
from jaxpure.analysis.jaxapi import DIFFERENTIATION, STAGING
from jaxpure.analysis.rules import RULES, Rule
from jaxpure.analysis.rules.base import EVERYWHERE, STAGING_ONLY, TRACED, RuleContext
from jaxpure.analysis.segments import Segment, SegmentCache
from jaxpure.findings import Finding, TraceInfo

_LIBRARIES = ("jax.", "builtins.", "numpy.", "flax.", "equinox.", "haiku.", "optax.")
_STATIC_ANNOTATIONS = frozenset({"builtins.bool", "builtins.int", "builtins.str", "bool", "int", "str"})
_STATIC_DEFAULTS = frozenset({"bool", "int", "str", "None"})
_NON_ARRAY_DEFAULTS = frozenset({"bool", "int", "float", "str"})
_LITERAL_DEFAULTS = _NON_ARRAY_DEFAULTS | {"None"}
_NUMERIC_ENUMS = frozenset({"enum.IntEnum", "enum.IntFlag", "enum.Flag"})

# Where a function's arguments are arrays (``jnp.tanh(x)``): past its shapes and axes.
_ARRAY_FUNCTION_MODULES = ("jax.numpy.", "jax.lax.", "jax.nn.", "jax.scipy.")
_ARRAY_TYPE_NAMES = frozenset({"Array", "ArrayLike", "ndarray"})
_ARRAY_USES = jaxapi.STATIC_ATTRIBUTES | jaxapi.ARRAY_ATTRIBUTES | jaxapi.ARRAY_METHODS
# Methods Python calls for an operator: their operand is whatever the user's code combines, arrays included.
_OPERATOR_METHODS = frozenset(
    f"__{name}__"
    for op in "add sub mul matmul truediv floordiv mod pow and or xor lshift rshift".split()
    for name in (op, f"r{op}")
) | frozenset(f"__{name}__" for name in "eq ne lt le gt ge neg pos abs invert getitem".split())

# Annotations that say nothing of a value's class: its uses still tell.
_OPEN_ANNOTATIONS = jaxapi.MUTABLE_CONTAINER_NAMES | {"Any", "object"}


@dataclass(frozen=True, slots=True)
class FixCandidate:
    """A finding's flagged node and the transform it was traced by: what a fixer judges."""

    node: cst.CSTNode
    transform: str | None


@dataclass(slots=True)
class FunctionResult:
    findings: list[Finding]
    traced_names: frozenset[str]  # by evidence, where it defines functions: the closure they see
    returns_traced: bool
    # Where every return is a tuple display of one length: which positions may hold a tracer.
    returned_positions: tuple[bool, ...] | None = None
    references: frozenset[str] = frozenset()  # its Pallas refs, for the functions it defines


# Maps a qualified name (``pkg.helpers.f``) to (module, function qualname) when it is project code.
ProjectLookup = Callable[[str], "tuple[str, str] | None"]


class ModuleAnalyzer:
    def __init__(
        self,
        path: str,
        lines: list[str],
        index: ModuleIndex,
        incoming: list[CallSeed] | None = None,
        project_lookup: ProjectLookup | None = None,
        untraced_returns: frozenset[str] = frozenset(),
        segments: SegmentCache | None = None,
    ) -> None:
        """``segments``: the libcst parses of an earlier analysis of the same text, to reuse."""
        self.path = path
        # Keys handed to calls jaxpure cannot see into count as consumed, except in test files.
        # Functions of other project modules (``module:qualname``) known to return no traced value.
        self.untraced_returns = untraced_returns
        self._incoming = frozenset(call.function for call in incoming or ())
        self.index = index
        self.segments = segments or SegmentCache(lines, index.top_spans, index.functions)
        self.contexts: dict[str, TracedContext] = {}
        # A function's context is recomputed from what reaches it (``_recontext``): the seeds
        # (transforms, Module entries, other modules, module code), and per caller what that
        # caller's LATEST analysis passed. A caller first analyzed while a callee's return was
        # unknown assumed it traced (``n = nlags(Ab)``, which returns ``Ab.shape[-1]``); once
        # that return is known, what it passed on in the meantime must not stay traced.
        self._seeded: dict[str, TracedContext] = {}
        self._from_callers: dict[str, dict[str, TracedContext]] = {}  # callee -> caller -> context
        self._reached_by: dict[str, dict[str, TracedContext]] = {}  # caller -> callee -> context
        self._reaching: dict[str, TracedContext] | None = None  # the analysis under way's, by callee
        self._sites: dict[str, list[TracedContext]] = {}  # transforms applied inside traced code
        self.results: dict[str, FunctionResult] = {}
        self.closures_used: dict[str, frozenset[str]] = {}
        # Functions with functions defined inside them (scanning all closures for each
        # function analyzed is quadratic in a generated module of 10,000 functions).
        self.enclosing = {q.rsplit(".<locals>.", 1)[0] for q in index.functions if ".<locals>." in q}
        self.callers: dict[str, set[str]] = {}
        self.outgoing: dict[tuple[str, str], CallSeed] = {}
        self.project_lookup = project_lookup
        # The flagged node of each finding a fixer may rewrite, by (line, column, code), for the driver
        # to ask the fixers (``FixCandidate``): findings themselves keep no libcst node.
        self.fix_candidates: dict[tuple[int, int, str], FixCandidate] = {}
        self._queue: deque[str] = deque()
        self._walkers: list[FunctionWalker] = []  # released when the run is done (``FunctionWalker.release``)
        self._key_consumers: dict[str, tuple[set[str], set[str]]] = {}
        self._roots_by_site: dict[str, list] = {}
        self._array_names: dict[str, frozenset[str]] = {}
        self.entry_inputs: dict[str, frozenset[str]] = {}  # per Module entry, the parameters that hold arrays
        self.lax_loop_bodies = {
            r.function: r.transform.name for r in index.roots if r.transform.name in prngkeys.LAX_LOOPS
        }
        # Functions an arrays-only transform (equinox's filter_*) is applied to: their
        # parameters of non-array types are static there.
        self.arrays_only_roots = {r.function for r in index.roots if _traces_only_arrays(r)}
        # lax loop bodies handed a list or dict carry wherever they are handed on (a ``jit``
        # decorator passes on what its callers give): their carry parameter holds that container.
        carries: dict[str, list[frozenset[str]]] = {}
        for r in index.roots:
            if not r.decorated:
                carries.setdefault(r.function, []).append(r.container_params)
        self.container_carries: dict[str, frozenset[str]] = {}
        for function, given in carries.items():
            if common := frozenset.intersection(*given):
                self.container_carries[function] = common
        # Functions a transform that traces every argument is applied to: their parameters are tracers.
        self.tracing_roots = {r.function for r in index.roots if not _traces_only_arrays(r)}
        # Module-level ``object()`` markers: compared by identity (``state == sentinel``).
        self.sentinels = frozenset(name for name, kind in index.module_values.items() if kind == "sentinel")
        self.mentions_compile_time_eval = any("ensure_compile_time_eval" in line for line in lines)
        # Parameters a decorator makes static (``@partial(jit, static_argnums=0)``): static whoever
        # calls the function, since every call goes through the decorator.
        self.decorator_static: dict[str, frozenset[str]] = {}
        for root in index.roots:
            if root.decorated:
                known = self.decorator_static.get(root.function, frozenset())
                self.decorator_static[root.function] = known | root.static_params
        for root in index.roots:
            if root.site is not None:
                self._roots_by_site.setdefault(root.site, []).append(root)
            context = TracedContext(
                root.kind,
                root.compiling,
                root.transform.name,
                self._without_unpassed_defaults(root),
                root.static_params,
                root.function,
                tuple(sorted(root.static_params)),
                root.abstract,
                _traces_only_arrays(root),
                on_references=root.transform.ref_params,
            )
            self.seed(root.function, context)
        self._seed_module_methods()
        for call in incoming or ():
            info = index.functions.get(call.function)
            if info is not None:
                self.seed(call.function, call.context_for(info))

    # -- contexts -------------------------------------------------------------------

    def _without_unpassed_defaults(self, root) -> frozenset[str] | None:
        """A root's traced parameters, less those with a literal default that no call of the
        transformed function in this module passes (SPEC §8): JAX never sees an unpassed
        default, so it stays a Python value. Without any call seen, nothing is assumed."""
        info = self.index.functions[root.function]
        shapes = [shape for name in root.names for shape in self.index.call_shapes(name)]
        defaulted = {p.name for p in info.params if p.default in _LITERAL_DEFAULTS}
        if not shapes or not defaulted:
            return root.traced_params
        # Leading parameters bound before the call: a partial's, and ``self`` unless called on the class.
        lead = next((p.position for p in info.params if p.position is not None and p.name not in root.static_params), 0)
        bounds = {0, lead, 1, lead + 1} if info.has_receiver else {0, lead}  # any that may hold: more is passed
        passed: set[str] = set()
        for shape in shapes:
            for bound in bounds:
                passed.update(name for names in bind_arguments(info.params, shape, bound) for name in names)
        unpassed = defaulted - passed
        if not unpassed:
            return root.traced_params
        traced = root.traced_params if root.traced_params is not None else frozenset(p.name for p in info.params)
        return frozenset(traced - unpassed)

    def seed(self, function: str, context: TracedContext) -> None:
        known = self._seeded.get(function)
        self._seeded[function] = context if known is None else known.merged(context)
        self._recontext(function)

    def _recontext(self, function: str) -> None:
        """Merge what reaches ``function`` now, and analyze it again where that changed."""
        parts = [*filter(None, [self._seeded.get(function)]), *self._from_callers.get(function, {}).values()]
        if not parts:
            return  # no longer reached: its last context stays (no finding is lost to a stale caller)
        context = functools.reduce(TracedContext.merged, parts)
        for site in self._sites.get(function, ()):
            context = _adopted(function, context, site)
        if context != self.contexts.get(function):
            self.contexts[function] = context
            self._queue.append(function)

    def _seed_module_methods(self) -> None:
        callers: dict[str, list[FunctionInfo]] = {}
        for function in self.index.functions.values():
            for name in function.calls:
                if name.startswith("self."):
                    callers.setdefault(name[5:], []).append(function)
        eager = self._run_only_eagerly(callers)
        for function in self.index.functions.values():
            cls = self.index.class_of(function)
            if cls is None or cls.framework is None or function.name in jaxapi.UNTRACED_MODULE_METHODS:
                continue
            if function.qualname in eager:
                continue  # ``self._edges_indexed()`` only in ``__init__``: it runs where the Module is built
            if function.setter and cls.framework == "equinox":
                continue  # an equinox Module is frozen once built: its setters run in ``__init__`` only
            if cls.qualname in self.index.eager_only_classes:
                continue  # the whole program runs it only eagerly (``programs``)
            if function.parent is not None or function.method_kind == "static":
                continue  # a staticmethod is no method of the Module instance: traced only if called so
            if _computes_nothing(function):
                continue  # no input, no result: nothing to compute under a transform, traced only if called so
            # A private helper that only the class's own methods call (``self._check(shape)``) is
            # no entry point: like any callee, its parameters are traced where its call sites
            # pass traced values (the Module's array fields stay traced through ``self``).
            sites = callers.get(function.name, [])
            helper = (
                function.name.startswith("_")
                and not function.name.startswith("__")
                and function.name not in cls.method_values
                and (bool(sites) or function.name in cls.partial_methods)
                and all(site.class_name == function.class_name for site in sites)
            )
            self.seed(
                function.qualname,
                TracedContext(
                    STAGING,
                    False,
                    f"{cls.framework}{MODULE_ENTRY_SUFFIX}",
                    frozenset() if helper else None,
                    root=function.qualname,
                    # A helper's call sites say which containers are their own (``act = {}`` then
                    # ``self._block(x, act=act)``): this seed leaves that to them.
                    fresh_params=frozenset(p.name for p in function.params) if helper and sites else frozenset(),
                ),
            )

    def _run_only_eagerly(self, callers: dict[str, list[FunctionInfo]]) -> set[str]:
        """Private methods every call of which is in a method no transform runs (``__init__``,
        ``__repr__``), directly or through other such methods: they run only eagerly."""
        eager: set[str] = set()
        changed = True
        while changed:
            changed = False
            for function in self.index.functions.values():
                sites = callers.get(function.name, [])
                if (
                    function.qualname in eager
                    or function.class_name is None
                    or function.parent is not None
                    or not function.name.startswith("_")
                    or function.name.startswith("__")
                    or not sites
                ):
                    continue
                if all(
                    site.class_name == function.class_name
                    and (site.name in jaxapi.UNTRACED_MODULE_METHODS or site.qualname in eager)
                    for site in sites
                ):
                    eager.add(function.qualname)
                    changed = True
        return eager

    # -- driver -----------------------------------------------------------------------

    def run(self) -> list[Finding]:
        try:
            return self._run()
        finally:
            for walker in self._walkers:
                walker.release()
            self._walkers.clear()

    def _run(self) -> list[Finding]:
        # Contexts follow what reaches them (``_recontext``); the budget guards against a pathological
        # module, or callers whose answers keep changing one another's.
        budget = 20 * (len(self.index.functions) + 1)
        while self._queue and budget:
            budget -= 1
            self._analyze_traced(self._queue.popleft())
        findings = [f for result in self.results.values() for f in result.findings]
        for function in self.index.functions.values():
            if function.qualname not in self.contexts and (
                function.transforms_lambda or any(rule.looks_untraced(function, self.path) for rule in _UNTRACED_RULES)
            ):
                findings.extend(self._analyze_untraced(function))
        if self.index.module_code_tops:
            findings.extend(self._analyze_module_code())
        return _deduplicate(findings)

    def _analyze_traced(self, qualname: str) -> None:
        info = self.index.functions[qualname]
        context = self.contexts[qualname]
        closure = self._closure_of(info)
        self.closures_used[qualname] = closure
        self._reaching = {}
        try:
            result = FunctionWalker.of_function(self, info, context, closure).analyze(self._node_of(info))
        finally:
            reached, self._reaching = self._reaching, None
        self._update_callees(qualname, reached)
        previous = self.results.get(qualname)
        self.results[qualname] = result
        # Callers analyzed earlier assumed "traced in, traced out"; tell them when that was wrong.
        # (and that every element of a returned tuple was traced).
        if (previous.returns_traced if previous else True) != result.returns_traced or (
            (previous.returned_positions if previous else None) != result.returned_positions
        ):
            self._queue.extend(self.callers.get(qualname, ()))
        # Functions it defines, analyzed before it, read its traced names and its Pallas refs.
        new_refs = result.references != (previous.references if previous else frozenset())
        if (
            previous is None or previous.traced_names != result.traced_names or new_refs
        ) and qualname in self.enclosing:
            for other, used in self.closures_used.items():
                if other.startswith(f"{qualname}.<locals>.") and (
                    new_refs or used != self._closure_of(self.index.functions[other])
                ):
                    self._queue.append(other)
        for root in self._roots_by_site.get(qualname, ()):
            self._adopt_site(root.function, context)

    def _update_callees(self, caller: str, reached: dict[str, TracedContext]) -> None:
        """What ``caller``'s latest analysis passed replaces what its earlier ones did."""
        previous = self._reached_by.get(caller, {})
        self._reached_by[caller] = reached
        for callee in previous.keys() | reached.keys():
            context = reached.get(callee)
            if context == previous.get(callee):
                continue
            if context is None:
                self._from_callers[callee].pop(caller, None)
            else:
                self._from_callers.setdefault(callee, {})[caller] = context
            self._recontext(callee)

    def _adopt_site(self, function: str, site: TracedContext) -> None:
        """A transform applied inside traced code: staging inside staging (SPEC §1), and a nested
        function is confirmed at runtime through the importable root around it (SPEC §7)."""
        if function not in self.contexts:
            return
        sites = self._sites.setdefault(function, [])
        if site not in sites:
            sites.append(site)
            self._recontext(function)

    def _analyze_untraced(self, info: FunctionInfo) -> list[Finding]:
        return FunctionWalker.of_function(self, info, None).analyze(self._node_of(info)).findings

    def _analyze_module_code(self) -> list[Finding]:
        statements: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = []
        segments: list[Segment] = []
        tops = sorted(self.index.module_code_tops)
        for top in range(tops[0], tops[-1] + 1):
            segment = self.segments.get(top)
            if any(isinstance(s, cst.FunctionDef | cst.ClassDef) for s in segment.module.body):
                continue
            segments.append(segment)
            statements.extend(segment.module.body)
        module_body = cst.Module(body=statements)
        return FunctionWalker.of_module_code(self, segments).analyze_body(module_body).findings

    def names_used_as_arrays(self, info: FunctionInfo, resolve: Callable) -> frozenset[str]:
        """The names a function's body uses as arrays (``_used_as_array``), once per function."""
        known = self._array_names.get(info.qualname)
        if known is None:
            body = self._node_of(info).body
            known = self._array_names[info.qualname] = frozenset(
                name for node in all_nodes(body) for name in _used_as_array(node, resolve)
            )
        return known

    def _node_of(self, info: FunctionInfo) -> cst.FunctionDef:
        node, _ = self.segments.function(info)
        return node

    def _closure_of(self, info: FunctionInfo) -> frozenset[str]:
        if info.parent is None:
            return frozenset()
        parent = self.results.get(info.parent)
        return parent.traced_names if parent is not None else frozenset()

    # -- callees -----------------------------------------------------------------------

    def key_consumers(self, info: FunctionInfo) -> tuple[set[str], set[str]]:
        """The parameters a module function consumes as PRNG keys, directly or through its callees:
        surely, and by handing them to calls it cannot see into (``prngkeys.consumed_parameters``)."""
        known = self._key_consumers.get(info.qualname)
        if known is not None:
            return known
        self._key_consumers[info.qualname] = set(), set()  # recursion guard
        node = self._node_of(info)
        walker = FunctionWalker.of_function(self, info, None)
        walker.bind_locals(node.body)
        consumed = prngkeys.consumed_parameters(
            node.body, [p.name for p in info.params], walker.resolve, walker.key_arguments_consumed
        )
        self._key_consumers[info.qualname] = consumed
        return consumed

    def class_named(self, annotation: str | None) -> ClassInfo | None:
        """The class of this module (or of another project module) an annotation names."""
        if not annotation:
            return None
        return self.index.classes.get(annotation) or self.index.project_classes.get(annotation)

    def class_summaries(self) -> dict[str, ClassSummary]:
        """This module's classes, for other modules (keyed ``module.Class``)."""
        module = self.index.imports.module_name
        if not module:
            return {}
        summaries = {}
        for cls in self.index.classes.values():
            if "<locals>" in cls.qualname or "@L" in cls.qualname:
                continue
            bases = tuple(b for b in cls.bases if b and b not in jaxapi.MODULE_BASES)
            summaries[f"{module}.{cls.qualname}"] = ClassSummary(
                cls.framework,
                bases,
                frozenset(cls.fields),
                frozenset(cls.array_fields),
                frozenset(cls.non_array_fields),
                frozenset(cls.declared_static),
                cls.is_enum,
                frozenset(cls.properties),
                frozenset(cls.self_returning),
                frozenset(cls.fresh_keys),
            )
        return summaries

    def classes_wanted(self) -> frozenset[str]:
        """Classes of other modules whose summary could change this analysis: the bases of its
        classes not known to be Modules, and the annotations of traced functions' parameters
        (their static fields)."""
        wanted = {b for cls in self.index.classes.values() if cls.framework is None for b in cls.bases if "." in b}
        wanted.update(c for c in self.index.module_instances.values() if "." in c)  # ``rng = KeyGen(0)``
        for function in self.arrays_only_roots | set(self.contexts):
            info = self.index.functions.get(function)
            if info is not None:
                wanted.update(p.annotation for p in info.params if p.annotation and "." in p.annotation)
                wanted.update(c for c in info.narrowed_classes if "." in c)
        return frozenset(wanted - set(self.index.classes))

    def never_an_array(self, param: Param) -> bool:
        """A parameter whose annotation or literal default is of a type no array has (SPEC §8):
        ``bool``/``int``/``float``/``str``, a Callable, an Enum, a Module with only non-array fields."""
        if param.star:
            return False
        if param.annotation in jaxapi.NON_ARRAY_ANNOTATIONS or param.default in _NON_ARRAY_DEFAULTS:
            return True
        cls = self.class_named(param.annotation)
        return cls is not None and _only_static_fields(cls)

    def static_fields(self, param: Param, arrays_only: bool) -> frozenset[str]:
        """The fields of an object a parameter holds that are static Python values there."""
        cls = self.class_named(param.annotation)
        if cls is None:
            return frozenset()
        fields = set(cls.declared_static)
        if arrays_only and cls.framework == "equinox":
            fields |= cls.non_array_fields
        if param.annotation not in self.index.classes:
            fields |= cls.properties  # computed in another module: what they return is a guess
        return frozenset(fields)

    def returns_traced(self, function: str) -> bool | None:
        result = self.results.get(function)
        return result.returns_traced if result is not None else None

    def returns_traced_at(self, function: str, position: int) -> bool | None:
        """Whether element ``position`` of what ``function`` returns may be traced, where known."""
        result = self.results.get(function)
        positions = result.returned_positions if result is not None else None
        return positions[position] if positions is not None and position < len(positions) else None

    def own_untraced_returns(self) -> frozenset[str]:
        """The functions other modules call that return no traced value (for those callers' analysis)."""
        untraced = set()
        for f in self._incoming:
            info = self.index.functions.get(f)
            if info is None or not self._settled(info):
                continue
            if info.returns_static or (f in self.results and not self.results[f].returns_traced):
                untraced.add(f)
        return frozenset(untraced)

    def _settled(self, function: FunctionInfo) -> bool:
        """A function, or a concrete method no subclass here overrides: what a call of it runs."""
        if function.class_name is None:
            return True
        return self.index.resolved_method(function.class_name, function.name) is function

    def reach_other_module(self, call: CallSeed) -> None:
        key = (call.module, call.function)
        known = self.outgoing.get(key)
        self.outgoing[key] = call if known is None else known.merged(call)

    def reach(self, caller: str | None, callee: FunctionInfo, context: TracedContext) -> None:
        if caller is None or self._reaching is None:
            self.seed(callee.qualname, context)
            return
        self.callers.setdefault(callee.qualname, set()).add(caller)
        known = self._reaching.get(callee.qualname)
        self._reaching[callee.qualname] = context if known is None else known.merged(context)


class _MultiSegment:
    """Positions for module-level code that spans several parsed statements."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        for segment in self.segments:
            if node in segment.positions:
                return segment.span(node)
        raise KeyError(node)


class WalkKind(Enum):
    """What a walker walks; it decides which rules run and whose parameters are traced."""

    TRACED = "a traced function"  # every rule that applies under its context's transform kind
    UNTRACED = "an untraced function"  # the rules that apply everywhere (key reuse, rebuilt transforms)
    MODULE_CODE = "module-level code"  # as untraced, over the module's top-level statements
    LAMBDA = "a lambda in traced code"  # inside its enclosing walker's function, with its own parameters


class FunctionWalker:
    """Runs the rules over one function (or lambda, or module-level code).

    Built by ``of_function``, ``of_module_code`` or ``lambda_walker``, never
    patched afterwards: what a walk needs is set up by the constructor that
    names its kind.
    """

    def __init__(
        self,
        kind: WalkKind,
        module: ModuleAnalyzer,
        info: FunctionInfo | None,
        context: TracedContext | None,
        segment: Segment | _MultiSegment,
        closure: frozenset[str],
    ) -> None:
        self.kind = kind
        self.module = module
        self.info = info
        self.context = context
        self.segment = segment
        self.closure = closure
        self.class_info = module.index.class_of(info) if info else None
        self.framework = self.class_info.framework if self.class_info else None
        self.params: set[str] = {p.name for p in info.params} if info else set()
        self.variadic_params: set[str] = {p.name for p in info.params if p.star} if info else set()
        self.self_name = info.params[0].name if info and info.has_receiver and info.params else None
        self.locals: set[str] = set()
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.python_containers: set[str] = set()
        self.container_only: set[str] = set()  # locals only ever bound to a list/tuple/dict/set display
        self.array_bound: set[str] = set()  # list locals that an assignment also binds to a JAX array
        self.trace_time_nodes: frozenset[int] = frozenset()  # inside ``ensure_compile_time_eval`` blocks, by id
        # Names whose truth is a Python question: may hold None or a part of a pytree (``if extras:``),
        # or a flag passed to a Module method (``if train:``).
        self.optional_names: set[str] = set()
        self.boolean_masks: set[str] = set()
        self.rng_names: set[str] = set()
        self.rebound_params: set[str] = set()  # parameters the body assigns anew
        self.references: frozenset[str] = frozenset()  # names holding a Pallas kernel's refs
        self.rebound_names: set[str] = set()  # every name the body binds
        self.self_updates: set[int] = set()
        self.reclassed: set[str] = set()
        self.receiver_classes: dict[str, str] = {}  # names evidently holding an object of a class of this module
        self.constructed: set[str] = set()  # ... of which, those it builds itself (``game = Game(state)``)
        self.binding_sources: dict[str, cst.BaseExpression] = {}  # first value bound to each local
        self.iterated_sources: dict[str, list[cst.BaseExpression]] = {}  # what loop targets take elements of
        self.container_params: set[str] = set()
        self.tuple_params: set[str] = set()  # annotated as tuples (``limit: Tuple[Array, Array]``)
        self.open_params: set[str] = set()  # parameters annotated with no class but a container (or Any)
        self.findings: list[Finding] = []
        self.reported_keys: set[tuple] = set()
        self.memo: dict[str, object] = {}  # what rules computed once for this function (RuleContext.memo)
        self.body: cst.CSTNode | None = None
        self._keyed_dicts: dict[str, frozenset[str]] | None = None  # ``_traced_keys``, once per function
        self.returns_traced = False
        self.returned_positions: list[bool] | None = None
        self.returns_other = False  # some return is no tuple display (or of another length)
        self.rule_context = RuleContext(self)
        self.rules, self.function_rules = _rules_for(context.kind if context else None)
        self.values: TracedValues
        module._walkers.append(self)

    def release(self) -> None:
        """Drop everything the walk built. The walker, its rule context and its traced values
        (which hold the walker's methods) refer to each other: left alone, that cycle keeps the
        module's trees alive until a cyclic collection walks them all (656k objects on the
        corpus); dropped, reference counting frees them when the module is done."""
        self.__dict__.clear()

    @classmethod
    def of_function(
        cls,
        module: ModuleAnalyzer,
        info: FunctionInfo,
        context: TracedContext | None,
        closure: frozenset[str] = frozenset(),
    ) -> FunctionWalker:
        """A walker over a module function; ``context`` None: untraced."""
        _, segment = module.segments.function(info)
        kind = WalkKind.TRACED if context is not None else WalkKind.UNTRACED
        return cls(kind, module, info, context, segment, closure)

    @classmethod
    def of_module_code(cls, module: ModuleAnalyzer, segments: list[Segment]) -> FunctionWalker:
        return cls(WalkKind.MODULE_CODE, module, None, None, _MultiSegment(segments), frozenset())

    def lambda_walker(
        self, node: cst.Lambda, context: TracedContext, static: frozenset[str] = frozenset()
    ) -> FunctionWalker:
        """A walker over a lambda of this function: its parameters are traced (except ``static``
        ones), and so is what it closes over that is traced here; it sees this function's names
        besides its own. A parameter with a default (``lambda i, p=self.parents: ...``, the idiom
        that captures a value) holds what its default holds."""
        params = {p.name.value for p in all_params(node.params)}
        captured = static | {
            p.name.value for p in all_params(node.params) if p.default is not None and not self.values.traced(p.default)
        }
        closure = frozenset(self.values.names - params)
        walker = FunctionWalker(WalkKind.LAMBDA, self.module, self.info, context, self.segment, closure)
        walker.params = params | (self.params - params)
        walker.locals = set(walker.params) | self.locals
        walker.self_name = self.self_name
        walker.values = walker._traced_values(set(closure) | (params - captured))
        walker.values.frozen = True  # the lambda's body binds nothing to solve
        return walker

    def _traced_values(self, traced: set[str]) -> TracedValues:
        values = TracedValues(
            self.resolve,
            traced,
            compiling=bool(self.context and self.context.compiling),
            active=self.context is not None,
            self_name=self.self_name,
            array_fields=self.class_info.array_fields | self.class_info.children if self.class_info else frozenset(),
            framework=self.framework,
            returns_traced=self._callee_returns_traced,
        )
        values.variable_fields = self.class_info.variable_fields if self.class_info else frozenset()
        values.module_entry = bool(self.context and self.context.module_entry)
        return values

    # -- names ----------------------------------------------------------------------------

    def enclosing_binding(self, name: str) -> FunctionInfo | None:
        """The enclosing function whose local ``name`` is (the innermost), if any."""
        functions = self.module.index.functions
        parent = self.info.parent if self.info is not None else None
        while parent is not None:
            info = functions.get(parent)
            if info is None:
                return None
            if name in info.local_names:
                return info
            parent = info.parent
        return None

    def resolve(self, node: cst.BaseExpression) -> str | None:
        imports = self.module.index.imports
        root = node
        while type(root) is cst.Attribute:
            root = root.value
        if type(root) is not cst.Name or not imports.may_resolve(root.value):
            return None
        dotted = dotted_name(node)
        return imports.resolve_dotted(dotted, self.locals) if dotted is not None else None

    # -- analysis ----------------------------------------------------------------------------

    def analyze(self, node: cst.FunctionDef) -> FunctionResult:
        return self.analyze_body(node.body, node)

    def bind_locals(self, body: cst.CSTNode) -> list:
        """The body's bindings; its locals (parameters included) shadow module names from now on."""
        bindings = collect_bindings(body)
        self.rebound_names = {b.target for b in bindings}
        # Bindings of an update of their own target (``x = eqx.tree_at(..., x, ...)``), by id; the
        # names bound to anything else: an annotated parameter so rebound no longer holds its class.
        self.self_updates = {id(b) for b in bindings if self._updates_itself(b)}
        self.reclassed = {b.target for b in bindings if id(b) not in self.self_updates}
        self.locals = self.params | self.rebound_names
        return bindings

    def analyze_body(self, body: cst.CSTNode, function: cst.FunctionDef | None = None) -> FunctionResult:
        bindings = self.bind_locals(body)
        self.body = body
        traced = self._initial_traced(body)
        if self.info is not None and self.info.qualname not in self.module.tracing_roots:
            traced -= self._concrete_params(body)
        self.values = self._traced_values(traced)
        self.values.returns_traced_at = self._callee_returns_traced_at
        self.values.known_receiver = self._known_receiver
        self.values.is_enum_class = self._is_enum_class
        self.values.methods_return_static = self.module.index.methods_return_static
        self.values.defines_method = self.module.index.defines_method
        self.values.sentinels = self.module.sentinels - self.locals
        self.values.static_fields = self._static_fields_of_params()
        if self.info is not None and (self.info.narrowed_classes or self.info.narrows_to_scalars):
            self.values.note_bindings(bindings)  # ``traced = isinstance(x, Tracer)`` then ``if traced:``
            self.values.narrowed_static = self._narrowed_static_reads(body, bindings)
        if self.module.mentions_compile_time_eval:
            self.trace_time_nodes = self.values.trace_time_nodes = self._evaluated_at_trace_time(body)
        self.values.unknown_objects = self._unknown_objects() | _only_iterated(bindings, self.params)
        others = [b for b in bindings if id(b) not in self.self_updates]  # a dict updated is a dict still
        self.values.dict_names = _dict_names(others, self.resolve) | (self._dict_params() - self.rebound_names)
        self._note_receiver_classes(bindings)
        self.values.closure_lambdas = self._closure_lambdas()
        self.values.solve(bindings, body, self.params)
        self._classify_locals(bindings, body)
        if self.context is not None and self.context.on_references:
            self.references = self._references(bindings)
        self.walk(body)
        for rule in self.function_rules:
            rule.check_function(body, function, self.rule_context)
        positions = None if self.returns_other or self.returned_positions is None else tuple(self.returned_positions)
        encloses = self.info is not None and self.info.qualname in self.module.enclosing
        closure = self.values.evident_names() if encloses else frozenset()  # asked by nested functions only
        return FunctionResult(self.findings, closure, self.returns_traced, positions, self.references)

    def _initial_traced(self, body: cst.CSTNode) -> set[str]:
        traced = {name for name in self.closure if name not in self.locals}
        if self.info is None or self.context is None:
            return traced
        context = self.context
        always_static = self.module.decorator_static.get(self.info.qualname, frozenset())
        entry_inputs = None
        if context.module_entry and context.traced_params is None:
            entry_inputs = self.module.entry_inputs.get(self.info.qualname)
            if entry_inputs is None:  # the same whatever context re-queues the function
                entry_inputs = self.module.entry_inputs[self.info.qualname] = self._entry_inputs(body)
        for position, param in enumerate(self.info.params):
            if param.name in context.static_params or param.name in always_static:
                continue
            if position == 0 and self.framework is not None and self.info.method_kind != "static":
                continue  # the Module instance (or class) itself: its array fields are traced, not it
            if self.framework is not None and _is_configuration(param):
                continue
            if param.strings and self.info.qualname not in self.module.tracing_roots:
                continue  # no tracer is a str; where a transform is applied, a str not static is a bug
            if entry_inputs is not None and param.name not in entry_inputs:
                continue
            if self.info.qualname in self.module.arrays_only_roots and (
                self.module.never_an_array(param) or (position == 0 and self._plain_receiver())
            ):
                continue
            if context.traced_params is None or param.name in context.traced_params:
                traced.add(param.name)
        return traced

    def _entry_inputs(self, body: cst.CSTNode) -> frozenset[str]:
        """The parameters of a Module entry point (a method its framework calls, under a
        transform of its user's) that hold arrays: annotated as arrays, operands of an operator
        method (``traced + kernel`` calls ``kernel.__radd__``), or used as arrays in the body
        (``x.shape``, ``x.sum()``, ``x[:, 0]``, ``x @ w``, ``jnp.tanh(x)``), or reading a field of
        the class that may hold one (``other.bijector``: another instance). No transform is
        applied to the method itself: its user passes arrays for its inputs, and the Python
        values that configure it (``deterministic``, an axis, a callback) as they are. A
        parameter without such evidence is one of those, rather than a guessed tracer."""
        assert self.info is not None
        if self.info.name in _OPERATOR_METHODS:
            return frozenset(p.name for p in self.info.params)
        named = {p.name for p in self.info.params}
        found = {p.name for p in self.info.params if _is_array_annotation(p.annotation)}
        cls = self.class_info
        # ``other.bijector``, a field of this class that may hold arrays: another instance of it.
        fields = (cls.fields - cls.non_array_fields - cls.declared_static) | cls.array_fields if cls else set()
        aliases: dict[str, str] = {}  # ``dist2 = other_dist``: a use of ``dist2`` is one of ``other_dist``
        calls: list[cst.Call] = []
        for node in all_nodes(body):
            found.update(_used_as_array(node, self.resolve))
            if type(node) is cst.Attribute and node.attr.value in fields and type(node.value) is cst.Name:
                found.add(node.value.value)
            elif type(node) is cst.Assign and type(node.value) is cst.Name and node.value.value in named:
                aliases.update((t.target.value, node.value.value) for t in node.targets if type(t.target) is cst.Name)
            elif type(node) is cst.Call:
                calls.append(node)
        found = (found & named) | {aliases[name] for name in found if name in aliases}
        for call in calls:  # ``self._flip(x)``, where ``_flip`` uses its parameter as an array
            passed = [a.value.value for a in call.args if type(a.value) is cst.Name and a.value.value in named - found]
            if passed:
                found.update(self._passed_as_arrays(call, passed))
        return frozenset(found)

    def _passed_as_arrays(self, call: cst.Call, passed: list[str]) -> set[str]:
        """The names among ``passed`` that ``call`` hands to a parameter its callee, a function of
        this module, uses as an array (one call deep)."""
        callee, bound = self._callee(call.func)
        if callee is None:
            return set()
        used = self.module.names_used_as_arrays(callee, self.resolve)
        filled = bind_arguments(callee.params, argument_shapes(call), bound)
        return {
            argument.value.value
            for argument, params in zip(call.args, filled, strict=True)
            if type(argument.value) is cst.Name and argument.value.value in passed and params & used
        }

    def _closure_lambdas(self) -> dict[str, cst.Lambda]:
        """The lambdas enclosing functions bind once (``has_axis = lambda leaf: ...`` then
        ``def rec(t): if has_axis(t): ...``), the nearest scope first, unless a nearer one
        rebinds the name."""
        found: dict[str, cst.Lambda] = {}
        shadowed = set(self.locals)
        parent = self.info.parent if self.info is not None else None
        while parent is not None and (info := self.module.index.functions.get(parent)) is not None:
            if "lambda" in info.local_values.values():
                bindings = collect_bindings(self.module.segments.function(info)[0].body)
                for name, function in lambdas_bound_once(bindings).items():
                    if name not in shadowed:
                        found.setdefault(name, function)
            shadowed |= info.local_names
            parent = info.parent
        return found

    def _concrete_params(self, body: cst.CSTNode) -> set[str]:
        """Parameters passed where JAX needs a Python value: a shape, an axis, ``in_axes``
        (``jnp.zeros((n, d))``, ``x.sum(axis)``). A tracer there fails, so wherever the function
        works they hold Python values, whatever a caller's parameters are guessed to be. Not for
        a transform's own function: there every argument is a tracer, and the use a crash."""
        unbound = self.params - self.rebound_names
        found: set[str] = set()
        if not unbound:
            return found
        for node in iter_own_nodes(body):
            if type(node) is cst.Call:
                for argument in _concrete_arguments(node, self.resolve):
                    found.update(_names_in_shape(argument) & unbound)
        return found

    def _unknown_objects(self) -> frozenset[str]:
        """Parameters, never rebound, of no known type: neither annotated as an array nor with
        a class of the project (``self`` of a Module is known through its class)."""
        if self.info is None or self.context is None:
            return frozenset()
        return frozenset(
            p.name
            for p in self.info.params
            if p.name != self.self_name
            and p.name not in self.rebound_names
            and not p.star
            and p.annotation != "jax.Array"
            and self.module.class_named(p.annotation) is None
        )

    def _evaluated_at_trace_time(self, body: cst.CSTNode) -> frozenset[int]:
        """The nodes inside ``with jax.ensure_compile_time_eval():`` blocks of the body, by id."""
        found: set[int] = set()
        for node in iter_own_nodes(body):
            if type(node) is cst.With and any(
                type(item.item) is cst.Call and self.resolve(item.item.func) in jaxapi.COMPILE_TIME_EVAL
                for item in node.items
            ):
                found.update(id(inner) for inner in iter_own_nodes(node.body))
        return frozenset(found)

    def _narrowed_static_reads(self, body: cst.CSTNode, bindings: list[Binding]) -> frozenset[int]:
        """The reads an ``isinstance`` test makes static, by node id (see ``_proven_static``): in the
        branch of an ``if`` statement or expression where the test says so; in the right operand of
        ``a and b`` (run only where ``a`` is true) or ``a or b`` (only where it is false), as in ``not
        isinstance(d, (int, np.integer)) or int(d) < 0``; and past a guard that leaves where the test
        fails (``if not isinstance(start, int): raise ...``). In ``if isinstance(w, IrrepsArray): ...
        w.irreps ...``, a field the class keeps static."""
        found: set[int] = set()
        for node in (body, *iter_own_nodes(body)):
            if type(node) is cst.If or type(node) is cst.IfExp:
                found |= self._static_reads(self._proven_static(node.test, True), [node.body], bindings)
                if node.orelse is not None:
                    found |= self._static_reads(self._proven_static(node.test, False), [node.orelse], bindings)
                test = self._condition(node.test)
                tested = self._isinstance_test(test)
                if tested is not None and self._static_subject(test, False) is None:
                    found.update(self._declared_static_reads(node, *tested))
            elif type(node) is cst.BooleanOperation:
                proven = self._proven_static(node.left, type(node.operator) is cst.And)
                found |= self._static_reads(proven, [node.right], bindings)
            elif type(node) is cst.IndentedBlock:
                found |= self._guarded_static_reads(node.body, bindings)
        return frozenset(found)

    def _guarded_static_reads(self, statements: Sequence[cst.BaseStatement], bindings: list[Binding]) -> set[int]:
        """Reads after a guard that leaves the block where its test fails to prove a name static."""
        found: set[int] = set()
        for position, statement in enumerate(statements):
            if type(statement) is cst.If and statement.orelse is None and _always_leaves(statement.body):
                proven = self._proven_static(statement.test, False)
                found |= self._static_reads(proven, statements[position + 1 :], bindings)
        return found

    def _static_reads(
        self, proven: dict[str, cst.BaseExpression], roots: Sequence[cst.CSTNode], bindings: list[Binding]
    ) -> set[int]:
        """The reads, under ``roots``, of the names a test ``proven`` static there (each with the test
        that proves it), where nothing rebinds the name in between (``_holds_in``)."""
        if not proven:
            return set()
        nodes = [node for root in roots for node in all_nodes(root)]
        holding = {name for name, test in proven.items() if self._holds_in(name, nodes, test, bindings)}
        return {id(read) for read in nodes if type(read) is cst.Name and read.value in holding}

    def _proven_static(self, test: cst.BaseExpression, outcome: bool) -> dict[str, cst.BaseExpression]:
        """The names an ``isinstance`` test in ``test`` proves static where ``test`` is ``outcome``,
        each with that test as written (a flag bound once to one stands for it)."""
        if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
            return self._proven_static(test.expression, not outcome)
        if type(test) is cst.BooleanOperation:
            if (type(test.operator) is cst.And) != outcome:
                return {}  # ``a and b`` false, or ``a or b`` true: which operand decided is unknown
            return {**self._proven_static(test.left, outcome), **self._proven_static(test.right, outcome)}
        condition = self._condition(test)
        if condition is not test:  # a flag bound once to a test stands for it (``_holds_in`` checks the order)
            return dict.fromkeys(self._proven_static(condition, outcome), test)
        static = self._static_subject(test, False)
        return {static[0].value: test} if static is not None and static[1] == outcome else {}

    def _static_subject(self, test: cst.BaseExpression, negated: bool) -> tuple[cst.Name, bool] | None:
        """The name an ``isinstance`` test proves static, and on which outcome: no tracer is an
        instance of a Python scalar type (``isinstance(x, (int, float))`` true: ``x`` is a Python
        number; nor of a NumPy one), and every tracer is a ``jax.core.Tracer`` and a ``jax.Array`` (``not
        isinstance(x, Tracer)`` true, or ``isinstance(x, jax.Array)`` false: ``x`` is concrete)."""
        tested = self._isinstance_classes(test)
        if tested is None:
            return None
        subject, qualified = tested
        if all(q in jaxapi.HOST_VALUE_TYPES for q in qualified):
            return subject, not negated
        if len(qualified) == 1 and self._is_tracer_class(qualified[0]):
            return subject, negated
        return None

    def _holds_in(
        self, name: str, branch: list[cst.CSTNode], test: cst.BaseExpression, bindings: list[Binding]
    ) -> bool:
        """Whether what ``test`` found of ``name`` still holds throughout the ``branch`` (its nodes):
        the branch does not rebind it, nor does the function after binding the flag the test
        names (``where = not isinstance(pos, int)`` then ``if where: ... else: ...``)."""
        inside = {id(node) for node in branch}
        if any(id(b.node) in inside for b in self.values.by_name.get(name, ())):
            return False
        flag = test
        if type(flag) is not cst.Name or self.values.only_binding(flag.value) is None:
            return True
        positions = [i for i, b in enumerate(bindings) if b.target in (name, flag.value)]
        return bindings[positions[-1]].target == flag.value

    def _condition(self, test: cst.BaseExpression) -> cst.BaseExpression:
        """The test a local names, where it is bound once to one (``traced = isinstance(x, Tracer)``
        then ``if traced:``); else ``test`` itself."""
        if type(test) is cst.Name and test.value not in self.params:
            source = self.values.only_binding(test.value)
            if isinstance(source, cst.Call | cst.UnaryOperation):
                return source
        return test

    def _declared_static_reads(
        self, node: cst.If | cst.IfExp, subject: cst.Name, qualified: str | None
    ) -> Iterator[int]:
        """``w.irreps`` in the body of ``if isinstance(w, IrrepsArray):``, a field the class keeps static."""
        cls = self.module.class_named(qualified)
        if cls is None or not cls.declared_static:
            return
        yield from (
            id(read)
            for read in all_nodes(node.body)
            if type(read) is cst.Attribute
            and _is_name(read.value, subject.value)
            and read.attr.value in cls.declared_static
        )

    def _is_tracer_class(self, qualified: str | None) -> bool:
        """JAX's tracer classes, also re-exported by a module of the project (a compatibility shim's
        ``from jax.core import Tracer``, imported as ``from ._compat import Tracer``)."""
        if qualified in jaxapi.TRACER_CLASSES:
            return True
        lookup = self.module.project_lookup
        if not qualified or qualified.rpartition(".")[2] != "Tracer" or lookup is None:
            return False
        return lookup(qualified) is not None

    def _leaves_when_traced(self, statement: cst.BaseStatement) -> bool:
        """``arr = jnp.array(t); if isinstance(arr, Tracer): return arr``: ``arr`` is traced, so under
        a trace the branch always runs and leaves; what follows in the block runs only eagerly.
        Likewise ``concrete_or_error(None, x, "...")`` on a traced ``x``: it raises there."""
        if type(statement) is cst.SimpleStatementLine:
            return any(self._raises_when_traced(small) for small in statement.body)
        if type(statement) is not cst.If or statement.orelse is not None or not _always_leaves(statement.body):
            return False
        return any(self.values.traced(subject) for subject in self._tracer_tests(statement.test))

    def _raises_when_traced(self, small: cst.BaseSmallStatement) -> bool:
        """``concrete_or_error(force, val, ...)``, alone or assigned, on a traced ``val``."""
        call = small.value if type(small) is cst.Expr or type(small) is cst.Assign else None
        if type(call) is not cst.Call or self.resolve(call.func) not in jaxapi.CONCRETE_OR_ERROR:
            return False
        val = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "val"), None)
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        if val is None and len(positional) > 1:
            val = positional[1]
        return self.values.traced(val)

    def _tracer_tests(self, test: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
        """What ``test`` is true for when it holds a tracer: ``x`` in ``isinstance(x, Tracer)``,
        ``xs`` in ``any(isinstance(v, Tracer) for v in xs)``, the one argument of a function of the
        module that asks that of it (``is_tracing(tree)``: it tests for a tracer class and returns
        truths only), or any operand of an ``or`` of such tests."""
        test = self._condition(test)
        if type(test) is cst.BooleanOperation and type(test.operator) is cst.Or:
            yield from self._tracer_tests(test.left)
            yield from self._tracer_tests(test.right)
            return
        if type(test) is cst.Call and len(test.args) == 1 and test.args[0].star == "" and test.args[0].keyword is None:
            argument = test.args[0].value
            if type(argument) is cst.GeneratorExp and self.resolve(test.func) == "builtins.any":
                loop, tested = argument.for_in, self._isinstance_test(argument.elt)
                if tested is not None and self._is_tracer_class(tested[1]) and _is_name(loop.target, tested[0].value):
                    yield loop.iter
                return
            callee, bound = self._callee(test.func)
            if (
                callee is not None
                and bound == 0
                and callee.returns_value
                and callee.returns_truths_only
                and any(self._is_tracer_class(narrowed) for narrowed in callee.narrowed_classes)
            ):
                yield argument
            return
        tested = self._isinstance_test(test)
        if tested is not None and self._is_tracer_class(tested[1]):
            yield tested[0]

    def _isinstance_test(self, test: cst.BaseExpression) -> tuple[cst.Name, str | None] | None:
        """``isinstance(x, Kind)``: the name tested and the class, qualified (None for a tuple of them)."""
        tested = self._isinstance_classes(test)
        if tested is None:
            return None
        subject, classes = tested
        return subject, classes[0] if len(classes) == 1 else None

    def _isinstance_classes(self, test: cst.BaseExpression) -> tuple[cst.Name, list[str | None]] | None:
        """``isinstance(x, Kind)`` or ``isinstance(x, (A, B))``: the name tested and the classes, qualified."""
        if type(test) is not cst.Call or self.resolve(test.func) != "builtins.isinstance" or len(test.args) != 2:
            return None
        subject, kind = test.args[0].value, test.args[1].value
        if type(subject) is not cst.Name:
            return None
        kinds = [e.value for e in kind.elements] if type(kind) is cst.Tuple else [kind]
        return subject, [self.resolve(k) or dotted_name(k) for k in kinds]

    def _updates_itself(self, binding: Binding) -> bool:
        """``saveat = eqx.tree_at(where, saveat, ...)``, ``opts = dataclasses.replace(opts, ...)``,
        ``s = s.replace(...)``, or ``x = x.reshape(...)`` where ``x``'s class declares that method
        to return its own class: the same class again, so the field types it declares still hold."""
        source = binding.source
        if binding.iterated or binding.element is not None or type(source) is not cst.Call:
            return False
        func = source.func
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value == binding.target:
            if func.attr.value in ("replace", "_replace"):
                return True
            param = self.info.param(binding.target) if self.info is not None else None
            cls = self.module.class_named(param.annotation) if param is not None else None
            return cls is not None and func.attr.value in cls.self_returning
        position = _CLASS_KEEPING_UPDATES.get(self.resolve(func) or "")
        positional = [a.value for a in source.args if not a.keyword and not a.star]
        if position is None or position >= len(positional):
            return False
        tree = positional[position]
        return type(tree) is cst.Name and tree.value == binding.target

    def _fresh_container(self, argument: cst.BaseExpression) -> bool:
        """A list or dict this traced call built itself (``context = {}``, ``f([a, b])``), or was
        handed so, or its ``*args`` tuple and ``**kwargs`` dict, which Python builds anew for
        each call (under a trace too: a tuple of tracers, whose truth is its length)."""
        if type(argument) is not cst.Name:
            return _is_container_display(argument, self.resolve)
        name = argument.value
        if name in self.params:
            if name in self.variadic_params and name not in self.rebound_names:
                return True
            return self.context is not None and name in self.context.fresh_params and name not in self.rebound_names
        return name in self.python_containers

    def decided(self, test: cst.BaseExpression) -> bool | None:
        """What an ``if`` test always is here (None: it varies): ``False``; a module flag (``if not
        JAX_MODE:``, ``ModuleIndex.flags``); a parameter with a false default that no call of this
        function passes, never rebound."""
        if constant_truth(test) is False:
            return False
        flag = self._flag_truth(test)
        if flag is not None:
            return flag
        if type(test) is not cst.Name or self.context is None or self.context.passed_params is None:
            return None
        param = self.info.param(test.value) if self.info is not None else None
        if (
            param is not None
            and param.false_default
            and param.name not in self.context.passed_params
            and param.name not in self.rebound_names
        ):
            return False
        return None

    def _flag_truth(self, test: cst.BaseExpression) -> bool | None:
        """``FLAG``, ``not FLAG``, ``FLAG and ...``, ``FLAG or ...`` on module flags, as the index decides them."""
        flags = self.module.index.flags
        if not flags:
            return None
        if isinstance(test, cst.Name):
            local = self.info is not None and test.value in self.info.local_names
            return None if local else flags.get(test.value)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            value = self._flag_truth(test.expression)
            return None if value is None else not value
        if isinstance(test, cst.BooleanOperation):
            first = self._flag_truth(test.left)
            short = isinstance(test.operator, cst.Or)  # ``True or ...`` is True, ``False and ...`` is False
            return first if first is short else None
        return None

    def _plain_receiver(self) -> bool:
        """The ``self`` of a plain class's method: an object an arrays-only transform (``@eqx.filter_jit
        def __call__(self, ...)``) keeps whole as a static leaf."""
        cls = self.class_info
        return cls is not None and cls.plain and self.info is not None and self.info.method_kind is None

    def _dict_params(self) -> set[str]:
        """``**kwargs`` and parameters annotated as dicts (``params: dict[str, Array]``)."""
        if self.info is None:
            return set()
        return {p.name for p in self.info.params if p.star == "**" or p.annotation in jaxapi.MAPPING_ANNOTATIONS}

    def _static_fields_of_params(self) -> dict[str, frozenset[str]]:
        if self.info is None or self.context is None:
            return {}
        found = {}
        for param in self.info.params:
            # A function an arrays-only transform is applied to runs under it whoever calls it.
            arrays_only = self.context.arrays_only or self.info.qualname in self.module.arrays_only_roots
            fields = self.module.static_fields(param, arrays_only)
            if fields and param.name not in self.reclassed:
                found[param.name] = fields
        cls = self.class_info
        if cls is not None and self.self_name and cls.declared_static and self.self_name not in self.reclassed:
            found[self.self_name] = frozenset(cls.declared_static) | found.get(self.self_name, frozenset())
        keywords = next((p.name for p in self.info.params if p.star == "**"), None)
        if keywords is not None and self.context.root == self.info.qualname and keywords not in self.reclassed:
            # ``partial(kernel, block_k=128)`` transformed: ``kwargs["block_k"]`` holds the bound constant.
            found[keywords] = self.context.static_params - self.params
        return found

    def _references(self, bindings: list[Binding]) -> frozenset[str]:
        """In code reached only from Pallas kernels, the mutable references: the parameters not
        rebound, the locals that copy or unpack one (``o_ref, acc_ref = rest``, ``q_smem, o_smem =
        smem_union``), and the items of a variadic one (``*rest`` then ``out_ref = rest[-1]``).
        Indexing any other reference loads a value, no reference."""
        taken: dict[str, bool] = {}
        for binding in bindings:
            source = binding.source
            if type(source) is cst.Name:  # ``ref = x_ref``, ``(q_smem, o_smem) = smem_refs``: refs too
                from_refs = source.value in self.params
            else:  # an item of a variadic one is a ref; indexing a ref loads a value
                from_refs = type(source) is cst.Subscript and _is_name_in(source.value, self.variadic_params)
            taken[binding.target] = taken.get(binding.target, True) and from_refs
        return frozenset(self.params - self.rebound_params) | {name for name, only in taken.items() if only}

    def _classify_locals(self, bindings, body: cst.CSTNode) -> None:
        not_containers: set[str] = set(self.params)
        for binding in bindings:
            source = binding.source
            if binding.target in self.params:
                self.rebound_params.add(binding.target)
            if source is None or not _binds_container(binding, self.resolve):
                not_containers.add(binding.target)
            else:
                self.container_only.add(binding.target)
            if source is not None and binding.iterated:
                self.iterated_sources.setdefault(binding.target, []).append(source)
            if source is None or binding.iterated:
                continue
            self.binding_sources.setdefault(binding.target, source)
            if _is_python_container(source, self.resolve):
                self.python_containers.add(binding.target)
            elif isinstance(source, cst.Call) and self.resolve(source.func) in jaxapi.STATEFUL_RNG_MAKERS:
                self.rng_names.add(binding.target)
            elif self.values.traced(source) and self.rule_context.is_boolean_mask(source):
                self.boolean_masks.add(binding.target)
        self.container_only -= not_containers
        self.array_bound = {
            b.target
            for b in bindings
            if b.target in self.python_containers and _direct(b) is not None and _returns_array(b.source, self.resolve)
        }
        self._classify_optionals(bindings)
        if self.info is None:
            return
        for param in self.info.params:
            kind = param.annotation.split(".")[-1] if param.annotation else None
            if kind in jaxapi.MUTABLE_CONTAINER_NAMES:
                self.container_params.add(param.name)
            elif kind in jaxapi.CONTAINER_NAMES:
                self.tuple_params.add(param.name)
        # ``acc[0] += x`` on a lax loop body's list carry updates the list.
        carried = self.module.container_carries.get(self.info.qualname, frozenset())
        self.python_containers |= carried - self.rebound_params
        self.open_params = {
            p.name for p in self.info.params if p.annotation is None or p.annotation.split(".")[-1] in _OPEN_ANNOTATIONS
        }
        if not self.open_params:
            return  # what follows only learns which open parameters are containers
        for node in iter_own_nodes(body):
            if type(node) is cst.Subscript or type(node) is cst.Attribute:  # the nodes it looks at
                self._note_container_use(node)
            elif type(node) is cst.DictComp or type(node) is cst.SetComp:
                self.container_params.update(_iterated_for_keys(node) & self.open_params)

    def _classify_optionals(self, bindings) -> None:
        """Names whose truth value is an "is it there" test: a local bound to ``None`` somewhere, or
        only ever to parts of a pytree (``state.dynamic_scale``, ``site["fn"]``), and parameters
        defaulting to ``None`` that are not annotated as arrays (``extras = extras or {}`` keeps them so);
        and the unannotated parameters of a framework Module's method, flags (``if train:``)."""
        self.optional_names |= {b.target for b in bindings if (source := _direct(b)) is not None and is_none(source)}
        self.optional_names |= _only_bound_to(bindings, self.is_pytree_part)
        if self.info is None:
            return
        self.optional_names.update(p.name for p in self.info.params if p.may_be_absent)
        context = self.context
        if context is not None and context.module_entry:
            # A framework Module's method is an entry point whose callers jaxpure seldom sees (the
            # framework's ``apply`` calls it): what its unannotated parameters hold is a guess, and
            # so is what they pass on to the functions it calls. A bare truth test of one
            # (``if train:``) reads it as a Python flag, since an array's truth is defined for one
            # element only, eagerly too: silence over a guess (SPEC §8).
            self.optional_names.update(
                p.name for p in self.info.params if p.annotation is None and not p.star and p.name != self.self_name
            )

    def builds_container(self, node: cst.BaseExpression) -> bool:
        """A Python list, tuple, dict or set built right here (``jax.tree.leaves(x)``)."""
        return _is_container_display(node, self.resolve)

    def is_pytree_part(self, node: cst.BaseExpression) -> bool:
        """A field of an object of no class jaxpure knows, or an item under a string key
        (``site["fn"]``, ``site.get("done", False)``): what a pytree holds there may be ``None``, a
        container, a Python flag or a sub-tree, as well as an array."""
        if type(node) is cst.Call:
            return _string_get(node)
        if type(node) is cst.Attribute:
            if node.attr.value in jaxapi.ARRAY_ATTRIBUTES:
                return False
            if not self._known_receiver(node.value):
                return True
            cls = self._receiver_class(node.value)  # ``state.forbidden_ids: tuple[int, ...] | None``
            return cls is not None and node.attr.value in cls.presence_fields
        return type(node) is cst.Subscript and len(node.slice) == 1 and is_string_index(node.slice[0].slice)

    def walk(self, body: cst.CSTNode) -> None:
        """Hand every node of ``body`` to the rules that asked for its type; follow calls and lambdas."""
        rules = self.rules
        parents = self.parents
        stack: list[cst.CSTNode] = [body]
        while stack:
            node = stack.pop()
            children = cst_children(node)
            for child in children:
                parents[child] = node
            handlers = rules.get(type(node))
            if handlers:
                for rule in handlers:
                    rule.check(node, self.rule_context)
            kind = type(node)  # libcst node classes are final: type tests are isinstance tests, and cheaper
            if (kind is cst.FunctionDef or kind is cst.ClassDef) and node is not body:
                continue  # analyzed on its own when traced or relevant
            typed: Any = node  # of the class ``kind`` names: mypy does not follow the alias
            if kind is cst.IndentedBlock:
                children = _reachable(typed.body, children, self._leaves_when_traced)
            if kind is cst.If:
                decided = self.decided(typed.test)
                if decided is not None:  # ``if validate:`` where no caller passes validate: False holds
                    dead = typed.orelse if decided else typed.body
                    stack.extend(reversed([c for c in children if c is not dead]))
                    continue
            if kind is cst.Call:
                self._on_call(typed)
            elif kind is cst.Return and typed.value is not None:
                self.returns_traced |= self.values.traced(typed.value)
                self._note_returned_positions(typed.value)
            elif kind is cst.Lambda:
                self._on_lambda(typed)
                continue
            stack.extend(reversed(children))

    def _note_returned_positions(self, value: cst.BaseExpression) -> None:
        elements = value.elements if type(value) is cst.Tuple else None
        if elements is None or any(type(e) is cst.StarredElement for e in elements):
            self.returns_other = True
            return
        traced = [self.values.traced(e.value) for e in elements]
        if self.returned_positions is None:
            self.returned_positions = traced
        elif len(self.returned_positions) != len(traced):
            self.returns_other = True
        else:
            self.returned_positions = [a or b for a, b in zip(self.returned_positions, traced, strict=True)]

    def _note_container_use(self, node: cst.CSTNode) -> None:
        """Parameters used with string keys or container methods are containers (SPEC §7), unless
        annotated with another class: ``metrics: nnx.Variable`` is indexed by its own ``__setitem__``."""
        if (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and node.value.value in self.open_params
        ):
            if any(is_string_index(e.slice) for e in node.slice):
                self.container_params.add(node.value.value)
        elif (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value in self.open_params
            and (node.attr.value in jaxapi.UNAMBIGUOUS_MUTATORS or node.attr.value in ("keys", "values", "items"))
        ):
            self.container_params.add(node.value.value)

    # -- calls ---------------------------------------------------------------------------------

    def _on_call(self, node: cst.Call) -> None:
        called = self.resolve(node.func)
        transform = self.module.index.transforms.get(called) if called else None
        if transform is not None:
            self._on_transform_call(node, transform)
            return
        if self.context is None:
            return
        if called == "functools.partial":
            self._on_partial_method(node)
        if called == "builtins.map":
            self._on_map(node)
        callee, bound = self._callee(node.func)
        if callee is None:
            self._reach_other_module(node, self.context)
            return
        shapes, traced_arguments = self._argument_flow(node)
        filled = bind_arguments(callee.params, shapes, bound)
        traced_params = filled_by(filled, traced_arguments) | self._receiver_traced(node.func, callee, bound)
        if not traced_params and self.context.kind == DIFFERENTIATION:
            return  # nothing traced flows in: under differentiation the callee runs on plain values
        fresh = [i for i, argument in enumerate(node.args) if self._fresh_container(argument.value)]
        context = replace(
            self.context,
            traced_params=traced_params,
            static_params=frozenset(),
            fresh_self=bound == 1 and self._fresh_receiver(node.func),
            passed_params=frozenset().union(*filled) & callee.flag_params,
            fresh_params=filled_by(filled, fresh, alone=True),
        )
        self.module.reach(self.info.qualname if self.info else None, callee, context)

    def _argument_flow(self, node: cst.Call) -> tuple[tuple[tuple[str | None, str], ...], list[int]]:
        """How ``node`` passes its arguments (for ``bind_arguments``) and which are traced, by
        index. A ``**d`` whose traced items are known by key passes those keys as traced
        keywords, appended, and the rest untraced: ``kw = dict(config); kw["t"] = t; f(x, **kw)``
        traces ``f``'s ``t`` only, not every flag ``config`` fills."""
        shapes = list(argument_shapes(node))
        traced = []
        for index, argument in enumerate(node.args):
            keys = self._traced_keys(argument.value) if argument.star == "**" else None
            if keys is None:
                if self.values.evidently_traced(argument.value):
                    traced.append(index)
                continue
            for key in sorted(keys):
                traced.append(len(shapes))
                shapes.append((key, ""))
        return tuple(shapes), traced

    def _traced_keys(self, value: cst.BaseExpression) -> frozenset[str] | None:
        """The string keys under which the local dict ``value`` names may hold a tracer, where
        every write to it is in sight; None where they are not known."""
        if type(value) is not cst.Name or self.body is None:
            return None
        if self._keyed_dicts is None:
            self._keyed_dicts = self._dicts_keyed_by_string(self.body)
        return self._keyed_dicts.get(value.value)

    def _dicts_keyed_by_string(self, body: cst.CSTNode) -> dict[str, frozenset[str]]:
        """Locals bound only to dicts (a copy ``dict(config)`` or a display with string keys)
        that the body only reads, unpacks and writes under string keys (``d["k"] = v``,
        ``d.setdefault("k", v)``, ``d.update(k=v)``), each with the keys a traced value went to."""
        keys: dict[str, set[str]] = {}
        for name in self.rebound_names - self.params:
            found: set[str] | None = set()
            for binding in self.values.by_name.get(name, ()):  # ``kw = {}`` here, ``kw = {"t": t}`` there
                whole = not (binding.iterated or binding.element is not None or binding.starred)
                held = _dict_source_keys(binding.source, self.values.evidently_traced, self.resolve) if whole else None
                found = found | held if found is not None and held is not None else None
            if found is not None:
                keys[name] = found
        if not keys:
            return {}
        accounted: set[int] = set()
        occurrences: list[cst.Name] = []
        unknown: set[str] = set()
        for node in iter_own_nodes(body):
            if type(node) is cst.Name and node.value in keys:
                occurrences.append(node)
            use = _dict_use(node, keys)
            if use is None:
                continue
            name, writes, names = use
            accounted.update(id(n) for n in names)
            for key, written in writes:
                if key is None:
                    unknown.add(name)  # written under a key that is no string literal
                elif self.values.evidently_traced(written):
                    keys[name].add(key)
        # A name no use above accounts for is handed on, returned or stored: what may write to it is not in sight.
        unknown.update(node.value for node in occurrences if id(node) not in accounted)
        return {name: frozenset(found) for name, found in keys.items() if name not in unknown}

    def _on_map(self, node: cst.Call) -> None:
        """``map(f, xs, ys)`` calls ``f(x, y)`` on the items: a call site of the module's ``f``,
        whose parameters are traced where the iterable handing them is."""
        if len(node.args) < 2 or any(a.star or a.keyword for a in node.args):
            return
        applied = cst.Call(func=node.args[0].value, args=[cst.Arg(a.value) for a in node.args[1:]])
        if self._callee(applied.func)[0] is not None:
            self._on_call(applied)

    def _on_partial_method(self, node: cst.Call) -> None:
        """``partial(self._m, flag=flag)``: a call site of ``_m`` whose bound arguments are what
        the partial binds (static when untraced); whoever calls the partial passes the rest."""
        if not node.args or node.args[0].keyword is not None:
            return
        callee, bound = self._callee(node.args[0].value)
        if callee is None or bound != 1:
            return
        if self.context is None:
            return
        rest = node.args[1:]
        filled = bind_arguments(callee.params, [(a.keyword.value if a.keyword else None, a.star) for a in rest], bound)
        bound_names = {name for names in filled for name in names}
        traced = {
            name
            for a, names in zip(rest, filled, strict=True)
            if self.values.evidently_traced(a.value)
            for name in names
        }
        unbound = {p.name for p in callee.params[1:] if p.name not in bound_names}
        context = replace(self.context, traced_params=frozenset(traced | unbound), static_params=frozenset())
        self.module.reach(self.info.qualname if self.info else None, callee, context)

    def _in_other_module(self, func: cst.BaseExpression) -> tuple[str, str] | None:
        """``(module, qualname)`` of the project function ``func`` names in another module, if it does."""
        lookup = self.module.project_lookup
        if lookup is None:
            return None
        qualified = self.resolve(func)
        return lookup(qualified) if qualified and not qualified.startswith(_LIBRARIES) else None

    def _method_in_other_module(self, func: cst.BaseExpression) -> tuple[str, str] | None:
        """``(module, Class.method)`` for ``obj.method`` where ``obj`` is a parameter annotated
        with a class of another project module."""
        lookup = self.module.project_lookup
        if lookup is None or type(func) is not cst.Attribute or type(func.value) is not cst.Name or self.info is None:
            return None
        param = self.info.param(func.value.value)
        annotation = param.annotation if param is not None and param.name not in self.reclassed else None
        if not annotation or "." not in annotation or annotation.startswith(_LIBRARIES):
            return None
        return lookup(f"{annotation}.{func.attr.value}")

    def _reach_other_module(self, node: cst.Call, caller: TracedContext) -> None:
        shapes, traced_arguments = self._argument_flow(node)
        traced = frozenset(traced_arguments)
        offset = 0  # the receiver, for a method
        located = self._in_other_module(node.func)
        if located is None:
            located = self._method_in_other_module(node.func)
            if located is None:
                return
            # The receiver is the method's first argument.
            shapes, offset = ((None, ""), *shapes), 1
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            traced = frozenset({i + 1 for i in traced} | ({0} if self.values.evidently_traced(receiver) else set()))
        if not traced and caller.kind == DIFFERENTIATION:
            return
        fresh = frozenset(i + offset for i, a in enumerate(node.args) if self._fresh_container(a.value))
        # What the callee's parameters hold is bound in its own module (``CallSeed.context_for``).
        context = replace(
            caller, traced_params=None, static_params=frozenset(), fresh_self=False, fresh_params=frozenset()
        )
        call = (shapes, traced, fresh)
        self.module.reach_other_module(CallSeed(located[0], located[1], context, frozenset({call})))

    def _on_transform_call(self, node: cst.Call, transform: jaxapi.Transform) -> None:
        lambdas = [a.value for a in node.args if isinstance(a.value, cst.Lambda)]
        if not lambdas:
            return
        staged = self.context if self.context is not None and self.context.kind == STAGING else None
        context = TracedContext(
            STAGING if staged is not None else transform.kind,
            transform.compiling or bool(staged is not None and staged.compiling),
            transform.name,
            root=self.context.root if self.context else None,
            root_static=self.context.root_static if self.context else (),
            abstract=transform.abstract or bool(staged is not None and staged.abstract),
        )
        for node_lambda in lambdas:
            self._analyze_lambda(node_lambda, context)

    def _on_lambda(self, node: cst.Lambda) -> None:
        """A lambda inside traced code runs on what it is given: its parameters are traced there."""
        parent = self.parents.get(node)
        grandparent = self.parents.get(parent) if parent is not None else None
        if isinstance(grandparent, cst.Call):
            called = self.resolve(grandparent.func)
            if called in self.module.index.transforms:
                return  # analyzed as a traced root by _on_transform_call
            if self._builds_host_callback(parent, grandparent):
                return  # ``jax.pure_callback(lambda v: host(v), ...)``: runs on the host, on concrete values
            if (called in jaxapi.TREE_MAPS or called in jaxapi.TREE_REDUCES) and parent is grandparent.args[0]:
                if self.context is not None:
                    self._analyze_lambda(node, self.context, self._leaves_static(grandparent, node, called))
                return
        if self.context is not None:
            self._analyze_lambda(node, self.context, self._called_with_static_only(node, parent))

    def _builds_host_callback(self, argument: cst.CSTNode | None, call: cst.Call) -> bool:
        """Whether ``argument`` of ``call`` is the function a host callback runs, also through the
        wrappers that build it (``io_callback(to_x32(lambda a: env.step(a)), ...)``): they wrap a
        host function and are no place to call it at trace time."""
        while True:
            if self.resolve(call.func) in jaxapi.HOST_CALLBACKS:
                return argument is _callback_argument(call)
            argument = self.parents.get(call)
            parent = self.parents.get(argument) if argument is not None else None
            if type(argument) is not cst.Arg or not isinstance(parent, cst.Call):
                return False
            call = parent

    def _called_with_static_only(self, node: cst.Lambda, parent: cst.CSTNode | None) -> frozenset[str]:
        """The parameters of ``inv = lambda x: np.log(x)`` where the function only calls ``inv``
        itself, never with a traced argument (``inv(1.0 - eps)``): a local function, whose
        parameters hold what its calls pass. Empty where the lambda goes anywhere else."""
        if type(parent) is not cst.Assign or len(parent.targets) != 1 or type(parent.targets[0].target) is not cst.Name:
            return frozenset()
        name = parent.targets[0].target.value
        body = self.rule_context.function_body(parent)
        calls = [
            n for n in iter_own_nodes(body) if type(n) is cst.Call and type(n.func) is cst.Name and n.func.value == name
        ]
        # Nested functions and lambdas included: a use there is a use too.
        uses = sum(_is_name(inner, name) for inner in all_nodes(body))
        if not calls or uses != len(calls) + 1:  # the assignment's own target, and a call's function each
            return frozenset()
        if any(self.values.traced(argument.value) for call in calls for argument in call.args):
            return frozenset()
        return frozenset(p.name.value for p in all_params(node.params))

    def _leaves_static(self, call: cst.Call, function: cst.Lambda, called: str) -> frozenset[str]:
        """The parameters of a lambda mapped over (or reducing) trees that get no tracer: every one
        where no tree holds a tracer (``jax.tree.map(lambda s: not s, flags)``), a key path always,
        and a mapped one whose own tree holds none (``tree_map(lambda c, a: a() if c else a, flags,
        args)``: each parameter takes the leaves of the tree in its position)."""
        params = [p.name.value for p in all_params(function.params)]
        if not self.values.trees_traced(call):
            return frozenset(params)
        paths = params[:1] if called.endswith("with_path") else []
        evident = self.values.leaves_evident(call) if called in jaxapi.TREE_MAPS else None
        if evident is None or len(evident) != len(params) - len(paths):
            return frozenset(paths)
        return frozenset(paths) | {
            name for name, traced in zip(params[len(paths) :], evident, strict=True) if not traced
        }

    def _analyze_lambda(self, node: cst.Lambda, context: TracedContext, static: frozenset[str] = frozenset()) -> None:
        walker = self.lambda_walker(node, context, static)
        walker.walk(node.body)
        self.findings.extend(walker.findings)

    def _callee(self, func: cst.BaseExpression) -> tuple[FunctionInfo | None, int]:
        """The function of this module a call reaches, and how many leading parameters are bound."""
        index = self.module.index
        if isinstance(func, cst.Name):
            scope = self.info.qualname if self.info else None
            if func.value in self.locals and not (self.info and index.functions.get(f"{scope}.<locals>.{func.value}")):
                return None, 0
            found = index.function_for_name(func.value, scope)
            if found is not None:
                return found, 0
        if isinstance(func, cst.Attribute) and self.rule_context.is_self(func.value) and self.info:
            found = index.method(self.info.class_name, func.attr.value)
            if found is not None:
                return found, 0 if found.method_kind == "static" else 1  # a staticmethod binds no self
        if isinstance(func, cst.Attribute):
            cls = self._class_of_receiver(func.value)
            found = index.resolved_method(cls, func.attr.value) if cls else None
            if found is not None and found.method_kind != "class":
                return found, 0 if found.method_kind == "static" else 1
        return None, 0

    def _class_of_receiver(self, receiver: cst.BaseExpression) -> str | None:
        """The class of this module an object evidently is: a parameter annotated with it, a
        local bound only to ``Cls(...)``, or a field of ``self`` annotated with it."""
        if type(receiver) is cst.Name:
            return self.receiver_classes.get(receiver.value)
        if type(receiver) is cst.Attribute and self.rule_context.is_self(receiver.value) and self.class_info:
            annotation = self.class_info.field_types.get(receiver.attr.value)
            return annotation if annotation in self.module.index.classes else None
        return None

    def _receiver_class(self, receiver: cst.BaseExpression) -> ClassInfo | None:
        """The class of this module ``receiver`` evidently is an instance of (``self`` included)."""
        if type(receiver) is cst.Name and receiver.value == self.self_name:
            return self.class_info
        qualname = self._class_of_receiver(receiver)
        return self.module.index.classes.get(qualname) if qualname else None

    def _is_enum_class(self, qualified: str) -> bool:
        """An Enum of the project whose members are no numbers (``IntEnum`` members compare as ints)."""
        cls = self.module.class_named(qualified) or self.module.class_named(qualified.rsplit(".", 1)[-1])
        return cls is not None and cls.is_enum and not any(base in _NUMERIC_ENUMS for base in cls.bases)

    def _known_receiver(self, receiver: cst.BaseExpression) -> bool:
        """Whether a method call on ``receiver`` may reach a method of a class of the project."""
        if type(receiver) is cst.Name:
            name = receiver.value
            if name in self.receiver_classes or name == self.self_name:
                return True
            param = self.info.param(name) if self.info is not None else None
            return param is not None and "." in (param.annotation or "")  # maybe a class of another module
        return type(receiver) is cst.Attribute and self._class_of_receiver(receiver) is not None

    def _note_receiver_classes(self, bindings) -> None:
        classes = self.module.index.classes
        if self.info is not None:
            for param in self.info.params:
                if param.annotation in classes and param.name not in self.reclassed:
                    self.receiver_classes[param.name] = param.annotation
        sources: dict[str, list] = {}
        for binding in bindings:
            sources.setdefault(binding.target, []).append(binding)
        for name, bound in sources.items():
            source = bound[0].source
            if (
                len(bound) == 1
                and not bound[0].iterated
                and name not in self.params
                and type(source) is cst.Call
                and type(source.func) is cst.Name
                and source.func.value in classes
                and source.func.value not in self.locals
            ):
                self.receiver_classes[name] = source.func.value
                self.constructed.add(name)

    def _fresh_receiver(self, func: cst.BaseExpression) -> bool:
        """``game.step()`` on ``game = Game(state)`` built in this traced call, or ``self.step()``
        in a method whose ``self`` was: the object lives and dies inside this trace."""
        if type(func) is not cst.Attribute or type(func.value) is not cst.Name:
            return False
        name = func.value.value
        if name == self.self_name and self.context is not None and self.context.fresh_self:
            return True
        return name in self.constructed

    def _receiver_traced(self, func: cst.BaseExpression, callee: FunctionInfo, bound: int) -> set[str]:
        """``obj.method(...)`` passes ``obj`` as ``self``: traced when ``obj`` is."""
        if bound == 1 and callee.params and type(func) is cst.Attribute and self.values.evidently_traced(func.value):
            return {callee.params[0].name}
        return set()

    def _callee_returns_traced_at(self, node: cst.Call, position: int) -> bool | None:
        """Element ``position`` of a call's result, when the callee's returns say (``x, n = f(x, n)``)."""
        receiver = node.func.value if type(node.func) is cst.Attribute else None
        if not (any(self.values.traced(a.value) for a in node.args) or self.values.traced(receiver)):
            return None  # the same gate as for the whole result: callers are told when it changes
        callee, _ = self._callee(node.func)
        if callee is None:
            return None
        if callee.returns_static:
            return False  # ``-> tuple[int, int, bool]``: Python values, element by element
        return self.module.returns_traced_at(callee.qualname, position)

    def _callee_returns_traced(self, node: cst.Call, args_traced: bool) -> bool | None:
        if not args_traced:
            return None
        callee, _ = self._callee(node.func)
        if callee is not None:
            if callee.returns_static:
                return False  # annotated ``-> int``/``-> bool``: a Python value, as for a parameter
            return self.module.returns_traced(callee.qualname)
        located = self._in_other_module(node.func) or self._method_in_other_module(node.func)
        if located is not None and f"{located[0]}:{located[1]}" in self.module.untraced_returns:
            return False
        return None

    # -- keys -----------------------------------------------------------------------------------

    def lax_loop(self) -> str | None:
        """The ``lax`` loop whose body this function is, if it is one."""
        return self.module.lax_loop_bodies.get(self.info.qualname) if self.info is not None else None

    def key_arguments_consumed(
        self, node: cst.Call, hands_key: bool = True
    ) -> list[tuple[cst.BaseExpression, bool]] | None:
        """Arguments a call to a function (or class) of this module consumes as keys, each with
        whether surely; None where the callee is not one jaxpure can see into. ``hands_key``:
        the call is handed a known key (otherwise only a callee that draws can consume one)."""
        func, partial_bound = self._transformed_function(node.func)
        if func is None:
            return []  # ``jax.make_jaxpr(f)(key)``: abstract evaluation draws nothing
        callee, bound = self._callee(func)
        bound += partial_bound
        if callee is None:
            cls = self._class_called(node.func)
            if cls is None:
                return None
            callee, bound = self.module.index.method(cls, "__init__"), 1
            if callee is None:
                return []  # a generated __init__ (dataclass, Module fields) only stores what it is given
        if not hands_key and not callee.uses_random:
            return []
        surely, passed = self.module.key_consumers(callee)
        filled = bind_arguments(callee.params, argument_shapes(node), bound)
        arguments = []
        for argument, names in zip(node.args, filled, strict=True):
            if argument.star or len(names) != 1:
                continue
            (name,) = names
            if name in surely or name in passed:
                arguments.append((argument.value, name in surely))
        return arguments

    def _transformed_function(self, func: cst.BaseExpression) -> tuple[cst.BaseExpression | None, int]:
        """What ``jax.jit(f)(...)``, or ``step(...)`` after ``step = jax.pmap(partial(f, ...))``, runs:
        ``f`` (and how many positional arguments a partial binds), whose body tells whether the
        key is consumed (a transform consumes nothing of its own); None under abstract evaluation."""
        bound = 0
        for _ in range(6):
            if isinstance(func, cst.Name) and func.value in self.locals:
                source = self.binding_sources.get(func.value)
                if not isinstance(source, cst.Call):
                    break
                func = source
            elif (
                isinstance(func, cst.Call)
                and func.args
                and (called := self.resolve(func.func)) is not None
                and called in self.module.index.transforms
            ):
                if self.module.index.transforms[called].abstract:
                    return None, 0
                func = func.args[0].value
            elif isinstance(func, cst.Call) and func.args and self.resolve(func.func) == "functools.partial":
                bound += sum(1 for a in func.args[1:] if a.keyword is None and not a.star)
                func = func.args[0].value
            else:
                break
        return func, bound

    def _class_called(self, func: cst.BaseExpression) -> str | None:
        """A module-level class of this module that a call instantiates."""
        if isinstance(func, cst.Name) and func.value not in self.locals and func.value in self.module.index.classes:
            return func.value
        return None

    # -- reporting ------------------------------------------------------------------------------

    def report(self, node: cst.CSTNode, rule: type[Rule] | Rule, details: dict[str, str]) -> None:
        if rule.raises_on_tracer is not None and self._caught_around(node, rule.raises_on_tracer):
            return
        line, column, end_line, end_column = self.segment.span(node)
        context = self.context
        transform = context.transform if context else None
        if rule.fixable:
            self.module.fix_candidates[(line, column, rule.code)] = FixCandidate(node, transform)
        self.findings.append(
            Finding(
                path=self.module.path,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                code=rule.code,
                message=rule.format_message(**details),
                trace=TraceInfo(
                    function=self.info.qualname if self.info else None,
                    transform=transform,
                    kind=context.kind if context else None,
                    root=context.root if context else None,
                    static_params=context.root_static if context else (),
                ),
            )
        )

    def _caught_around(self, node: cst.CSTNode, error: str) -> bool:
        """Whether ``node`` runs in the body of a ``try`` one of whose handlers catches ``error``
        and carries on (``try: same = np.allclose(np.asarray(t), grid) except Exception: same =
        False``): JAX raises that error on a tracer, so under a trace the handler's path runs, a
        probe for a concrete value rather than a failure. A handler that raises again fails still."""
        catchers = jaxapi.TRACER_ERROR_CATCHERS[error]
        child, parent = node, self.parents.get(node)
        while parent is not None and type(parent) is not cst.FunctionDef and type(parent) is not cst.Lambda:
            if (
                type(parent) is cst.Try
                and child is parent.body
                and any(self._handles(handler, catchers) for handler in parent.handlers)
            ):
                return True
            child, parent = parent, self.parents.get(parent)
        return False

    def _handles(self, handler: cst.ExceptHandler, catchers: frozenset[str]) -> bool:
        """A handler that catches one of the ``catchers`` (a bare ``except`` catches all) and does not re-raise."""
        if _ends_in_raise(handler.body):
            return False
        if handler.type is None:
            return True
        kinds = [e.value for e in handler.type.elements] if type(handler.type) is cst.Tuple else [handler.type]
        for kind in kinds:
            qualified = self.resolve(kind) or ""
            module, _, name = qualified.rpartition(".")
            if name in catchers and (module == "builtins" or module.split(".")[0] == "jax"):
                return True
        return False


def _ends_in_raise(block: cst.BaseSuite) -> bool:
    statements = block.body if type(block) is cst.IndentedBlock else [block]
    last = statements[-1] if statements else None
    if isinstance(last, cst.SimpleStatementLine | cst.SimpleStatementSuite):
        return type(last.body[-1]) is cst.Raise
    return False


# Calls that return a fresh Python container: copies, and the list of a pytree's leaves.
_CONTAINER_COPIES = frozenset(
    """builtins.dict builtins.list copy.copy copy.deepcopy builtins.tuple jax.tree_util.tree_leaves
    jax.tree.leaves jax.tree_leaves jax.tree_util.tree_leaves_with_path jax.tree.leaves_with_path""".split()
)


_DICT_CONSTRUCTORS = frozenset({"builtins.dict", "collections.defaultdict", "collections.OrderedDict"})


def _adopted(function: str, target: TracedContext, site: TracedContext) -> TracedContext:
    """``target`` once the transform of ``function`` is known to be applied inside ``site``."""
    if site.kind == STAGING and target.kind != STAGING:
        target = replace(target, kind=STAGING, compiling=site.compiling or target.compiling)
    if "<locals>" in function and site.root and target.root == function:
        target = replace(target, root=site.root, root_static=site.root_static)
    return target


def _callback_argument(call: cst.Call) -> cst.Arg | None:
    """The argument of a host callback that is the function it runs: the first, or ``callback=``."""
    for position, argument in enumerate(call.args):
        if argument.keyword is not None and argument.keyword.value == "callback":
            return argument
        if position == 0 and argument.keyword is None and not argument.star:
            return argument
    return None


def _builds_dict(call: cst.Call, resolve) -> bool:
    func = call.func
    name = func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else None
    # Resolving costs: only a call whose name could be one of them is resolved.
    return name in ("dict", "defaultdict", "OrderedDict") and resolve(func) in _DICT_CONSTRUCTORS


def _only_iterated(bindings, params: set[str]) -> frozenset[str]:
    """Locals only ever bound as the elements of something iterated (``for ins in self.instructions``):
    objects of no class jaxpure knows, whose attributes it does not guess at (SPEC §8)."""
    iterated = {b.target for b in bindings if b.iterated and b.element is None}
    other = {b.target for b in bindings if not (b.iterated and b.element is None)}
    return frozenset(iterated - other - params)


def _only_bound_to(bindings, fits: Callable[[cst.BaseExpression], bool]) -> set[str]:
    """Names whose every binding is a direct one (no loop, no unpacking) to a value that ``fits``."""
    fitting: set[str] = set()
    others: set[str] = set()
    for binding in bindings:
        source = _direct(binding)
        (fitting if source is not None and fits(source) else others).add(binding.target)
    return fitting - others


# Functional updates that return an object of their input's class, by the input's position.
_CLASS_KEEPING_UPDATES = {
    "equinox.tree_at": 1,
    "jax.tree_util.tree_map": 1,
    "jax.tree.map": 1,
    "dataclasses.replace": 0,
}


def _direct(binding: Binding) -> cst.BaseExpression | None:
    """The value a binding gives its name as it is: none for a loop target or an unpacked element."""
    return binding.source if not binding.iterated and binding.element is None else None


def _dict_names(bindings, resolve) -> frozenset[str]:
    """Locals only ever bound to a fresh dict (``{}``, a dict comprehension, ``dict()``)."""

    def fresh_dict(source: cst.BaseExpression) -> bool:
        if isinstance(source, cst.Call):
            return _builds_dict(source, resolve)
        return isinstance(source, cst.Dict | cst.DictComp)

    return frozenset(_only_bound_to(bindings, fresh_dict))


# Modules of JAX whose functions return arrays (``jax.tree`` returns lists and trees).
_ARRAY_MODULES = ("jax.numpy.", "jax.lax.", "jax.random.", "jax.nn.", "jax.scipy.")


def _returns_array(source: cst.BaseExpression, resolve) -> bool:
    return type(source) is cst.Call and (resolve(source.func) or "").startswith(_ARRAY_MODULES)


def _is_python_container(source: cst.BaseExpression, resolve) -> bool:
    """A fresh Python list or dict: a literal, a comprehension, ``dict(x)``, ``x.copy()``,
    ``jax.tree.leaves(x)``, ``[x] * n`` (a list's own ``*`` runs first: a list, or an error)."""
    if isinstance(source, cst.List | cst.Dict | cst.ListComp | cst.DictComp):
        return True
    if type(source) is cst.BinaryOperation and type(source.operator) is cst.Multiply:
        return type(source.left) is cst.List or type(source.left) is cst.ListComp
    if isinstance(source, cst.Call):
        if resolve(source.func) in _CONTAINER_COPIES:
            return True
        return isinstance(source.func, cst.Attribute) and source.func.attr.value == "copy" and not source.args
    return False


def _binds_container(binding: Binding, resolve) -> bool:
    """Whether a binding gives its name a Python container built right here."""
    source = binding.source
    if binding.starred:
        return True  # ``top, *rest = rest``: a list, whatever it unpacks
    if type(binding.node) is cst.AugAssign:
        return True  # ``pending += more``: a list stays a list (its other bindings decide)
    if binding.iterated or source is None:
        return False
    if binding.element is not None:  # an element of what a call returns
        return binding.element == 0 and type(source) is cst.Call and resolve(source.func) in jaxapi.TREE_FLATTENS
    return _is_container_display(source, resolve)


def _is_container_display(source: cst.BaseExpression, resolve) -> bool:
    """A Python list, tuple, dict or set built right here: its truth value is its length."""
    return isinstance(source, cst.Tuple | cst.Set | cst.SetComp | cst.GeneratorExp) or _is_python_container(
        source, resolve
    )


def _only_static_fields(cls: ClassInfo) -> bool:
    """An Enum, or an equinox Module whose every field is a non-array or declared static."""
    if cls.is_enum:
        return True
    if cls.framework != "equinox" or cls.array_fields:
        return False
    return all(name in cls.non_array_fields or name in cls.declared_static for name in cls.fields)


def _concrete_arguments(call: cst.Call, resolve) -> list[cst.BaseExpression]:
    """The arguments of ``call`` that JAX needs as Python values (``jaxapi.CONCRETE_KEYWORDS``)."""
    called = resolve(call.func)
    method = call.func.attr.value if called is None and type(call.func) is cst.Attribute else None
    positions: Collection[int]
    if called is not None and called.startswith(("jax.", "numpy.")):
        positions = jaxapi.CONCRETE_POSITIONS.get(called, ())
    elif method in jaxapi.CONCRETE_METHOD_ARGUMENTS:
        positions = range(len(call.args))
    else:
        return []
    return [
        argument.value
        for position, argument in enumerate(call.args)
        if (argument.keyword.value in jaxapi.CONCRETE_KEYWORDS if argument.keyword else position in positions)
    ]


def _used_as_array(node: cst.CSTNode, resolve: Callable) -> set[str]:
    """The names ``node`` uses as arrays, and nothing else would be used so: an array
    attribute or method, a NumPy-style index (``x[:, 0]``, ``x[..., None]``), a matrix
    product, the operand of a ``jax.numpy``/``jax.lax``/``jax.nn`` function."""
    if type(node) is cst.Attribute:
        if type(node.value) is cst.Name and node.attr.value in _ARRAY_USES:
            return {node.value.value}
    elif type(node) is cst.Subscript:
        if type(node.value) is cst.Name and _is_array_index(node.slice):
            return {node.value.value}
    elif type(node) is cst.BinaryOperation:
        if type(node.operator) is cst.MatrixMultiply:
            return {side.value for side in (node.left, node.right) if type(side) is cst.Name}
    elif type(node) is cst.Call and node.args:
        first = node.args[0]  # the operand: later ones are often axes and sizes (``dynamic_slice_in_dim``)
        if type(first.value) is cst.Name and first.keyword is None and not first.star:
            called = resolve(node.func) or ""
            # ``jnp.zeros(shape)`` takes a shape first
            if called.startswith(_ARRAY_FUNCTION_MODULES) and 0 not in jaxapi.CONCRETE_POSITIONS.get(called, ()):
                return {first.value.value}
    return set()


def _is_array_index(elements: Sequence[cst.SubscriptElement]) -> bool:
    """``[:, 0]``, ``[..., None]``, ``[None]``: indices only an array takes (a list or a dict
    takes one integer, slice or key)."""
    if len(elements) > 1:
        return True
    index = elements[0].slice
    return type(index) is cst.Index and (is_none(index.value) or type(index.value) is cst.Ellipsis)


def _is_array_annotation(annotation: str | None) -> bool:
    """The index reads JAX's and jaxtyping's array annotations as ``jax.Array``; others by name
    (``np.ndarray``, an ``Array`` alias of the project's)."""
    return annotation == "jax.Array" or (annotation or "").rsplit(".", 1)[-1] in _ARRAY_TYPE_NAMES


def _names_in_shape(node: cst.BaseExpression) -> set[str]:
    """The names a shape or axis expression is built of: ``(n, d)``, ``*shape``, ``n * 2``."""
    if type(node) is cst.Name:
        return {node.value}
    if isinstance(node, cst.Tuple | cst.List):
        return {name for element in node.elements for name in _names_in_shape(element.value)}
    if type(node) is cst.StarredElement:
        return _names_in_shape(node.value)
    if type(node) is cst.BinaryOperation:
        return _names_in_shape(node.left) | _names_in_shape(node.right)
    if type(node) is cst.UnaryOperation:
        return _names_in_shape(node.expression)
    return set()


def _is_name_in(node: cst.CSTNode, names: Collection[str]) -> bool:
    return type(node) is cst.Name and node.value in names


def _iterated_for_keys(comprehension: cst.DictComp | cst.SetComp) -> set[str]:
    """The names whose items a comprehension makes dict keys or set members (``{k: f(d[k]) for k
    in d}``): hashable items, so no JAX array is iterated there (its items, tracers too, are
    unhashable arrays: measured), and the name holds a Python container, true where not empty."""
    key = comprehension.key if isinstance(comprehension, cst.DictComp) else comprehension.elt
    if type(key) is not cst.Name:
        return set()
    found: set[str] = set()
    loop: cst.CompFor | None = comprehension.for_in
    while loop is not None:
        if _is_name(loop.target, key.value) and type(loop.iter) is cst.Name:
            found.add(loop.iter.value)
        loop = loop.inner_for_in
    return found


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return type(node) is cst.Name and node.value == name


def _jumps(line: cst.CSTNode) -> bool:
    """A line of small statements with ``return``, ``raise``, ``break`` or ``continue`` among them."""
    return isinstance(line, cst.SimpleStatementLine | cst.SimpleStatementSuite) and any(
        type(s) in JUMPS for s in line.body
    )


def _string_get(call: cst.Call) -> bool:
    """``site.get("key")``, ``site.get("key", False)``: a mapping's item under a string key."""
    func, args = call.func, call.args
    return (
        type(func) is cst.Attribute
        and func.attr.value == "get"
        and 1 <= len(args) <= 2
        and all(a.keyword is None and not a.star for a in args)
        and isinstance(args[0].value, STRING_LITERALS)
    )


_DICT_READS = frozenset({"get", "pop", "keys", "values", "items", "copy"})
# One use of a keyed dict: its name, the writes it makes (key, or None where not a string literal;
# the value written), and the occurrences of the name it accounts for.
_DictUse = tuple[str, list[tuple[str | None, cst.BaseExpression | None]], list[cst.Name]]


def _dict_source_keys(source: cst.BaseExpression | None, traced: Callable, resolve: Callable) -> set[str] | None:
    """The string keys a fresh dict holds a traced value under: ``{"a": t, "b": 1}`` or
    ``dict(config, t=t)`` of an untraced ``config``; None for anything else."""
    if type(source) is cst.Dict:
        found = set()
        for element in source.elements:
            if not isinstance(element, cst.DictElement):  # ``**other``
                if traced(element.value):
                    return None
                continue
            key = element.key.evaluated_value if type(element.key) is cst.SimpleString else None
            if not isinstance(key, str):
                return None
            if traced(element.value):
                found.add(key)
        return found
    if type(source) is cst.Call and resolve(source.func) == "builtins.dict":
        positional = [a for a in source.args if a.keyword is None]
        if len(positional) > 1 or any(a.star or traced(a.value) for a in positional):
            return None
        return {a.keyword.value for a in source.args if a.keyword is not None and traced(a.value)}
    return None


def _dict_use(node: cst.CSTNode, names: Container[str]) -> _DictUse | None:
    """What ``node`` does to one of the dicts ``names`` names, where it is a use jaxpure follows."""
    if type(node) is cst.Assign or type(node) is cst.AugAssign or type(node) is cst.AnnAssign:
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        for target in targets:
            if type(target) is cst.Name and target.value in names:
                return target.value, [], [target]  # its one binding
            if type(target) is cst.Subscript and type(target.value) is cst.Name and target.value.value in names:
                key = string_key(target) if len(targets) == 1 else None
                return target.value.value, [(key, node.value)], [target.value]
        return None
    if type(node) is cst.Subscript and type(node.value) is cst.Name and node.value.value in names:
        return node.value.value, [], [node.value]  # ``d["k"]``, read (a write is accounted above)
    if type(node) is cst.Arg and node.star == "**" and type(node.value) is cst.Name and node.value.value in names:
        return node.value.value, [], [node.value]
    if type(node) is cst.ComparisonTarget and type(node.comparator) is cst.Name and node.comparator.value in names:
        if type(node.operator) is cst.In or type(node.operator) is cst.NotIn:
            return node.comparator.value, [], [node.comparator]
        return None
    if type(node) is not cst.Call or type(node.func) is not cst.Attribute or type(node.func.value) is not cst.Name:
        return None
    receiver, method, args = node.func.value, node.func.attr.value, node.args
    if receiver.value not in names:
        return None
    if method in _DICT_READS:
        return receiver.value, [], [receiver]
    if method == "setdefault" and args and args[0].keyword is None:
        first = args[0].value
        literal = first.evaluated_value if type(first) is cst.SimpleString else None
        written = args[1].value if len(args) > 1 else None
        return receiver.value, [(literal if isinstance(literal, str) else None, written)], [receiver]
    if method == "update":
        writes: list[tuple[str | None, cst.BaseExpression | None]] = [
            (a.keyword.value if a.keyword is not None else None, a.value) for a in args
        ]
        return receiver.value, writes, [receiver]
    return None


def _always_leaves(block: cst.BaseSuite) -> bool:
    """Whether a branch always leaves its block: it ends in ``return``, ``raise``, ``break`` or ``continue``."""
    if type(block) is cst.SimpleStatementSuite:
        return _jumps(block)
    return bool(block.body) and _jumps(block.body[-1])


def _reachable(
    statements: Sequence[cst.BaseStatement], children: list[cst.CSTNode], leaves: Callable[[cst.BaseStatement], bool]
) -> list[cst.CSTNode]:
    """A block's children without the statements after its first unconditional ``raise``,
    ``return``, ``break`` or ``continue``, or a statement that ``leaves`` the block under a trace:
    Python never runs those there."""
    for position, statement in enumerate(statements):
        if _jumps(statement) or leaves(statement):
            dead = {id(s) for s in statements[position + 1 :]}
            return [child for child in children if id(child) not in dead] if dead else children
    return children


def _computes_nothing(method: FunctionInfo) -> bool:
    """A Module method that takes nothing but ``self`` and returns nothing (``print_summary``):
    under a transform it could only have side effects, so it is no entry point of its own. A
    framework's own hooks (linen's ``setup``, dunders such as ``__call__``) still are."""
    return (
        len(method.params) <= 1
        and not method.returns_value
        and method.name != "setup"
        and not method.name.startswith("__")
    )


def _traces_only_arrays(root) -> bool:
    """An equinox filter transform, not composed under one that traces everything (``jax.jit``)."""
    return root.transform.arrays_only and (root.under is None or root.under.arrays_only)


def _is_configuration(param: Param) -> bool:
    """``train: bool = False`` on a Module method is configuration, hence static (SPEC §1)."""
    return param.annotation in _STATIC_ANNOTATIONS or param.default in _STATIC_DEFAULTS


def argument_shapes(call: cst.Call) -> tuple[tuple[str | None, str], ...]:
    """How ``call`` passes each argument, for ``bind_arguments``."""
    return tuple((a.keyword.value if a.keyword is not None else None, a.star) for a in call.args)


@functools.cache  # one table per kind, shared by every walker (which only reads it)
def _rules_for(kind: str | None) -> tuple[dict[type, list[Rule]], list[Rule]]:
    """The rules that apply where a function is traced ``kind``-wise (None: untraced): those
    that look at nodes, by node type, and those that look at the whole function."""
    allowed = {EVERYWHERE}
    if kind is not None:
        allowed.add(TRACED)
    if kind == STAGING:
        allowed.add(STAGING_ONLY)
    table: dict[type, list[Rule]] = {}
    whole: list[Rule] = []
    for rule in RULES.values():
        if rule.scope in allowed:
            for node_type in rule.nodes:
                table.setdefault(node_type, []).append(rule)
            if type(rule).check_function is not Rule.check_function:
                whole.append(rule)
    return table, whole


_UNTRACED_RULES = [rule for rule in RULES.values() if rule.scope == EVERYWHERE]


def _deduplicate(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple] = set()
    unique = []
    for finding in findings:
        key = (finding.line, finding.column, finding.code)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


__all__ = ["CallSeed", "ModuleAnalyzer", "TracedContext"]
