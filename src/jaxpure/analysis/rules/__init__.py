"""The rule catalog: every rule, by code, in one registry built from the rule modules."""

from __future__ import annotations

from jaxpure.analysis.rules import control_flow, mutation, randomness, side_effects, transform_usage
from jaxpure.analysis.rules.base import Rule
from jaxpure.findings import RuleInfo

RULES: dict[str, Rule] = {
    rule.code: rule()
    for module in (side_effects, mutation, randomness, control_flow, transform_usage)
    for rule in module.RULES
}
RULES = dict(sorted(RULES.items()))


def rule_infos() -> dict[str, RuleInfo]:
    """Every rule's metadata, by code, as the output shows it."""
    return {code: rule.info() for code, rule in RULES.items()}


__all__ = ["RULES", "Rule", "rule_infos"]
