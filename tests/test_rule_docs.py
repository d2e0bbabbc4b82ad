"""Every rule documents itself the same way, and its documented examples behave as documented."""

from __future__ import annotations

import pytest

from jaxpure.analysis.rules import RULES
from jaxpure.analysis.rules.base import DOC_SECTIONS, code_blocks, doc_sections
from jaxpure.api import check_source

SPEC_CODES = {
    "JP000",
    "JP101",
    "JP102",
    "JP103",
    "JP104",
    "JP105",
    "JP106",
    "JP201",
    "JP202",
    "JP203",
    "JP204",
    "JP301",
    "JP302",
    "JP303",
    "JP304",
    "JP401",
    "JP402",
    "JP403",
    "JP404",
    "JP405",
    "JP406",
    "JP407",
    "JP501",
    "JP502",
    "JP503",
}


def test_catalog_is_the_spec_catalog() -> None:
    assert set(RULES) == SPEC_CODES


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_metadata(code: str) -> None:
    rule = RULES[code]
    assert rule.code == code
    assert rule.name and rule.name == rule.name.lower() and " " not in rule.name
    assert rule.severity in ("error", "warning")
    assert rule.message and "\n" not in rule.message
    sections = doc_sections(type(rule))
    missing = [s for s in DOC_SECTIONS if s not in sections]
    assert not missing, f"{code} documentation lacks sections {missing}"
    if rule.fixable:
        assert "Fix safety" in sections


@pytest.mark.parametrize("code", sorted(c for c in RULES if c != "JP000"))
def test_documented_example_triggers_and_replacement_does_not(code: str) -> None:
    sections = doc_sections(type(RULES[code]))
    (example,) = code_blocks("```python\n" + sections["Example"].split("```python\n", 1)[1])
    (replacement,) = code_blocks("```python\n" + sections["Use instead"].split("```python\n", 1)[1])
    assert code in {f.code for f in check_source(example)}, f"{code}: its Example does not trigger it"
    assert code not in {f.code for f in check_source(replacement)}, f"{code}: its 'Use instead' triggers it"


def test_jp000_example_is_reported_as_unanalyzable() -> None:
    example = code_blocks(doc_sections(type(RULES["JP000"]))["Example"])[0]
    assert [f.code for f in check_source("import jax\n" + example)] == ["JP000"]
