"""JP201/JP202: ``x[i] = v`` / ``x[i] op= v`` → ``x = x.at[i].set(v)`` / ``.add(v)`` / ….

JAX arrays are immutable; ``x.at[index]`` is their functional update, and it
takes the same index syntax (``x.at[i, 1:3]``, ``x.at[..., 0]``). In jax
0.10.2 it offers ``set``, ``add``, ``subtract``, ``multiply``, ``divide``,
``power``, ``min``, ``max``, ``apply`` and ``get``; the augmented operators
without a method (``//=``, ``%=``, ``@=``, bitwise, shifts) are refused.

The fix rebinds the name (or attribute) the array was reached through, so it
must already be local to the function: rebinding a global or closed-over name
would make it local for the whole function (``UnboundLocalError``).
"""

from __future__ import annotations

import libcst as cst

from jaxpure.fixes.base import FixContext, Fixer, Refused, Rewrite, source_of
from jaxpure.fixes.bindings import first_parameter, local_names

NODE_TYPES = (cst.Assign, cst.AugAssign)

AT_METHODS: dict[type[cst.BaseAugOp], str] = {
    cst.AddAssign: "add",
    cst.SubtractAssign: "subtract",
    cst.MultiplyAssign: "multiply",
    cst.DivideAssign: "divide",
    cst.PowerAssign: "power",
}
_AT_OPERATORS = (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign, cst.PowerAssign)
_SELF_NAMES = ("self", "cls")


def refusal(node: cst.CSTNode) -> str | None:
    try:
        _parts(node)
    except Refused as error:
        return str(error)
    return None


def _parts(node: cst.CSTNode) -> tuple[cst.Subscript, str]:
    """The subscript target and the ``.at`` method; raises ``Refused`` for any other shape."""
    if isinstance(node, cst.Assign):
        if len(node.targets) != 1:
            raise Refused("a chained assignment (a = x[i] = v): split it first")
        target, method = node.targets[0].target, "set"
    elif isinstance(node, cst.AugAssign):
        target = node.target
        at_method = AT_METHODS.get(type(node.operator))
        if at_method is None:
            op = source_of(node.operator).strip()
            raise Refused(f"x[i] {op} v has no .at[] method; write x = x.at[i].set(x[i] {op[:-1]} v)")
        method = at_method
    else:
        raise Refused("not an assignment")
    if not isinstance(target, cst.Subscript):
        raise Refused("the target is not a single item assignment (several or starred targets)")
    _check_receiver(target.value)
    _check_index(target)
    if isinstance(getattr(node, "value", None), cst.Yield):
        raise Refused("the assigned value is a yield expression")
    return target, method


def _check_receiver(receiver: cst.BaseExpression) -> None:
    root = receiver
    while isinstance(root, cst.Attribute):
        root = root.value
    if isinstance(root, cst.Subscript):
        raise Refused("a nested item assignment (x[i][j] = v): write x = x.at[i, j].set(v) by hand")
    if not isinstance(root, cst.Name):
        raise Refused("the array is not reached through a name (it would be evaluated twice)")
    if root is not receiver and root.value in _SELF_NAMES:
        raise Refused(
            f"{root.value}.attribute[i] = v: rebinding an attribute of {root.value} in a traced method is a "
            "side effect on the object (JP105); compute the new array and return it"
        )


def _check_index(target: cst.Subscript) -> None:
    for element in target.slice:
        if isinstance(element.slice, cst.Index) and _is_mask(element.slice.value):
            raise Refused("a boolean-mask index needs a concrete mask under jit: use x = jnp.where(mask, v, x)")


def _is_mask(index: cst.BaseExpression) -> bool:
    if isinstance(index, cst.Comparison):
        return True
    if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, (cst.BitInvert, cst.Not)):
        return _is_mask(index.expression)
    if isinstance(index, cst.BinaryOperation) and isinstance(index.operator, (cst.BitAnd, cst.BitOr, cst.BitXor)):
        return _is_mask(index.left) or _is_mask(index.right)
    return False


def rewrite(node: cst.CSTNode, context: FixContext) -> Rewrite:
    target, method = _parts(node)
    assert isinstance(node, (cst.Assign, cst.AugAssign))  # _parts refuses anything else
    receiver = target.value
    assert isinstance(receiver, (cst.Name, cst.Attribute))  # _check_receiver refuses anything else
    _check_rebinding_is_local(receiver, context)
    value = node.value
    if isinstance(value, cst.Tuple) and not value.lpar:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])  # x[i] = 1, 2
    at = cst.Subscript(
        value=cst.Attribute(value=receiver.deep_clone(), attr=cst.Name("at")),  # one node, one place
        slice=target.slice,
        lbracket=target.lbracket,
        rbracket=target.rbracket,
    )
    update = cst.Call(func=cst.Attribute(value=at, attr=cst.Name(method)), args=[cst.Arg(value)])
    before, after = _equal_whitespace(node)
    assign = cst.Assign(
        targets=[cst.AssignTarget(target=receiver, whitespace_before_equal=before, whitespace_after_equal=after)],
        value=update,
        semicolon=node.semicolon,
    )
    return Rewrite(node, (assign,))


def _check_rebinding_is_local(receiver: cst.BaseExpression, context: FixContext) -> None:
    if context.function is None:
        raise Refused("not inside a function")
    if isinstance(receiver, cst.Name):
        if receiver.value not in local_names(context.function):
            raise Refused(
                f"{receiver.value} is not local to {context.function.name.value}: rebinding it would make it "
                "local to the whole function"
            )
        return
    root = receiver
    while isinstance(root, cst.Attribute):
        root = root.value
    if context.in_method and isinstance(root, cst.Name) and root.value == first_parameter(context.function):
        raise Refused(
            f"{root.value}.attribute[i] = v: rebinding an attribute of the instance in a traced method is a "
            "side effect on the object (JP105); compute the new array and return it"
        )


def _equal_whitespace(node: cst.Assign | cst.AugAssign) -> tuple[cst.SimpleWhitespace, cst.SimpleWhitespace]:
    if isinstance(node, cst.Assign):
        return node.targets[0].whitespace_before_equal, node.targets[0].whitespace_after_equal
    operator = node.operator
    assert isinstance(operator, _AT_OPERATORS)  # _parts refuses the others
    before, after = operator.whitespace_before, operator.whitespace_after
    # Only whitespace inside brackets can be parenthesized; a statement's operator sits outside any.
    assert isinstance(before, cst.SimpleWhitespace) and isinstance(after, cst.SimpleWhitespace)
    return before, after


FIXER = Fixer(codes=("JP201", "JP202"), node_types=NODE_TYPES, refusal=refusal, rewrite=rewrite)
