"""JP101: ``print(...)`` in a traced function → ``jax.debug.print(...)``.

``print`` runs once, at trace time, and shows tracers; ``jax.debug.print``
runs every call and shows values. The values must reach it as arguments, not
be formatted before it runs: ``print(f"loss {loss:.3f}")`` becomes
``jax.debug.print("loss {:.3f}", loss)``, and ``print("step", i, x, sep=", ")``
becomes ``jax.debug.print("step, {}, {}", i, x)``. Text built before the
call (``str(x)``, ``"x={}".format(x)``, ``"x=" + str(x)``) is taken apart the
same way; ``%``-formatting is refused. So is a print under a transform that
never runs the callback (``eval_shape``, ``make_jaxpr``) or cannot serialize
it (``jax.export``).

jax.debug.print (0.10) has two quirks the rewrite works around:

- it formats only when the *first* piece of the format string is a
  placeholder or plain text (``string.Formatter().parse``'s first item has a
  field); otherwise it prints the format string verbatim, escaped braces and
  all. So literal text with braces is escaped ``{{`` only when that first
  piece is safe; otherwise it is passed as a (static) string argument:
  ``print("{a}")`` → ``jax.debug.print("{}", "{a}")``.
- it passes non-array arguments through unchanged, but rebuilds tuples of
  Python ints as tuples of arrays; ``x.shape`` is therefore printed through
  ``str(x.shape)`` so it reads as ``(3,)``, as ``print`` showed it.
"""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass

import libcst as cst

from jaxpure.analysis.jaxapi import TRANSFORMS
from jaxpure.fixes.base import FixContext, Fixer, Refused, Rewrite, dotted, source_of

NODE_TYPES = (cst.Call,)
_CONVERSION_FUNCTIONS = {"r": "repr", "s": "str", "a": "ascii"}


@dataclass(frozen=True, slots=True)
class Text:
    value: str  # the text itself, braces not escaped


@dataclass(frozen=True, slots=True)
class Field:
    value: cst.BaseExpression
    conversion: str | None = None  # "r", "s", "a"
    spec: tuple[Text | Field, ...] | None = None  # the format spec after ``:``, if any


Segment = Text | Field


# -- the node-local check -----------------------------------------------------------------------


def refusal(node: cst.CSTNode) -> str | None:
    try:
        _print_segments(node)
    except Refused as error:
        return str(error)
    return None


def _print_segments(node: cst.CSTNode) -> list[Segment]:
    """What ``print`` would write, as text and values; raises ``Refused`` when it cannot be carried over."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "print"):
        raise Refused("not a call of the builtin print")
    positional = []
    sep = " "
    for arg in node.args:
        if arg.star:
            raise Refused(f"print({arg.star}...): the values printed are not known statically")
        if arg.keyword is None:
            positional.append(arg.value)
        elif arg.keyword.value == "sep":
            sep = _literal_or_default(arg.value, " ", "sep")
        else:
            _check_droppable_keyword(arg.keyword.value, arg.value)
    segments: list[Segment] = []
    for index, value in enumerate(positional):
        if index:
            segments.append(Text(sep))
        segments.extend(_value_segments(value))
    return segments


def _literal_or_default(value: cst.BaseExpression, default: str, keyword: str) -> str:
    if isinstance(value, cst.Name) and value.value == "None":
        return default
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    raise Refused(f"{keyword}= is not a string literal, so the format string cannot be built")


def _check_droppable_keyword(keyword: str, value: cst.BaseExpression) -> None:
    """``end``, ``file`` and ``flush`` survive only when they mean what jax.debug.print does anyway."""
    if keyword == "end":
        if _literal_or_default(value, "\n", "end") != "\n":
            raise Refused("end= other than a newline: jax.debug.print always ends the line")
    elif keyword == "file":
        if not (isinstance(value, cst.Name) and value.value == "None"):
            raise Refused("file=: jax.debug.print always writes to standard output")
    elif keyword == "flush":
        if not (isinstance(value, cst.Name) and value.value in ("False", "None")):
            raise Refused("flush=: jax.debug.print cannot flush its output")
    else:
        raise Refused(f"print() has no keyword {keyword}=")


def _value_segments(value: cst.BaseExpression) -> list[Segment]:
    if _is_bytes(value):
        return [Field(value)]  # print shows a bytes literal's repr; so does "{}"
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        assert isinstance(text, str)  # a bytes literal is a Field, above
        return [Text(text)]
    if isinstance(value, cst.FormattedString):
        return _fstring_segments(value)
    if isinstance(value, cst.ConcatenatedString):
        return _value_segments(value.left) + _value_segments(value.right)
    return _text_segments(value) or [_field(value, None, None)]


def _text_segments(value: cst.BaseExpression) -> list[Segment] | None:
    """What an expression that turns values into text would show, with the values as fields.

    ``str(x)``, ``repr(x)``, ``"x={}".format(x)`` and ``"x=" + str(x)`` format
    ``x`` when ``print`` is called; passed to jax.debug.print as they are, they
    would show the tracer on every call. ``None``: not such an expression.
    """
    if isinstance(value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return None if _is_bytes(value) else _value_segments(value)
    if isinstance(value, cst.Call):
        return _conversion_call_segments(value) or _format_call_segments(value)
    if isinstance(value, cst.BinaryOperation):
        if isinstance(value.operator, cst.Modulo) and _text_segments(value.left) is not None:
            raise Refused("%-formatting turns the values into text before jax.debug.print runs; use an f-string")
        if isinstance(value.operator, cst.Add):
            left, right = _text_segments(value.left), _text_segments(value.right)
            if left is None and right is None:
                return None  # numbers, arrays, or strings jaxpure cannot tell apart from them
            # One side is text, so both are: str.format shows a str as it is.
            return (left or [_field(value.left, None, None)]) + (right or [_field(value.right, None, None)])
    return None


def _conversion_call_segments(call: cst.Call) -> list[Segment] | None:
    """``str(x)`` → the field ``{!s}`` of ``x`` (``repr`` → ``{!r}``, ``ascii`` → ``{!a}``)."""
    if not (isinstance(call.func, cst.Name) and call.func.value in _CONVERSION_FUNCTIONS.values()):
        return None
    if len(call.args) != 1 or call.args[0].star or call.args[0].keyword is not None:
        return None
    conversion = next(c for c, name in _CONVERSION_FUNCTIONS.items() if name == call.func.value)
    return [_field(call.args[0].value, conversion, None)]


def _format_call_segments(call: cst.Call) -> list[Segment] | None:
    """``"a {} b {:.2f}".format(x, y)`` → text and fields, as an f-string would give them."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "format"):
        return None
    receiver = func.value
    if not isinstance(receiver, (cst.SimpleString, cst.ConcatenatedString)) or _is_bytes(receiver):
        return None
    template = receiver.evaluated_value
    if not isinstance(template, str):
        return None  # a concatenation with an f-string in it
    if any(arg.star or arg.keyword is not None for arg in call.args):
        raise Refused("str.format() with keyword or unpacked arguments: the fields cannot be matched to values")
    values = [arg.value for arg in call.args]
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise Refused(f"a str.format() template that does not parse: {error}") from error
    segments: list[Segment] = []
    for text, name, spec, conversion in parsed:
        if text and segments and isinstance(segments[-1], Text):
            segments[-1] = Text(segments[-1].value + text)  # "{{" ends a piece of its own
        elif text:
            segments.append(Text(text))
        if name is None:
            continue
        if name != "":
            raise Refused("a numbered or named str.format() field ({0}, {name}): write an f-string")
        if spec and _has_brace(spec):
            raise Refused("a str.format() field with a nested spec")
        index = sum(isinstance(s, Field) for s in segments)
        if index >= len(values):
            raise Refused("str.format() has fewer arguments than fields")
        segments.append(_field(values[index], conversion, (Text(spec),) if spec else None))
    if sum(isinstance(s, Field) for s in segments) != len(values):
        raise Refused("str.format() has more arguments than fields")
    return segments


def _is_bytes(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.SimpleString):
        return "b" in value.prefix.lower()
    if isinstance(value, cst.ConcatenatedString):
        return _is_bytes(value.left)
    return False


def _fstring_segments(node: cst.FormattedString) -> list[Segment]:
    segments: list[Segment] = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            segments.append(Text(_fstring_text(node, part.value)))
            continue
        assert isinstance(part, cst.FormattedStringExpression)  # the other kind of f-string part
        if part.equal is not None:
            # ``{x=}`` prints the expression's own text, then its repr unless told otherwise.
            segments.append(Text(_self_documenting_text(part)))
        conversion = part.conversion
        if part.equal is not None and conversion is None and part.format_spec is None:
            conversion = "r"
        spec = None if part.format_spec is None else _spec_segments(node, part.format_spec)
        segments.append(_field(part.expression, conversion, spec))
    return segments


def _fstring_text(node: cst.FormattedString, source: str) -> str:
    """The text an f-string piece stands for (``{{`` is one brace)."""
    prefix = node.prefix.lower().replace("f", "")
    try:
        value = ast.literal_eval(f"{prefix}{node.quote}{source}{node.quote}")
    except (SyntaxError, ValueError) as error:
        raise Refused(f"an f-string piece that cannot be read on its own: {error}") from error
    return value.replace("{{", "{").replace("}}", "}")


def _self_documenting_text(part: cst.FormattedStringExpression) -> str:
    assert part.equal is not None  # only ``{x=}`` documents itself
    pieces = [part.whitespace_before_expression, part.expression, part.whitespace_after_expression, part.equal]
    return "".join(source_of(piece) for piece in pieces)


def _spec_segments(node: cst.FormattedString, spec) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for part in spec:
        if isinstance(part, cst.FormattedStringText):
            text = _fstring_text(node, part.value)
            if "{" in text or "}" in text:
                raise Refused("a format spec with literal braces")
            segments.append(Text(text))
        elif part.conversion or part.format_spec or part.equal:
            raise Refused("a nested format field with its own conversion or spec")
        else:
            segments.append(_field(part.expression, None, None))
    return tuple(segments)


def _field(value: cst.BaseExpression, conversion: str | None, spec: tuple[Segment, ...] | None) -> Field:
    if _is_shape(value):
        if spec:
            raise Refused("a format spec applied to .shape (a tuple)")
        # Pass the text print would have shown: jax.debug.print turns the ints into arrays.
        function = _CONVERSION_FUNCTIONS[conversion or "s"]
        return Field(cst.Call(func=cst.Name(function), args=[cst.Arg(value)]))
    return Field(value, conversion, spec)


def _is_shape(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Attribute) and value.attr.value == "shape"


# -- building the format string -----------------------------------------------------------------


def format_string(segments: list[Segment], quote: str = '"') -> tuple[str, list[cst.BaseExpression]]:
    """The ``jax.debug.print`` format string and its arguments, in order."""
    fmt, values = _render(segments)
    if not _jax_will_format(fmt, bool(values)):
        # Route literal braces through string arguments: no escapes, so jax formats it.
        routed = [
            Field(cst.SimpleString(_quoted(s.value, quote))) if isinstance(s, Text) and _has_brace(s.value) else s
            for s in segments
        ]
        fmt, values = _render(routed)
    return fmt, values


def _render(segments) -> tuple[str, list[cst.BaseExpression]]:
    pieces: list[str] = []
    values: list[cst.BaseExpression] = []
    for segment in segments:
        if isinstance(segment, Text):
            pieces.append(segment.value.replace("{", "{{").replace("}", "}}"))
            continue
        values.append(segment.value)
        field = "{" + (f"!{segment.conversion}" if segment.conversion else "")
        if segment.spec is not None:
            spec, spec_values = _render_spec(segment.spec)
            field += ":" + spec
            values.extend(spec_values)
        pieces.append(field + "}")
    return "".join(pieces), values


def _render_spec(spec: tuple[Segment, ...]) -> tuple[str, list[cst.BaseExpression]]:
    text = "".join(s.value if isinstance(s, Text) else "{}" for s in spec)
    return text, [s.value for s in spec if isinstance(s, Field)]


def _has_brace(text: str) -> bool:
    return "{" in text or "}" in text


def _jax_will_format(fmt: str, has_values: bool) -> bool:
    """Whether jax.debug.print prints ``fmt`` as ``str.format`` would (see the module docstring)."""
    first = next(iter(string.Formatter().parse(fmt)), None)
    if first is None:
        return True  # empty string
    if first[1] is not None:
        return True
    return not has_values and not _has_brace(fmt)


def _quoted(value: str, quote: str = '"') -> str:
    """A string literal for ``value``: printable characters as they are, the rest escaped."""
    out = []
    for char in value:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return quote + "".join(out) + quote


# -- the rewrite ---------------------------------------------------------------------------------


def rewrite(node: cst.CSTNode, context: FixContext) -> Rewrite:
    segments = _print_segments(node)
    assert isinstance(node, cst.Call)
    quote = _preferred_quote(node)
    fmt, values = format_string(segments, quote)
    literal = _format_literal(node, fmt) or cst.SimpleString(_quoted(fmt, quote))
    function, needed = context.names.jax_debug_print()
    call = node.with_changes(func=dotted(function), args=_arguments(node, [literal, *values]))
    return Rewrite(node, (call,), frozenset({needed}) if needed else frozenset())


# Transforms that trace the function to serialize it: jax.export (and jax2tf, built on it)
# cannot serialize a host callback, so jax.debug.print would make the export itself fail
# ("serialization of host_callbacks is not yet implemented", jax 0.10.2).
_SERIALIZING = frozenset({"jax.export.export", "jax.experimental.export.export", "jax.experimental.jax2tf.convert"})


def transform_refusal(transform: str | None) -> str | None:
    """Why jax.debug.print could not do what ``print`` did under ``transform``; None: it can.

    Under ``eval_shape``/``make_jaxpr`` the body is traced and never run: the
    trace-time ``print`` is the only output there is, and ``jax.debug.print``
    would print nothing at all. (A function also reached from ``jit`` can be
    listed under either transform: refusing it is the cautious side.)
    """
    if transform is None:
        return None
    known = TRANSFORMS.get(transform)
    if known is not None and known.abstract:
        return f"under {transform} the function is traced, never run: jax.debug.print would never print"
    if transform in _SERIALIZING:
        return f"{transform} cannot serialize the host callback jax.debug.print stages"
    return None


def _format_literal(node: cst.Call, fmt: str) -> cst.SimpleString | None:
    """The user's own literal, kept as written when the print had just one and it can serve."""
    positional = [arg.value for arg in node.args if arg.keyword is None]
    if len(positional) != 1:
        return None
    only = positional[0]
    if isinstance(only, cst.SimpleString) and only.evaluated_value == fmt:
        return only
    if isinstance(only, cst.FormattedString) and not any(part.equal for part in _expressions(only)):
        text = only.start.replace("f", "").replace("F", "") + "".join(_part_source(p) for p in only.parts) + only.end
        try:
            same = ast.literal_eval(text) == fmt
        except (SyntaxError, ValueError):
            same = False
        return cst.SimpleString(text) if same else None  # otherwise: rebuilt from the value
    return None


def _expressions(node: cst.FormattedString) -> list[cst.FormattedStringExpression]:
    return [p for p in node.parts if isinstance(p, cst.FormattedStringExpression)]


def _part_source(part) -> str:
    if isinstance(part, cst.FormattedStringText):
        return part.value  # ``{{`` means the same in a format string as in an f-string
    field = "{" + (f"!{part.conversion}" if part.conversion else "")
    if part.format_spec is not None:
        field += ":" + "".join(
            _part_source(p) if isinstance(p, cst.FormattedStringText) else "{}" for p in part.format_spec
        )
    return field + "}"


def _preferred_quote(node: cst.Call) -> str:
    for arg in node.args:
        value = arg.value
        if isinstance(value, (cst.SimpleString, cst.FormattedString)) and value.quote in ("'", '"'):
            return value.quote
    return '"'


def _arguments(node: cst.Call, values: list[cst.BaseExpression]) -> list[cst.Arg]:
    """New arguments laid out like the old ones: the k-th keeps the k-th comma where it can.

    The last keeps the old last one's whitespace too: the line break (and any
    comment) before a closing parenthesis on its own line.
    """
    old = list(node.args)
    args = []
    for index, value in enumerate(values):
        last = index == len(values) - 1
        after: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace("")
        if last:
            comma = old[-1].comma if old else cst.MaybeSentinel.DEFAULT
            after = old[-1].whitespace_after_arg if old else after
        elif index < len(old) - 1:
            comma = old[index].comma  # it is followed by an argument in the old call too
            after = old[index].whitespace_after_arg
        else:
            comma = _fresh_comma(node)
        args.append(cst.Arg(value=value, comma=comma, whitespace_after_arg=after))
    return args


def _fresh_comma(node: cst.Call) -> cst.Comma:
    """A comma for an argument the old call did not have: one per line if the call is split."""
    before = node.whitespace_before_args
    if isinstance(before, cst.ParenthesizedWhitespace):
        return cst.Comma(
            whitespace_after=cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(), indent=before.indent, last_line=before.last_line.deep_clone()
            )
        )
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


FIXER = Fixer(
    codes=("JP101",), node_types=NODE_TYPES, refusal=refusal, rewrite=rewrite, transform_refusal=transform_refusal
)
