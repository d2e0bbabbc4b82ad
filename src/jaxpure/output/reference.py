"""The rule reference, ``docs/rules.md``, and the link every finding carries to its rule there.

The link scheme: ``RULES_PAGE`` + ``#`` + the heading's anchor as GitHub
derives it from ``## JP101 print-in-traced-function``, that is
``jp101-print-in-traced-function``. The page is generated from the rules'
docstrings (the text ``jaxpure rule CODE`` prints); a test keeps it current.
"""

from __future__ import annotations

from collections.abc import Mapping

from jaxpure.output.context import RuleInfo

RULES_PAGE = "https://github.com/jaxpure/jaxpure/blob/main/docs/rules.md"


def rule_url(rule: RuleInfo) -> str:
    return f"{RULES_PAGE}#{rule.code.lower()}-{rule.name}"


def rule_markdown(rule: RuleInfo, heading: str = "#") -> str:
    """A rule's documentation under a ``JP101 print-in-traced-function`` heading, its sections one level down."""
    documentation = _demoted(rule.documentation, heading + "#")
    return f"{heading} {rule.code} {rule.name}\n\nSeverity: {rule.severity}.\n\n{documentation}\n"


def _demoted(documentation: str, section: str) -> str:
    """The docstring's ``## Section`` headings as ``section``; lines inside code fences untouched."""
    lines, fenced = [], False
    for line in documentation.strip().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            line = section + line[2:]
        lines.append(line)
    return "\n".join(lines)


def render_reference(catalog: Mapping[str, RuleInfo]) -> str:
    header = (
        "# Rules\n\n"
        "Every rule jaxpure has, as `jaxpure rule CODE` prints it; the editor's links (LSP\n"
        "`codeDescription`) point here. Generated from the rules' docstrings: do not edit by hand\n"
        "(`python -c \"from jaxpure.output.reference import write_reference; write_reference('docs/rules.md')\"`).\n\n"
    )
    index = "".join(f"- [{rule.code} {rule.name}](#{rule.code.lower()}-{rule.name})\n" for rule in catalog.values())
    return header + index + "".join("\n" + rule_markdown(rule, "##") for rule in catalog.values())


def write_reference(path: str) -> None:
    from jaxpure.output.context import load_rule_infos

    with open(path, "w", encoding="utf-8") as out:
        out.write(render_reference(load_rule_infos()))
