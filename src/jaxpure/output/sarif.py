"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; the driver lists every rule (name, one-line summary, the message
that names the fix, the full documentation as help, default level), and each
result points at its rule by id and index. Artifact URIs are relative to the
working directory (``%SRCROOT%``), so code scanning places them in the
repository; columns are Unicode code points, as jaxpure counts them.

Each result's ``partialFingerprints`` is the baseline key (path, code,
flagged line text, occurrence: see ``jaxpure.findings.finding_keys``), so an alert
survives edits elsewhere in its file.

A notebook finding has no region: lines of an ``.ipynb`` file are JSON, not
code. Its message names the cell and line, and ``properties.cell`` holds them.
"""

from __future__ import annotations

import hashlib
import json
from operator import attrgetter
from pathlib import Path
from urllib.parse import quote

from jaxpure import __version__
from jaxpure.findings import Finding, Report, RuleInfo, finding_keys
from jaxpure.output.context import OutputContext
from jaxpure.output.reference import rule_url

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_NAME = "jaxpureFindingKey/v1"


def format_sarif(report: Report, context: OutputContext) -> str:
    rules = list(context.rules.values())
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    for finding in report.findings:  # codes outside the catalog still get a rule entry
        if finding.code not in rule_index:
            rule_index[finding.code] = len(rules)
            rules.append(context.rule(finding.code))
    findings = sorted(report.findings, key=attrgetter("sort_key"))
    keys = finding_keys(findings, context.read_line, context.cwd)
    run = {
        "tool": {"driver": _driver(rules)},
        "invocations": [_invocation(report)],
        "originalUriBaseIds": {SRCROOT: {"uri": context.cwd.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(finding, rule_index[finding.code], _fingerprint(key), context)
            for finding, key in zip(findings, keys, strict=True)
        ],
    }
    document = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _driver(rules: list[RuleInfo]) -> dict:
    return {
        "name": "jaxpure",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_rule(rule) for rule in rules],
    }


def _rule(rule: RuleInfo) -> dict:
    entry = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.message or rule.summary},
        "defaultConfiguration": {"level": _level(rule.severity)},
        "helpUri": rule_url(rule),
        # GitHub reads the severity it shows from this property.
        "properties": {"tags": ["jax", "purity"], "problem.severity": _level(rule.severity)},
    }
    if rule.documentation:
        entry["help"] = {"text": rule.documentation, "markdown": rule.documentation}
    return entry


def _invocation(report: Report) -> dict:
    invocation: dict = {"executionSuccessful": not report.internal_errors}
    if report.internal_errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in report.internal_errors
        ]
    return invocation


def _result(finding: Finding, rule_index: int, fingerprint: str, context: OutputContext) -> dict:
    where = context.cell(finding)
    location: dict = {"artifactLocation": _artifact(finding.path, context)}
    message = finding.message
    properties: dict = {"fixable": finding.fixable}
    if where is None:
        location["region"] = {
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": finding.end_line,
            "endColumn": finding.end_column,
        }
    else:
        message = f"{message} (cell {where.cell_number}, line {where.line}, column {finding.column})"
        properties["cell"] = {"number": where.cell_number, "line": where.line, "column": finding.column}
    if finding.trace.function:
        properties["function"] = finding.trace.function
    if finding.trace.transform:
        properties["transform"] = finding.trace.transform
    if finding.runtime is not None:
        properties["runtime"] = finding.runtime.to_json()
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _level(context.severity(finding.code)),
        "message": {"text": message},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {FINGERPRINT_NAME: fingerprint},
        "properties": properties,
    }


def _artifact(path: str, context: OutputContext) -> dict:
    relative = context.relative_path(path)
    if relative.startswith("/"):  # outside the working directory: an absolute file URI
        return {"uri": Path(relative).as_uri()}
    return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _level(severity: str) -> str:
    return "warning" if severity == "warning" else "error"


def _fingerprint(key: tuple) -> str:
    return hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()
