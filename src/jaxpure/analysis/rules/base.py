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
from typing import TYPE_CHECKING, ClassVar

from jaxpure.findings import RuleInfo

if TYPE_CHECKING:
    import libcst as cst

    from jaxpure.analysis.analyzer import RuleContext

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

    def check(self, node: cst.CSTNode, ctx: RuleContext) -> None:
        """Look at one node; call ``ctx.report(node, self)`` for a finding."""

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


def documentation(rule: type[Rule]) -> str:
    return inspect.cleandoc(rule.__doc__ or "")


def doc_sections(rule: type[Rule]) -> dict[str, str]:
    """``## Heading`` → text, for the docs test and ``jaxpure rule CODE``."""
    text = documentation(rule)
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def code_blocks(text: str) -> list[str]:
    return [block.strip("\n") + "\n" for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)]
