"""JP401: a Python ``if`` on a traced value → ``jnp.where``.

Only the plain shapes are rewritten, where ``jnp.where`` means the same thing
element by element:

- ``if c: y = a`` / ``else: y = b`` (each branch one or more ``name = expr``
  to the same names) → ``y = jnp.where(c, a, b)``, one line per name;
- ``if c: return a`` / ``else: return b`` → ``return jnp.where(c, a, b)``
  (tuples of the same length element by element:
  ``return jnp.where(c, a1, b1), jnp.where(c, a2, b2)``);
- ``a if c else b`` → ``jnp.where(c, a, b)``;
- ``elif`` chains ending in ``else`` → nested ``jnp.where``; an ``elif`` on a
  traced value under an ``if`` that is not becomes ``else:`` holding the
  ``jnp.where`` (the first branch stays a Python ``if``).

Refused: a missing ``else`` (the other value is not known here), branches
doing anything else, list/dict/set displays (``jnp.where`` would turn them
into one array), a branch reading a name it assigned before, a later output
reading a name an earlier output rebinds, a condition with calls when it
would be evaluated more than once, and (checked in ``rewrite``, which knows
the module's imports) a value calling anything but jax/numpy/math functions
and local arrays' methods: ``jnp.where`` evaluates both values. Comments
inside the ``if`` are kept, on their own lines above the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from jaxpure.analysis.cstnodes import all_nodes, code_children, names_read
from jaxpure.fixes.base import FixContext, Fixer, Refused, Rewrite, dotted, source_of
from jaxpure.fixes.bindings import first_parameter, local_names

NODE_TYPES = (cst.If, cst.IfExp)

_DISPLAYS = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp, cst.GeneratorExp)
_NOT_A_VALUE = (cst.Lambda, cst.Yield, cst.Await, cst.NamedExpr)


@dataclass(frozen=True, slots=True)
class Arm:
    """One branch: the values it gives each output (a name, or a position in a returned tuple)."""

    outputs: tuple[tuple[str | int, cst.BaseExpression], ...]
    statements: tuple[cst.BaseSmallStatement, ...]


@dataclass(frozen=True, slots=True)
class Shape:
    kind: str  # "assign" | "return"
    conditions: tuple[cst.BaseExpression, ...]  # one per if/elif
    arms: tuple[Arm, ...]  # one more than conditions: the else comes last


def refusal(node: cst.CSTNode) -> str | None:
    try:
        if isinstance(node, cst.IfExp):
            _check_values([node.body, node.orelse])
            _check_values([node.test], what="condition")
        else:
            _shape(node)
    except Refused as error:
        return str(error)
    return None


# -- reading the if statement -------------------------------------------------------------------


# The analyzer asks for the refusal of every traced ``elif`` of a chain, and each one's shape
# is the rest of the chain: without a bound, a chain of n traced branches costs n² (1,000
# took 38 s).
_MAX_BRANCHES = 50


def _shape(node: cst.CSTNode) -> Shape:
    if not isinstance(node, cst.If):
        raise Refused("not an if statement")
    conditions, suites = [], []
    current = node
    while True:
        conditions.append(current.test)
        suites.append(current.body)
        if len(conditions) > _MAX_BRANCHES:  # each elif of the chain is read from here on: bounded, not quadratic
            raise Refused(f"more than {_MAX_BRANCHES} branches: that many nested jnp.where read worse than jnp.select")
        if isinstance(current.orelse, cst.If):
            current = current.orelse
        elif isinstance(current.orelse, cst.Else):
            suites.append(current.orelse.body)
            break
        else:
            raise Refused("no else branch: the value when the condition is false is not known here")
    arms = [_arm(suite) for suite in suites]
    kinds = {kind for kind, _ in arms}
    if len(kinds) != 1:
        raise Refused("one branch assigns and another returns")
    kind = kinds.pop()
    shape = Shape(kind, tuple(conditions), tuple(arm for _, arm in arms))
    _check_same_outputs(shape)
    _check_values([value for arm in shape.arms for _, value in arm.outputs])
    _check_values(shape.conditions, what="condition")
    _check_order(shape)
    return shape


def _small_statements(suite: cst.BaseSuite) -> list[cst.BaseSmallStatement]:
    if isinstance(suite, cst.SimpleStatementSuite):
        return list(suite.body)
    smalls: list[cst.BaseSmallStatement] = []
    for statement in suite.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            raise Refused("a branch holds a compound statement; only name = value or return value are rewritten")
        smalls.extend(statement.body)
    return smalls


def _arm(suite: cst.BaseSuite) -> tuple[str, Arm]:
    smalls = _small_statements(suite)
    if len(smalls) == 1 and isinstance(smalls[0], cst.Return):
        value = smalls[0].value
        if value is None:
            raise Refused("a bare return gives no value to choose")
        if isinstance(value, cst.Tuple) and not any(isinstance(e, cst.StarredElement) for e in value.elements):
            outputs = tuple(enumerate(e.value for e in value.elements))
        else:
            outputs = ((0, value),)
        return "return", Arm(outputs, tuple(smalls))
    assigned: list[tuple[str, cst.BaseExpression]] = []
    for small in smalls:
        if not (
            isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        ):
            raise Refused("a branch does more than assign names (name = value) or return a value")
        assigned.append((small.targets[0].target.value, small.value))
    names = [name for name, _ in assigned]
    if len(set(names)) != len(names):
        raise Refused("a branch assigns the same name twice")
    return "assign", Arm(tuple(assigned), tuple(smalls))


def _check_same_outputs(shape: Shape) -> None:
    first = [key for key, _ in shape.arms[0].outputs]
    for arm in shape.arms[1:]:
        keys = [key for key, _ in arm.outputs]
        if set(keys) != set(first) or len(keys) != len(first):
            what = "the same names" if shape.kind == "assign" else "tuples of the same length"
            raise Refused(f"the branches do not all give {what}")
    if shape.kind == "return" and len({_is_tuple_return(arm) for arm in shape.arms}) != 1:
        raise Refused("one branch returns a tuple and another does not")


def _is_tuple_return(arm: Arm) -> bool:
    return isinstance(arm.statements[0], cst.Return) and isinstance(arm.statements[0].value, cst.Tuple)


def _check_values(values, what: str = "value") -> None:
    for value in values:
        if isinstance(value, _DISPLAYS) or (what == "value" and isinstance(value, cst.Tuple)):
            raise Refused(f"a {what} is a list/dict/set/tuple display, which jnp.where would turn into one array")
        if _holds_not_a_value(value):
            raise Refused(f"a {what} holds a lambda, yield, await or := (evaluated when it was not before)")


def _check_order(shape: Shape) -> None:
    """Each output must read the values from before the if, as the branches did."""
    for arm in shape.arms:
        assigned: set[str] = set()
        for key, value in arm.outputs:
            used = names_read(value) & assigned
            if used:
                raise Refused(f"a branch reads {min(used)} after assigning it")
            if isinstance(key, str):
                assigned.add(key)
    order = [key for key, _ in shape.arms[0].outputs]
    rebound: set[str] = set()
    for key in order:
        reads = set().union(
            *(names_read(c) for c in shape.conditions), *(names_read(_value_of(arm, key)) for arm in shape.arms)
        )
        if reads & rebound:
            raise Refused(f"{min(reads & rebound)} would be read after the rewrite already rebound it")
        if isinstance(key, str):
            rebound.add(key)
    if len(order) > 1 and any(_contains(c, (cst.Call, cst.Await, cst.Yield)) for c in shape.conditions):
        raise Refused("the condition has calls and would be evaluated once per output; name it first")


def _value_of(arm: Arm, key: str | int) -> cst.BaseExpression:
    return dict(arm.outputs)[key]


# The analyzer asks ``refusal`` once per finding, and conditional expressions nest: each of
# 1,000 nested ``a if c else (...)`` is a finding, and walking each one's values anew was
# quadratic in the nodes walked (cubic in time: libcst's visitors rebuild every node they
# pass; 1,000 took 36 s). The answer is kept per node instead, by identity (libcst nodes
# hash and compare by identity), which keeps those nodes alive: the memo is emptied when
# it grows past a bound.
_MEMO_LIMIT = 100_000
_HOLDS_NOT_A_VALUE: dict[cst.CSTNode, bool] = {}


def _holds_not_a_value(node: cst.CSTNode) -> bool:
    """Whether ``node`` is or holds a lambda, yield, await or ``:=``: each node looked at once."""
    memo = _HOLDS_NOT_A_VALUE
    if len(memo) > _MEMO_LIMIT:
        memo.clear()
    known = memo.get(node)
    if known is not None:
        return known
    found: dict[cst.CSTNode, bool] = {}
    stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    while stack:  # children before their parent, without recursion (the nesting can be deep)
        current, children_done = stack.pop()
        if children_done:
            found[current] = isinstance(current, _NOT_A_VALUE) or any(
                found[child] if child in found else memo[child] for child in code_children(current)
            )
        elif current not in found and current not in memo:
            stack.append((current, True))
            stack.extend((child, False) for child in code_children(current))
    memo.update(found)
    return found[node]


def _contains(node: cst.CSTNode, types: tuple[type[cst.CSTNode], ...]) -> bool:
    return any(isinstance(current, types) for current in all_nodes(node))


# -- writing the jnp.where version ---------------------------------------------------------------


def rewrite(node: cst.CSTNode, context: FixContext) -> Rewrite:
    jnp, needed = context.names.jax_numpy()
    imports = frozenset({needed}) if needed else frozenset()
    if isinstance(node, cst.IfExp):
        reason = refusal(node)
        if reason:
            raise Refused(reason)
        _check_calls([node.body, node.orelse], context)
        call = _where(jnp, node.test, node.body, node.orelse).with_changes(lpar=node.lpar, rpar=node.rpar)
        return Rewrite(node, (call,), imports)
    shape = _shape(node)
    assert isinstance(node, cst.If)  # _shape refuses anything else
    _check_calls([value for arm in shape.arms for _, value in arm.outputs], context)
    statements = _assignments(shape, jnp) if shape.kind == "assign" else [_return(shape, jnp)]
    if context.is_elif:
        # ``elif c: … else: …`` becomes ``else:`` holding the where; the first if stays as it is.
        statements[0] = statements[0].with_changes(leading_lines=_comment_lines(node))
        return Rewrite(
            node, (cst.Else(body=cst.IndentedBlock(body=statements), leading_lines=node.leading_lines),), imports
        )
    statements[0] = statements[0].with_changes(leading_lines=[*node.leading_lines, *_comment_lines(node)])
    return Rewrite(node, tuple(statements), imports)


# ``jnp.where`` evaluates every branch's value, whichever way the condition goes. A call into
# jax, numpy (not numpy.random) or math computes a value and nothing else; so does a method of
# a local array (``x.sum()``, ``x.at[i].set(v)``). Any other call may raise or act when its
# branch was not taken (numpyro: ``site["fn"].log_prob(value, intermediates)`` only when there
# are intermediates).
_PURE_MODULES = ("jax", "math", "numpy")
_IMPURE_MODULES = ("numpy.random",)
_PURE_BUILTINS = frozenset({"abs"})


def _check_calls(values: list[cst.BaseExpression], context: FixContext) -> None:
    for value in values:
        stack: list[cst.CSTNode] = [value]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Call) and not _computes_only(current.func, context):
                raise Refused(
                    f"a value calls {_callee(current.func)}(...), which jnp.where would run whichever way the"
                    " condition goes"
                )
            stack.extend(code_children(current))


def _computes_only(func: cst.BaseExpression, context: FixContext) -> bool:
    """Whether calling ``func`` only computes a value: a jax/numpy/math function or a local array's method."""
    root, path, through_subscript = func, [], False
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        if isinstance(root, cst.Attribute):
            path.append(root.attr.value)
        elif not (isinstance(root.value, cst.Attribute) and root.value.attr.value == "at"):
            through_subscript = True  # ``site["fn"].log_prob``: an object looked up, not an array method
        root = root.value
    if not isinstance(root, cst.Name):
        return False
    bound = context.names.bindings.get(root.value)
    if bound is not None:  # a module-level name: a function of a module, or something else
        qualified = ".".join([bound, *reversed(path)])
        return not through_subscript and _within(qualified, _PURE_MODULES) and not _within(qualified, _IMPURE_MODULES)
    if not path:  # a builtin, or a function of the module or the enclosing one
        local = local_names(context.function) if context.function is not None else set()
        return root.value in _PURE_BUILTINS and root.value not in local
    if through_subscript:
        return False
    # ``self.helper(x)``: the object's own code
    is_own_method = (
        context.in_method and context.function is not None and root.value == first_parameter(context.function)
    )
    return not is_own_method


def _within(qualified: str, modules: tuple[str, ...]) -> bool:
    return any(qualified == module or qualified.startswith(module + ".") for module in modules)


def _callee(func: cst.BaseExpression) -> str:
    text = source_of(func)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(jnp: str, condition, if_true, if_false) -> cst.Call:
    return cst.Call(func=dotted(f"{jnp}.where"), args=[cst.Arg(condition), cst.Arg(if_true), cst.Arg(if_false)])


def _chain(shape: Shape, key: str | int, jnp: str, first: bool) -> cst.BaseExpression:
    """``where(c1, a1, where(c2, a2, a3))`` for one output."""
    values = [_value_of(arm, key) for arm in shape.arms]
    result = values[-1]
    for condition, value in zip(reversed(shape.conditions), reversed(values[:-1]), strict=True):
        # A node may appear once in a tree: the condition's later uses are copies.
        result = _where(jnp, condition if first else condition.deep_clone(), value, result)
    return result


def _assignments(shape: Shape, jnp: str) -> list[cst.SimpleStatementLine]:
    statements = []
    for index, small in enumerate(shape.arms[0].statements):
        assert isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name)  # an "assign" arm
        name = small.targets[0].target.value
        assign = small.with_changes(
            value=_chain(shape, name, jnp, first=index == 0), semicolon=cst.MaybeSentinel.DEFAULT
        )
        statements.append(cst.SimpleStatementLine(body=[assign]))
    return statements


def _return(shape: Shape, jnp: str) -> cst.SimpleStatementLine:
    returned = shape.arms[0].statements[0]
    assert isinstance(returned, cst.Return)
    if isinstance(returned.value, cst.Tuple):
        elements = [
            element.with_changes(value=_chain(shape, index, jnp, first=index == 0))
            for index, element in enumerate(returned.value.elements)
        ]
        value: cst.BaseExpression = returned.value.with_changes(elements=elements)
    else:
        value = _chain(shape, 0, jnp, first=True)
    return cst.SimpleStatementLine(body=[returned.with_changes(value=value, semicolon=cst.MaybeSentinel.DEFAULT)])


class _Comments(cst.CSTVisitor):
    def __init__(self, skip: set[int]) -> None:
        self.skip = skip
        self.comments: list[str] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        if id(node) not in self.skip:
            self.comments.append(node.value)


def _comment_lines(node: cst.If) -> list[cst.EmptyLine]:
    """Every comment inside the if, in order, as a line of its own (those above it stay as they are)."""
    own = {id(line.comment) for line in node.leading_lines if line.comment is not None}
    collector = _Comments(own)
    node.visit(collector)
    return [cst.EmptyLine(comment=cst.Comment(text)) for text in collector.comments]


FIXER = Fixer(codes=("JP401",), node_types=NODE_TYPES, refusal=refusal, rewrite=rewrite)
