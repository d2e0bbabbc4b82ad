"""What a rule is: a small declarative unit with its code, message, docs and check.

A rule names the libcst node types it looks at and where it applies; the
analyzer walks each function once and hands every node to the rules that
asked for its type, with a ``RuleContext`` that answers "is this traced?".
The class docstring is the rule's documentation, in ruff's sections; its
``Example`` must trigger the rule and its ``Use instead`` must not (tested).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, TypeVar

import libcst as cst

from jaxpure.analysis.contexts import TracedContext
from jaxpure.analysis.dataflow import TracedValues
from jaxpure.analysis.index import ClassInfo, FunctionInfo, ModuleIndex
from jaxpure.analysis.jaxapi import DIFFERENTIATION
from jaxpure.findings import RuleInfo

T = TypeVar("T")

# Where a rule applies (SPEC §2).
STAGING_ONLY = "staging"  # inside staging contexts (jit, vmap, lax bodies, ...)
TRACED = "traced"  # inside any traced context, differentiation included
EVERYWHERE = "everywhere"  # traced or not

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str] = "error"  # "error": crash or silent divergence; "warning": very likely a bug
    message: ClassVar[str]  # one line that names the fix; may hold {placeholders}
    scope: ClassVar[str] = STAGING_ONLY
    nodes: ClassVar[tuple[type, ...]] = ()  # libcst node types handed to ``check``
    fixable: ClassVar[bool] = False  # a codemod exists (jaxpure.fixes)
    # The JAX error (``jaxapi.TRACER_ERROR_CATCHERS``) the flagged operation raises on a tracer, where
    # it raises one: inside a ``try`` whose handler catches it, a tracer takes the handler's path.
    raises_on_tracer: ClassVar[str | None] = None

    def check(self, node: Any, ctx: RuleContext) -> None:  # Any: each rule takes the node types it names
        """Look at one node; call ``ctx.report(node, self)`` for a finding."""

    def check_function(self, body: cst.CSTNode, definition: cst.FunctionDef | None, ctx: RuleContext) -> None:
        """Look at a whole function once its nodes are walked: for rules that follow its statements
        in order (key reuse) or look at its signature (``definition``; None for module-level code)."""

    def looks_untraced(self, function: FunctionInfo, path: str) -> bool:
        """Whether this rule, applying everywhere, may find something in ``function`` (of the file
        ``path``) when nothing traces it: the analyzer parses an untraced function only if some
        rule says so."""
        return bool(self.nodes) or type(self).check_function is not Rule.check_function

    @classmethod
    def summary(cls) -> str:
        return documentation(cls).strip().splitlines()[0]

    @classmethod
    def info(cls) -> RuleInfo:
        """The rule's metadata as output formats show it."""
        return RuleInfo(cls.code, cls.name, cls.severity, cls.summary(), cls.message, documentation(cls))

    @classmethod
    def format_message(cls, **details: str) -> str:
        return cls.message.format(**details) if details else cls.message


class WalkerView(Protocol):
    """What ``RuleContext`` reads of the walker that runs the rules over one function.

    The walker (``jaxpure.analysis.analyzer.FunctionWalker``) fills these while it
    walks; rules never see it, only the questions ``RuleContext`` answers.
    """

    info: FunctionInfo | None  # None: module-level code
    context: TracedContext | None  # None: not traced
    class_info: ClassInfo | None
    values: TracedValues
    parents: dict[cst.CSTNode, cst.CSTNode]
    locals: set[str]
    params: set[str]
    variadic_params: set[str]  # ``*args``, ``**kwargs``
    rebound_names: set[str]
    rebound_params: set[str]
    references: frozenset[str]  # names holding a Pallas kernel's refs
    self_name: str | None
    python_containers: set[str]
    container_only: set[str]
    array_bound: set[str]
    trace_time_nodes: frozenset[int]
    optional_names: set[str]
    container_params: set[str]
    tuple_params: set[str]
    rng_names: set[str]
    boolean_masks: set[str]
    binding_sources: dict[str, cst.BaseExpression]
    iterated_sources: dict[str, list[cst.BaseExpression]]
    reported_keys: set[tuple]
    memo: dict[str, object]

    @property
    def module(self) -> _ModuleView: ...  # read-only here, so the walker's ModuleAnalyzer fits

    def resolve(self, node: cst.BaseExpression) -> str | None: ...

    def is_pytree_part(self, node: cst.BaseExpression) -> bool: ...

    def builds_container(self, node: cst.BaseExpression) -> bool: ...

    @property
    def segment(self) -> _SegmentView: ...

    def lax_loop(self) -> str | None: ...

    def decided(self, test: cst.BaseExpression) -> bool | None: ...

    def enclosing_binding(self, name: str) -> FunctionInfo | None: ...

    def key_arguments_consumed(
        self, node: cst.Call, hands_key: bool = True
    ) -> list[tuple[cst.BaseExpression, bool]] | None: ...

    def report(self, node: cst.CSTNode, rule: type[Rule] | Rule, details: dict[str, str]) -> None: ...


class _ModuleView(Protocol):
    index: ModuleIndex
    path: str
    contexts: dict[str, TracedContext]

    @property
    def results(self) -> Mapping[str, _FunctionResultView]: ...


class _FunctionResultView(Protocol):
    references: frozenset[str]


class _SegmentView(Protocol):
    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]: ...


class RuleContext:
    """What a rule may ask about the node it is looking at."""

    def __init__(self, walker: WalkerView) -> None:
        self._walker = walker

    # the function and how it is traced
    @property
    def kind(self) -> str | None:
        return self._walker.context.kind if self._walker.context else None

    @property
    def called_in_trace(self) -> bool:
        """A framework Module's method: whoever calls it (its class, its user's function under
        ``jit``) runs inside the same trace, so its arguments are the caller's own objects."""
        return bool(self._walker.context and self._walker.context.module_entry)

    def receives_copy(self, name: str) -> bool:
        """Whether the parameter arrives as a copy the transform rebuilt from its leaves: every
        argument of the function a staging transform is applied to, the differentiated ones
        under ``grad``. Callees, and ``grad``'s other arguments, get the caller's object."""
        context, info = self._walker.context, self._walker.info
        if context is None or info is None or context.root != info.qualname:
            return False
        return context.kind != DIFFERENTIATION or self.is_differentiated(name)

    def fresh_argument(self, name: str) -> bool:
        """A parameter every call fills with a container its caller built inside the same trace."""
        return bool(self._walker.context and name in self._walker.context.fresh_params)

    @property
    def fresh_self(self) -> bool:
        """A method only ever called on an object built inside the same trace."""
        return bool(self._walker.context and self._walker.context.fresh_self)

    @property
    def abstract(self) -> bool:
        """Reached only under eval_shape/make_jaxpr: traced for shapes, never run on values."""
        return bool(self._walker.context and self._walker.context.abstract)

    @property
    def function(self) -> FunctionInfo | None:
        return self._walker.info

    @property
    def module_class(self) -> ClassInfo | None:
        return self._walker.class_info

    @property
    def index(self) -> ModuleIndex:
        return self._walker.module.index

    # values
    def traced(self, node: cst.BaseExpression | None) -> bool:
        """Whether ``node`` holds a tracer by evidence: a finding never rests on a guess about an
        attribute of an object whose structure is not in sight (``TracedValues.evidently_traced``)."""
        return self._walker.values.evidently_traced(node)

    def qualified(self, node: cst.BaseExpression) -> str | None:
        return self._walker.resolve(node)

    def truth_traced(self, node: cst.BaseExpression | None) -> bool:
        """Whether ``bool(node)`` needs a tracer's value: a traced expression that is not a
        Python container holding tracers (``if not masks:``, ``if not args:`` on ``*args``, whose
        truth is its length) or an nnx Variable box (``if self.scale:``)."""
        if node is None or not self.traced(node):
            return False
        if isinstance(
            node,
            cst.List | cst.Tuple | cst.Dict | cst.Set | cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp,
        ):
            return False
        walker = self._walker
        if walker.builds_container(node):
            return False  # ``if jax.tree.leaves(state):``: a list, its truth is its length
        if isinstance(node, cst.Name) and (
            node.value in walker.container_only
            or node.value in walker.optional_names
            or (
                (
                    node.value in walker.variadic_params
                    or node.value in walker.container_params
                    or node.value in walker.tuple_params
                    or self.fresh_argument(node.value)
                )
                and node.value not in walker.rebound_names
            )
        ):
            # ``if not args:`` on ``*args``, ``if weights:`` on a ``Mapping`` or a ``tuple``, ``if pairs:`` where every
            # call hands a list it builds: its truth is its length
            return False
        if walker.is_pytree_part(node):  # ``if state.dynamic_scale:``: is it there, not an array's truth
            return False
        return not walker.values.is_variable_box(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._walker.parents.get(node)

    def decided(self, test: cst.BaseExpression) -> bool | None:
        """What a condition always is where it stands (``False``, ``not JAX_MODE`` in a module that
        sets it False, a false default no call overrides); None: it varies."""
        return self._walker.decided(test)

    def in_compile_time_eval(self, node: cst.CSTNode) -> bool:
        """Inside ``with jax.ensure_compile_time_eval():`` (trace-time work, on purpose)."""
        return id(node) in self._walker.trace_time_nodes

    def function_body(self, node: cst.CSTNode) -> cst.CSTNode:
        """The body the walk started from: the enclosing function's (or the module code's)."""
        body, parent = node, self.parent(node)
        while parent is not None and not isinstance(parent, cst.FunctionDef):
            body, parent = parent, self.parent(parent)
        return body

    def is_local(self, name: str) -> bool:
        return name in self._walker.locals

    def is_param(self, name: str) -> bool:
        """A parameter that holds the caller's object: ``*args`` and ``**kwargs`` are built afresh per call."""
        return name in self._walker.params and name not in self._walker.variadic_params

    @property
    def rebound_params(self) -> set[str]:
        return self._walker.rebound_params

    def is_differentiated(self, name: str) -> bool:
        return name in self._walker.values.names and name in self._walker.params

    def is_self(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Name) and node.value == self._walker.self_name

    def is_traced_name(self, name: str) -> bool:
        return name in self._walker.values.names

    def is_traced_function(self, qualname: str) -> bool:
        return qualname in self._walker.module.contexts

    def is_transformed_function(self, qualname: str) -> bool:
        """Handed to (or decorated by) a transform: traced on its own, not only inside its callers."""
        return any(root.function == qualname for root in self.index.roots)

    def fresh_keys(self) -> frozenset[str]:
        """``self.rng_key``, ``rng.next_key``: attributes of this method's object, or of a module-level
        instance, that are properties returning a new key on every access (a key generator)."""
        found = set()
        walker = self._walker
        if walker.class_info is not None and walker.self_name:
            found |= {f"{walker.self_name}.{name}" for name in self._fresh_keys_of(walker.class_info)}
        index = self.index
        for instance, called in index.module_instances.items():
            cls = index.classes.get(called) or index.project_classes.get(called)
            if cls is not None and instance not in walker.locals:
                found |= {f"{instance}.{name}" for name in self._fresh_keys_of(cls)}
        return frozenset(found)

    def _fresh_keys_of(self, cls: ClassInfo) -> set[str]:
        """A class's key-generating properties, its own and those of its bases."""
        index = self.index
        found = set(cls.fresh_keys)
        for base in (*cls.local_bases, *cls.bases):
            known = index.classes.get(base) or index.project_classes.get(base)
            if known is not None and known is not cls:
                found |= known.fresh_keys
        return found

    def is_reference(self, name: str) -> bool:
        """A mutable reference of code reached only from Pallas kernels (a kernel's parameter, here or
        in the kernel around a nested loop body): ``o_ref[i] = v`` is a write JAX stages."""
        walker = self._walker
        if name in walker.locals:
            return name in walker.references
        owner = self.enclosing_binding(name)
        if owner is None:
            return False
        context = walker.module.contexts.get(owner.qualname)
        if context is None or not context.on_references:
            return False
        result = walker.module.results.get(owner.qualname)
        return name in result.references if result is not None else any(p.name == name for p in owner.params)

    def enclosing_binding(self, name: str) -> FunctionInfo | None:
        """The innermost enclosing function whose local ``name`` is (a closure variable's owner)."""
        return self._walker.enclosing_binding(name)

    def python_container(self, name: str) -> bool:
        """A local or module-level name evidently bound to a Python list, tuple or dict."""
        if name in self._walker.python_containers:
            return True
        if self.is_local(name):
            return False
        enclosing = self.enclosing_binding(name)
        if enclosing is not None:
            return enclosing.local_values.get(name) in ("list", "dict")
        return self.index.module_values.get(name) in ("list", "dict")

    def bound_to_array(self, name: str) -> bool:
        """A local that some assignment binds to a JAX array (``vals = jnp.concatenate(vals)``)."""
        return name in self._walker.array_bound

    def python_dict(self, name: str) -> bool:
        """A local or module-level name evidently bound to a Python dict (of ``python_container``'s)."""
        if name in self._walker.values.dict_names:
            return True
        if self.is_local(name):
            return False
        enclosing = self.enclosing_binding(name)
        if enclosing is not None:
            return enclosing.local_values.get(name) == "dict"
        return self.index.module_values.get(name) == "dict"

    def stateful_rng(self, name: str) -> bool:
        """A name bound to ``np.random.default_rng(...)``, ``RandomState`` or ``random.Random``."""
        if name in self._walker.rng_names:
            return True
        return not self.is_local(name) and self.index.module_values.get(name) == "rng"

    def container_param(self, name: str) -> bool:
        """A parameter that is evidently the caller's dict/list (and still is: not rebound to a copy)."""
        return name in self._walker.container_params and name not in self._walker.rebound_params

    def binding(self, name: str) -> cst.BaseExpression | None:
        """The value first bound to a local name, if any."""
        return self._walker.binding_sources.get(name)

    def sources(self, name: str) -> list[cst.BaseExpression]:
        """Every value a local name is bound to or takes the elements of (``for name in names``)."""
        first = self._walker.binding_sources.get(name)
        return [*([first] if first is not None else []), *self._walker.iterated_sources.get(name, ())]

    def bound_call(self, name: str) -> str | None:
        """The qualified function whose result a local name holds (``fh = open(...)`` → builtins.open)."""
        source = self._walker.binding_sources.get(name)
        return self.qualified(source.func) if isinstance(source, cst.Call) else None

    def is_boolean_mask(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Comparison | cst.UnaryOperation) and self.traced(node):
            return not isinstance(node, cst.UnaryOperation) or isinstance(node.operator, cst.BitInvert)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitAnd | cst.BitOr | cst.BitXor):
            return self.is_boolean_mask(node.left) or self.is_boolean_mask(node.right)
        return isinstance(node, cst.Name) and node.value in self._walker.boolean_masks

    def report(self, node: cst.CSTNode, rule: type[Rule] | Rule, **details: str) -> None:
        self._walker.report(node, rule, details)

    @property
    def static_params(self) -> frozenset[str]:
        """The parameters the transform marks static (``static_argnums``/``static_argnames``)."""
        return self._walker.context.static_params if self._walker.context else frozenset()

    @property
    def local_names(self) -> set[str]:
        return self._walker.locals

    @property
    def lax_loop(self) -> str | None:
        """The ``lax`` loop (``jax.lax.scan``, ...) whose body the function is, if it is one."""
        return self._walker.lax_loop()

    @property
    def transform(self) -> str | None:
        """The transform the function is traced under (the root's)."""
        return self._walker.context.transform if self._walker.context else None

    @property
    def caches_traces(self) -> bool:
        """Whether a trace of the function is kept and reused by later calls: under a compiling
        transform (``jit``, a ``lax`` loop body, ``checkpoint``), or as a framework Module's
        method, written to run under its users' ``jit``. ``vmap`` and ``grad`` alone trace again
        on every call (measured: a global changed between two calls is read anew)."""
        context = self._walker.context
        return context is not None and (context.compiling or context.module_entry)

    @property
    def path(self) -> str:
        """The file being analyzed, as given."""
        return self._walker.module.path

    def line(self, node: cst.CSTNode) -> int:
        """The line in the file where ``node`` starts."""
        return self._walker.segment.span(node)[0]

    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """Where ``node`` starts and ends in the file: (line, column, end line, end column)."""
        return self._walker.segment.span(node)

    def key_arguments_consumed(
        self, node: cst.Call, hands_key: bool = True
    ) -> list[tuple[cst.BaseExpression, bool]] | None:
        """The arguments a call to a function (or class) of this module consumes as keys, each with
        whether surely; None where jaxpure cannot see into the callee."""
        return self._walker.key_arguments_consumed(node, hands_key)

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per function: for work several rules share (one key-reuse walk)."""
        if name not in self._walker.memo:
            self._walker.memo[name] = compute()
        return self._walker.memo[name]  # type: ignore[return-value]

    def first_time(self, key: tuple) -> bool:
        """True once per key and function: for rules that report a name once, not every use."""
        seen = self._walker.reported_keys
        if key in seen:
            return False
        seen.add(key)
        return True


def documentation(rule: type[Rule]) -> str:
    return inspect.cleandoc(rule.__doc__ or "")


def doc_sections(rule: type[Rule]) -> dict[str, str]:
    """``## Heading`` → text, for the docs test and ``jaxpure rule CODE``."""
    text = documentation(rule)
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def code_blocks(text: str) -> list[str]:
    return [block.strip("\n") + "\n" for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)]
