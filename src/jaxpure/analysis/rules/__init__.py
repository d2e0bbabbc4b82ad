"""The rule catalog: every rule, by code, in one registry built from the rule modules."""

from __future__ import annotations

from jaxpure.analysis.rules import control_flow, mutation, randomness, side_effects, transform_usage
from jaxpure.analysis.rules.base import Rule

RULES: dict[str, Rule] = {
    rule.code: rule()
    for module in (side_effects, mutation, randomness, control_flow, transform_usage)
    for rule in module.RULES
}
RULES = dict(sorted(RULES.items()))

__all__ = ["RULES", "Rule"]
