"""PRNG key reuse (JP302) and reuse across loop iterations (JP303).

A flow-sensitive walk over one function's statements, in order, that tracks
for every key expression (``key``, ``keys[0]``, ``self.key``) whether it has
already been consumed. Consumers are every ``jax.random`` sampler and
``split``, module functions that consume a key parameter, and any call
jaxpure cannot see into that is handed a key (``env.reset(key)``,
``Block(key=key)``, a jitted callee), as JAX's own checker counts a key
passed to a jitted function; ``fold_in`` derives a new key without
consuming its argument, and so does a function whose body only passes the
key on or folds it in. ``split(seed)[0]`` then ``split(seed)[1]`` take the two children of
one split; a draw made only for ``jax.eval_shape`` is read for its shape alone. A value is a
key where the function makes one
(``key``, ``PRNGKey``, ``split``, ``fold_in``) or hands it to a ``jax.random``
consumer. Exclusive branches start from the same state and merge; a key
consumed inside a loop body that the body never rebinds is consumed again
on the next iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Set
from contextlib import contextmanager
from typing import NamedTuple

import libcst as cst

from jaxpure.analysis import jaxapi
from jaxpure.analysis.cstnodes import JUMPS, constant_truth, names_read
from jaxpure.analysis.cstnodes import code_children as cst_children
from jaxpure.analysis.dataflow import dotted_name, iter_own_nodes

Resolver = Callable[[cst.BaseExpression], "str | None"]
# The arguments a call to a function of the module consumes, each with True where the callee
# surely consumes it (a jax.random consumer) and False where it hands it to a call it cannot
# see into (consumed only if the caller's value is a key); None for a callee it cannot see into.
# ``hands_key``: whether the call is handed a known key (else only sure consumption matters).
ConsumedByCall = Callable[[cst.Call, bool], "list[tuple[cst.BaseExpression, bool]] | None"]

_SECOND_PASS_DEPTH = 2  # loops nested deeper are walked once (each level doubles the walk)
LAX_LOOPS = frozenset({"jax.lax.scan", "jax.lax.fori_loop", "jax.lax.while_loop", "jax.lax.map"})
_AHEAD_OF_TIME = frozenset({"lower", "trace", "eval_shape"})  # ``jax.jit(f).lower(key, x)`` never runs f


REUSE = "reuse"  # a key consumed a second time (JP302)
IN_LOOP = "in-loop"  # a key from outside a loop consumed on every iteration (JP303)


def find_key_reuse(
    body: cst.CSTNode,
    resolve: Resolver,
    consumed_by_call: ConsumedByCall,
    loop_body_names: set[str] | None = None,
    opaque_calls_consume: bool = True,
    loop: str | None = None,
    declared_keys: frozenset[str] = frozenset(),
    fresh_keys: frozenset[str] = frozenset(),
) -> list[tuple[cst.CSTNode, str]]:
    """Each key reuse in ``body``: the consuming node and its kind (``REUSE`` or ``IN_LOOP``).

    ``loop_body_names``: the function is a ``lax`` loop body binding these names; any other key it
    consumes comes from outside and is consumed again on every iteration.
    ``opaque_calls_consume``: False in test code, where handing one key to two calls is how a
    test compares them (jit against eager, one model against another), and drawing twice with
    the same sampler and arguments is how it replays the same data.
    ``loop``: the ``lax`` loop the body belongs to; a consumed key it returns in its carry is
    consumed again on the next iteration.
    ``declared_keys``: parameters annotated as keys (``key: chex.PRNGKey``).
    ``fresh_keys``: attributes that give a new key on every access (a key generator's property)."""
    keys = key_values(body, resolve) | declared_keys if opaque_calls_consume else set()
    walker = _KeyWalker(resolve, consumed_by_call, keys, report=True)
    walker.replays = not opaque_calls_consume
    walker.fresh = fresh_keys
    if loop_body_names is not None:
        walker.loops.append(_Loop(loop_body_names | _bound_names(body), frozenset()))
    walker.carry = _CARRY_RETURNED.get(loop or "")
    walker.block(_statements(body))
    return walker.findings


def consumed_parameters(
    body: cst.CSTNode, params: Iterable[str], resolve: Resolver, consumed_by_call: ConsumedByCall
) -> tuple[set[str], set[str]]:
    """Which of a function's parameters it consumes as keys (for callers' analysis): surely (a
    jax.random consumer), and by handing them to calls it cannot see into (which consume them
    where the caller passes a key)."""
    names = list(params)
    walker = _KeyWalker(resolve, consumed_by_call, key_values(body, resolve) | set(names), report=False)
    walker.block(_statements(body))
    surely = {name for name in names if name in walker.ever_consumed}
    return surely, {name for name in names if name in walker.ever_passed} - surely


def key_values(body: cst.CSTNode, resolve: Resolver) -> set[str]:
    """The key expressions of a body: what it binds from ``key``/``PRNGKey``/``split``/``fold_in``
    (``k1, k2 = split(key)``, ``for k in split(key, n)``) and what it hands to a jax.random consumer."""
    keys: set[str] = set()
    for node in iter_own_nodes(body):
        if type(node) is cst.Assign and _makes_key(node.value, resolve, keys):
            for target in node.targets:
                keys |= target_names(target.target)
        elif (type(node) is cst.For or type(node) is cst.CompFor) and _makes_key(node.iter, resolve, keys):
            keys |= target_names(node.target)
        elif type(node) is cst.Call:
            called = resolve(node.func)
            if called is not None and jaxapi.is_key_consumer(called):
                argument = _key_argument(node)
                identity = _key_identity(argument) if argument is not None else None
                if identity is not None:
                    keys.add(identity)
    return keys


def _makes_key(value: cst.BaseExpression, resolve: Resolver, keys: set[str]) -> bool:
    """A key made here, or (iterated) a key array already known."""
    if isinstance(value, cst.Call):
        return resolve(value.func) in jaxapi.KEY_SOURCES
    return isinstance(value, cst.Name) and value.value in keys


def _is_key(identity: str, keys: set[str]) -> bool:
    """``keys[0]`` is a key where ``keys`` is (the result of a split)."""
    return identity in keys or identity.split("[")[0] in keys


def _opaque_arguments(node: cst.Call, called: str | None) -> list[cst.BaseExpression]:
    """What a call jaxpure cannot see into is handed: its arguments, and the items of a literal
    tuple, list or dict among them (``rngs={"dropout": key}``)."""
    if called is not None and called.startswith(jaxapi.NON_CONSUMING_CALLS):
        return []
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in jaxapi.CONTAINER_MUTATORS:
        return []  # ``keys.append(key)`` stores the key, it draws nothing
    if isinstance(node.func, cst.Attribute) and (
        node.func.attr.value == "lower"  # ``step.lower(key, x)``: only a compiled function has it taking arguments
        or (node.func.attr.value in _AHEAD_OF_TIME and isinstance(node.func.value, cst.Call))
    ):
        return []
    found: list[cst.BaseExpression] = []
    for argument in node.args:
        value = argument.value
        if isinstance(value, cst.Tuple | cst.List):
            found.extend(e.value for e in value.elements)
        elif isinstance(value, cst.Dict):
            found.extend(e.value for e in value.elements if isinstance(e, cst.DictElement))
        else:
            found.append(value)
    return found


def _statements(body: cst.CSTNode) -> list[cst.CSTNode]:
    if isinstance(body, cst.Module):
        return list(body.body)
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    return [body]


class _Loop(NamedTuple):
    bound: Set[str]  # the names its body rebinds, its targets included
    stepped: Set[str]  # of those, the ones only the loop itself steps (``for a in arrays``)


class _KeyWalker:
    def __init__(self, resolve: Resolver, consumed_by_call: ConsumedByCall, keys: set[str], *, report: bool) -> None:
        self.resolve = resolve
        self.consumed_by_call = consumed_by_call
        self.keys = keys  # the expressions known to hold keys (``key_values``)
        self.report = report  # False: only which keys are consumed (``consumed_parameters``)
        self.consumed: dict[str, cst.CSTNode] = {}  # key expression -> where it was consumed
        self.loops: list[_Loop] = []  # the enclosing loops, innermost last
        self.findings: list[tuple[cst.CSTNode, str]] = []
        self.reported_loops: set[tuple[int, str]] = set()
        self.ever_consumed: set[str] = set()
        self.ever_passed: set[str] = set()  # handed to a call jaxpure cannot see into
        self.asking = False  # inside a condition
        self.carry: str | None = None  # in a lax loop body: which part of the return is the carry
        self.rebound: set[str] = set()  # names assigned so far (a parameter no longer holds the argument)
        self.replays = False  # an identical second draw replays the first (test code)
        self.fresh: frozenset[str] = frozenset()  # attributes that give a new key on every access
        # Branch tests around the walk's position, as (identity, holds): ``if not self.fused:``
        # is ("self.fused", False). Two consumptions under opposite tests of one unchanged value
        # never both run.
        self.guards: list[tuple[str, bool]] = []
        self.clock = 0  # counts consumptions and assignments, in walk order
        self.sites: dict[int, tuple[int, frozenset[tuple[str, bool]]]] = {}  # id(call) -> (when, guards)
        self.assigned: dict[str, int] = {}  # identity -> when last assigned
        self.picked: dict[int, str] = {}  # id(split call) -> the literal index taken (``split(seed)[1]``)
        # key identity -> (the split's arguments, the children taken) while its only consumers
        # are indexed splits with those arguments (``split(seed)[0]`` ... ``split(seed)[1]``)
        self.children: dict[str, tuple[list[tuple[str | None, str]], set[str]]] = {}
        self.shapes_only = False  # inside the arguments of an abstract evaluation (``jax.eval_shape``)

    # -- statements ---------------------------------------------------------------

    def block(self, statements: Iterable[cst.CSTNode]) -> bool:
        """Walk statements in order; True when the block always leaves (return, raise, break, continue)."""
        return any(self.statement(statement) for statement in statements)

    def statement(self, node: cst.CSTNode) -> bool:  # one case per statement kind
        if isinstance(node, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            for small in node.body:
                self.small_statement(small)
                if isinstance(small, JUMPS):
                    return True
        elif isinstance(node, cst.If) and (always := constant_truth(node.test)) is not None:
            # ``if False:``: only one branch ever runs
            if always:
                return self.block(_statements(node.body))
            return node.orelse is not None and self.statement(node.orelse)
        elif isinstance(node, cst.If):
            self.condition(node.test)
            before = dict(self.consumed)
            with self.guarded(node.test, True):
                body_leaves = self.block(_statements(node.body))
            after_body = self.consumed
            self.consumed = before
            else_leaves = False
            if node.orelse is not None:
                with self.guarded(node.test, False):
                    if isinstance(node.orelse, cst.If):
                        else_leaves = self.statement(node.orelse)
                    else:
                        else_leaves = self.block(_statements(node.orelse.body))
            if body_leaves and else_leaves:
                return True
            if not body_leaves:  # the state after the if: the branches that fall through, merged
                self.consumed = after_body if else_leaves else {**self.consumed, **after_body}
        elif isinstance(node, cst.Else):
            return self.block(_statements(node.body))
        elif isinstance(node, cst.For | cst.While):
            if isinstance(node, cst.For):
                self.expression(node.iter)
            else:
                self.condition(node.test)
            body_bound = _bound_names(node.body)
            stepped = target_names(node.target) - body_bound if isinstance(node, cst.For) else frozenset()
            if isinstance(node, cst.For):
                self.rebind(node.target)
            self.loops.append(_Loop(body_bound | stepped, stepped))
            self.block(_statements(node.body))
            if self.report and len(self.loops) <= _SECOND_PASS_DEPTH:
                # The next iteration: a key consumed late in one iteration and not re-derived
                # before its next use (``keys = split(keys[1])`` after ``f(keys[1])``) is reused.
                if isinstance(node, cst.For):
                    self.rebind(node.target)
                self.block(_statements(node.body))
            self.loops.pop()
            if node.orelse is not None:
                self.block(_statements(node.orelse.body))
        elif isinstance(node, cst.With):
            for item in node.items:
                self.expression(item.item)
                if item.asname is not None:
                    self.rebind(item.asname.name)
            self.block(_statements(node.body))
        elif isinstance(node, cst.Try | cst.TryStar):
            self.block(_statements(node.body))
            for handler in node.handlers:
                self.block(_statements(handler.body))
            if node.orelse is not None:
                self.block(_statements(node.orelse.body))
            if node.finalbody is not None:
                self.block(_statements(node.finalbody.body))
        elif isinstance(node, cst.Match):
            self.expression(node.subject)
            before = dict(self.consumed)
            merged: dict[str, cst.CSTNode] = {}
            for case in node.cases:
                self.consumed = dict(before)
                self.block(_statements(case.body))
                merged.update(self.consumed)
            self.consumed = {**before, **merged}
        # function and class definitions are analyzed on their own
        return False

    def small_statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Assign):
            self.expression(node.value)
            for target in node.targets:
                self.rebind(target.target)
        elif isinstance(node, cst.AnnAssign | cst.AugAssign):
            if node.value is not None:
                self.expression(node.value)
            self.rebind(node.target)
        elif isinstance(node, cst.Expr | cst.Return):
            if node.value is not None:
                self.expression(node.value)
            if isinstance(node, cst.Return) and node.value is not None and self.carry is not None:
                self.consumed_in_carry(node)
        elif isinstance(node, cst.Assert):
            self.condition(node.test)
        else:
            for child in cst_children(node):
                if isinstance(child, cst.BaseExpression):
                    self.expression(child)

    # -- expressions ---------------------------------------------------------------

    def expression(self, node: cst.CSTNode) -> None:
        if type(node) not in _SPECIAL_EXPRESSIONS:  # the common case, without the isinstance chain below
            for child in cst_children(node):
                self.expression(child)
            return
        if isinstance(node, cst.Lambda | cst.FunctionDef):
            return
        if isinstance(node, cst.IfExp) and (always := constant_truth(node.test)) is not None:
            self.expression(node.body if always else node.orelse)  # ``... if False else None``: one branch runs
            return
        if isinstance(node, cst.IfExp):
            self.condition(node.test)
            before = dict(self.consumed)
            with self.guarded(node.test, True):
                self.expression(node.body)
            after_body = self.consumed
            self.consumed = before
            with self.guarded(node.test, False):
                self.expression(node.orelse)
            self.consumed = {**self.consumed, **after_body}
            return
        if isinstance(node, cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp):
            self.comprehension(node)
            return
        if isinstance(node, cst.NamedExpr):
            self.expression(node.value)
            self.rebind(node.target)
            return
        if isinstance(node, cst.Subscript):
            self.note_child_taken(node)
        elif isinstance(node, cst.Call) and not self.shapes_only and self.evaluates_abstractly(node):
            # ``jax.eval_shape(f, sample(key))`` reads only the sample's shape and dtype: a draw
            # there shares no bits with any value that is used, whatever key it takes.
            self.shapes_only = True
            for child in cst_children(node):
                self.expression(child)
            self.shapes_only = False
            return
        for child in cst_children(node):
            self.expression(child)
        if isinstance(node, cst.Call):
            self.call(node)

    def evaluates_abstractly(self, node: cst.Call) -> bool:
        """``jax.eval_shape(f, ...)`` or ``jax.make_jaxpr(f)(...)``: only shapes and dtypes are read."""
        func = node.func.func if type(node.func) is cst.Call else node.func
        last = func.attr.value if type(func) is cst.Attribute else func.value if type(func) is cst.Name else ""
        return last in _ABSTRACT_NAMES and self.resolve(func) in _ABSTRACT_EVALUATIONS

    def note_child_taken(self, node: cst.Subscript) -> None:
        """``split(seed)[1]``: remember which child of the split is taken."""
        if type(node.value) is cst.Call and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
                self.picked[id(node.value)] = index.value.value

    def other_child_of_same_split(self, key: str, at: cst.Call) -> bool:
        """Whether ``at`` takes a child not yet taken of a split with the same arguments as every
        consumption of ``key`` so far: split is deterministic, so ``split(seed)[0]`` and
        ``split(seed)[1]`` are the two children of one split and no key is used twice (the same
        child again, or a split with another ``num``, whose children overlap, is reuse)."""
        child = self.picked.get(id(at))
        if child is None or self.resolve(at.func) != _SPLIT:
            self.children.pop(key, None)
            return False
        arguments = _draw_arguments(at, None)
        taken = self.children.get(key)
        if taken is not None and key in self.consumed and taken[0] == arguments and child not in taken[1]:
            taken[1].add(child)
            return True
        self.children[key] = (arguments, {child})
        return False

    def consumed_in_carry(self, node: cst.Return) -> None:
        """``return (key, total), a`` after ``uniform(key)`` in a scan body: the next iteration gets a used key."""
        value = node.value
        if value is None:  # the caller only asks about a return with a value
            return
        if self.carry == "first":
            if not isinstance(value, cst.Tuple) or not value.elements:
                return
            value = value.elements[0].value
        if (
            any(identity in self.consumed for identity in _identities(value))
            and self.report
            and (node, IN_LOOP) not in self.findings
        ):
            self.findings.append((node, IN_LOOP))

    def condition(self, node: cst.BaseExpression) -> None:
        """A test (``if is_prng_key(key):``, ``assert ...``): the calls there ask about a key and
        draw nothing, so only jax.random consumers count."""
        saved, self.asking = self.asking, True
        self.expression(node)
        self.asking = saved

    def comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> None:
        bound: set[str] = set()
        comp: cst.CompFor | None = node.for_in
        first = True
        while comp is not None:
            if first:
                self.expression(comp.iter)  # the outermost iterable is evaluated once
            bound |= target_names(comp.target)
            first = False
            comp = comp.inner_for_in
        self.loops.append(_Loop(bound, bound))
        for name in bound:
            self.forget(name)
        inner = node.for_in.inner_for_in
        while inner is not None:
            self.expression(inner.iter)
            inner = inner.inner_for_in
        parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
        for part in parts:
            self.expression(part)
        self.loops.pop()

    def call(self, node: cst.Call) -> None:
        called = self.resolve(node.func)
        if called is not None and jaxapi.is_key_consumer(called):
            key = _key_argument(node)
            if key is not None:
                self.consume(key, node)
        elif called in LAX_LOOPS:
            for argument in node.args:
                if isinstance(argument.value, cst.Lambda):
                    self.lax_loop_lambda(argument.value)
        else:
            opaque = [] if self.asking else _opaque_arguments(node, called)
            hands_key = any((identity := _key_identity(a)) is not None and _is_key(identity, self.keys) for a in opaque)
            passed = self.consumed_by_call(node, hands_key)
            if passed is None:
                passed = [(argument, False) for argument in opaque]
            for handed, surely in passed:
                identity = _key_identity(handed)
                if identity is not None and (surely or _is_key(identity, self.keys)):
                    self.consume(handed, node, surely)

    def lax_loop_lambda(self, node: cst.Lambda) -> None:
        params = {p.name.value for p in node.params.params}
        self.loops.append(_Loop(params, frozenset()))
        saved = self.consumed
        # The lambda's parameters shadow the function's names: ``lambda c, rng: ...`` draws from
        # the per-step key the loop hands it, not from the ``rng`` split outside.
        self.consumed = {key: at for key, at in saved.items() if key.split("[")[0].split(".")[0] not in params}
        self.expression(node.body)
        self.consumed = saved
        self.loops.pop()

    # -- key state ------------------------------------------------------------------

    def consume(self, key_node: cst.BaseExpression, at: cst.Call, surely: bool = True) -> None:
        key = _key_identity(key_node)
        if key is None or key in self.fresh or self.shapes_only:
            return
        head = key.split("[")[0].split(".")[0]
        if head not in self.rebound:  # still the value the function was given
            (self.ever_consumed if surely else self.ever_passed).add(head)
        prefixes = _prefixes(key)
        for depth, loop in enumerate(self.loops):
            if (
                loop.bound.isdisjoint(prefixes)
                and self.report
                and not _same_draw_each_time(at, loop, self.resolve)
                and not self.in_one_iteration(loop)
            ):
                marker = (depth, key)
                if marker not in self.reported_loops:
                    self.reported_loops.add(marker)
                    self.findings.append((at, IN_LOOP))
                self.consumed[key] = at
                return
        sibling = self.other_child_of_same_split(key, at)
        if (
            key in self.consumed
            and not sibling
            and self.report
            and (at, REUSE) not in self.findings
            and not _same_draw(self.consumed[key], at, self.resolve, self.replays)
            and not self.exclusive_with(self.consumed[key])
            and not (self.consumed[key] is at and any(self.in_one_iteration(loop) for loop in self.loops))
        ):  # the last: the walk's pass over the next iteration, which skips a branch for one iteration
            self.findings.append((at, REUSE))
        self.consumed[key] = at
        self.sites[id(at)] = (self.clock, frozenset(self.guards))
        self.clock += 1

    @contextmanager
    def guarded(self, test: cst.BaseExpression, truth: bool) -> Iterator[None]:
        """Walk the branch taken where ``test`` is ``truth``."""
        known = _known_when(test, truth)
        self.guards.extend(known)
        try:
            yield
        finally:
            del self.guards[len(self.guards) - len(known) :]

    def in_one_iteration(self, loop: _Loop) -> bool:
        """Under ``if t == 0:`` where the loop steps ``t``: that branch runs in one iteration only."""
        return any(
            holds and guard.partition(_EQUALS)[0] in loop.stepped for guard, holds in self.guards if _EQUALS in guard
        )

    def exclusive_with(self, earlier: cst.CSTNode) -> bool:
        """Whether the earlier consumption ran under the opposite of a test the walk is under now,
        of a value not assigned since (``if not self.fused: A(key=k)`` ... ``if self.fused:
        B(key=k)``): at most one of the two runs."""
        site = self.sites.get(id(earlier))
        if site is None:
            return False
        when, guards = site
        return any(
            (guard, not holds) in guards
            and all(self.assigned.get(p, -1) < when for p in _prefixes(guard.partition(_EQUALS)[0]))
            for guard, holds in self.guards
        )

    def rebind(self, target: cst.BaseExpression) -> None:
        for name in target_names(target):
            self.forget(name)
            self.rebound.add(name)
            self.assigned[name] = self.clock
        self.clock += 1
        key = _key_identity(target)
        if key is not None:
            self.consumed.pop(key, None)

    def forget(self, name: str) -> None:
        for key in [k for k in self.consumed if k == name or k.startswith((f"{name}[", f"{name}."))]:
            del self.consumed[key]


_SPLIT = "jax.random.split"
_ABSTRACT_EVALUATIONS = frozenset(name for name, transform in jaxapi.TRANSFORMS.items() if transform.abstract)
_ABSTRACT_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in _ABSTRACT_EVALUATIONS)  # a cheap look first


# What a lax loop body returns as its carry: scan returns (carry, y), the others the carry itself.
_CARRY_RETURNED = {"jax.lax.scan": "first", "jax.lax.fori_loop": "whole", "jax.lax.while_loop": "whole"}


# Samplers that draw indices: the population they select from (position, keyword) takes no part
# in the draw beyond its length.
_INDEX_DRAWS = {"jax.random.permutation": (1, "x"), "jax.random.choice": (1, "a")}


def _same_draw(first: cst.CSTNode, second: cst.Call, resolve: Resolver, replays: bool) -> bool:
    """``permutation(key, xs)`` then ``permutation(key, ys)`` (or ``choice`` with the same shape,
    ``replace`` and ``p``): the same indices applied to two arrays, the way paired data is
    shuffled on purpose. With ``replays``, also the very same draw again (identical values).
    Any other argument that differs makes it a second, correlated draw."""
    called = resolve(second.func)
    if not isinstance(first, cst.Call) or resolve(first.func) != called or called is None:
        return False
    population = _INDEX_DRAWS.get(called)
    if population is None and not (replays and jaxapi.is_key_consumer(called)):
        return False
    return _draw_arguments(first, population) == _draw_arguments(second, population)


def _same_draw_each_time(call: cst.Call, loop: _Loop, resolve: Resolver) -> bool:
    """``[jr.permutation(key, a) for a in arrays]``: an index draw of each array the loop steps
    through, whose other arguments do not change with the loop: the same order for every array,
    on purpose (``data = permutation(key, data)`` each epoch is no such loop)."""
    population = _INDEX_DRAWS.get(resolve(call.func) or "")
    if population is None:
        return False
    settings = _draw_settings(call, population)
    drawn_from = [a.value for a in call.args if all(a is not setting for setting in settings)]
    return (
        len(drawn_from) == 1
        and not names_read(drawn_from[0]).isdisjoint(loop.stepped)
        and all(names_read(argument.value).isdisjoint(loop.bound) for argument in settings)
    )


def _draw_arguments(call: cst.Call, population: tuple[int, str] | None) -> list[tuple[str | None, str]]:
    """What a draw is given besides its population, as code: equal lists draw the same values."""
    kept = [
        (argument.keyword.value if argument.keyword is not None else None, _EMPTY_MODULE.code_for_node(argument.value))
        for argument in _draw_settings(call, population)
    ]
    return sorted(kept, key=lambda item: item[0] or "")


def _draw_settings(call: cst.Call, population: tuple[int, str] | None) -> list[cst.Arg]:
    """A draw's arguments but its population (``permutation``'s ``x``, ``choice``'s ``a``)."""
    position, keyword = population or (-1, "")
    return [
        argument
        for index, argument in enumerate(call.args)
        if not (argument.keyword is not None and argument.keyword.value == keyword)
        and not (argument.keyword is None and not argument.star and index == position)
    ]


_EMPTY_MODULE = cst.Module(body=[])


def _identities(value: cst.BaseExpression) -> list[str]:
    """The key spellings in a (nested) tuple or list of values."""
    if isinstance(value, cst.Tuple | cst.List):
        return [identity for element in value.elements for identity in _identities(element.value)]
    identity = _key_identity(value)
    return [identity] if identity is not None else []


def _key_argument(node: cst.Call) -> cst.BaseExpression | None:
    for argument in node.args:
        if argument.keyword is not None and argument.keyword.value == "key":
            return argument.value
    positional = [a for a in node.args if a.keyword is None and not a.star]
    return positional[0].value if positional else None


def _known_when(test: cst.BaseExpression, truth: bool) -> list[tuple[str, bool]]:
    """What a branch test being ``truth`` tells of plain names and attributes: ``not a and b``
    true says ``a`` is false and ``b`` true; false, it says nothing of either."""
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        return _known_when(test.expression, not truth)
    if type(test) is cst.BooleanOperation:
        if (type(test.operator) is cst.And) == truth:  # ``a and b`` true, ``a or b`` false: both
            return _known_when(test.left, truth) + _known_when(test.right, truth)
        return []
    if type(test) is cst.Comparison and len(test.comparisons) == 1:  # ``t == 0``: is ``t`` that constant
        comparison = test.comparisons[0]
        operator, constant = type(comparison.operator), comparison.comparator
        name = dotted_name(test.left)
        if name is not None and operator in (cst.Equal, cst.NotEqual) and isinstance(constant, _CONSTANTS):
            return [(f"{name}{_EQUALS}{constant.value}", truth == (operator is cst.Equal))]
        return []
    identity = dotted_name(test)
    return [(identity, truth)] if identity is not None else []


_EQUALS = " == "  # a guard ``t == 0``: the name, then the constant it equals
_CONSTANTS = (cst.Integer, cst.SimpleString)


def _key_identity(node: cst.BaseExpression) -> str | None:
    """``key``, ``self.key`` or ``keys[0]``; ``None`` when the expression is not a stable name."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        base = dotted_name(node.value)
        index = node.slice[0].slice
        if base and isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
            return f"{base}[{index.value.value}]"
        return None
    return dotted_name(node)


def target_names(target: cst.CSTNode) -> set[str]:
    """What an assignment target binds: names, and the key identities of attributes and items."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        return {name for element in target.elements for name in target_names(element.value)}
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    if isinstance(target, cst.Attribute | cst.Subscript):  # ``self.key, sub = split(self.key)``
        identity = _key_identity(target)
        return {identity} if identity else set()
    return set()


def _prefixes(key: str) -> set[str]:
    """``self.rng.key`` → itself, ``self.rng`` and ``self``; ``keys[0]`` → itself and ``keys``:
    rebinding any of them in a loop re-derives the key."""
    found = {key}
    stem = key.split("[")[0]
    found.add(stem)
    parts = stem.split(".")
    found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return found


# libcst's node classes are final, so a type in these sets is the same test as the isinstance
# chains they guard, at a fraction of the cost (isinstance on libcst's ABC classes is slow).
_SPECIAL_EXPRESSIONS = frozenset(
    {
        cst.Lambda,
        cst.FunctionDef,
        cst.IfExp,
        cst.ListComp,
        cst.SetComp,
        cst.GeneratorExp,
        cst.DictComp,
        cst.NamedExpr,
        cst.Call,
        cst.Subscript,
    }
)
_BINDING_OR_SCOPE = frozenset(
    {
        cst.FunctionDef,
        cst.ClassDef,
        cst.Lambda,
        cst.AssignTarget,
        cst.AugAssign,
        cst.AnnAssign,
        cst.NamedExpr,
        cst.For,
        cst.CompFor,
    }
)


def _bound_names(body: cst.CSTNode) -> set[str]:
    """Names (and dotted attributes) a loop body rebinds anywhere in it."""
    names: set[str] = set()
    stack = [body]
    while stack:
        node = stack.pop()
        if type(node) not in _BINDING_OR_SCOPE:  # most nodes: none of the cases below
            stack.extend(cst_children(node))
            continue
        if isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda):
            continue
        if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.AnnAssign | cst.NamedExpr | cst.For | cst.CompFor):
            names |= target_names(node.target)
        stack.extend(cst_children(node))
    return names
