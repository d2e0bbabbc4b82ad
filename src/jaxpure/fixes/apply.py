"""Applying fixes to a module's source, in rounds, keeping only the ones that verify.

A round locates every pending finding's node, asks its fixer for a rewrite,
applies the rewrites that do not overlap (innermost first) together with the
imports they need, and verifies the result:

- the new source parses (libcst and CPython's own parser);
- the re-check reports none of the fixed findings inside their rewritten code,
  and can still analyze the module (no new JP000);
- every comment of a rewritten node is still there.

A finding that the re-check of the unchanged source does not report (one
reached through a call from another module, which a one-module re-check does
not see) cannot be verified that way, and is refused before any rewrite.

Other findings may appear after a fix, and that is not held against it: a
fix can unmask the next bug downstream (``np.sum(np.exp(x))``: once
``np.exp`` is ``jnp.exp``, ``np.sum`` is seen to receive a traced value).
Those are reported, and fixed in the next round when they can be.

When a batch fails, each rewrite is tried alone; the ones that fail are
refused with the reason. Overlapping findings (``np.sum(np.exp(x))``, a
``x[i] = v`` inside an ``if`` that then becomes a plain assignment) wait for
the next round, re-located in the rewritten source. Rounds stop when nothing
is left to try; each round settles or applies at least one finding.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from jaxpure.findings import Finding
from jaxpure.fixes.base import FixContext, ImportRequest, Refused, Rewrite
from jaxpure.fixes.imports import add_imports, scan_names
from jaxpure.fixes.locate import Located, NodeIndex
from jaxpure.fixes.registry import FIXERS

Recheck = Callable[[str], list[Finding]]
MAX_ROUNDS = 25
UNANALYZABLE = "JP000"
NOT_RECHECKED = (
    "the re-check of this file alone does not report it (it is reached through a call from another module),"
    " so a rewrite could not be verified"
)


@dataclass(frozen=True, slots=True)
class FixOutcome:
    """What fixing one module's source did."""

    original: str
    source: str  # the fixed source; ``original`` when nothing was fixed
    applied: tuple[Finding, ...]  # positions as in the source the fix was applied to
    refused: tuple[tuple[Finding, str], ...]  # (finding, why it was not fixed)

    @property
    def changed(self) -> bool:
        return self.source != self.original


@dataclass(slots=True)
class _Plan:
    finding: Finding
    located: Located
    key: tuple[str, str]  # (code, flagged text): recognizes the same finding in a later round
    rewrite: Rewrite | None = None
    reason: str | None = None


@dataclass(slots=True)
class _State:
    source: str
    findings: list[Finding]  # the re-check of ``source``
    asked: Counter  # keys of the findings the caller asked to fix and that are not fixed yet
    codes: frozenset[str]  # the codes of those findings: later rounds fix no other
    touched: list[CodeRange] = field(default_factory=list)  # where the last round rewrote ``source``
    applied: list[Finding] = field(default_factory=list)
    refused: dict[tuple[str, str], tuple[Finding, str]] = field(default_factory=dict)


def fix_source(source: str, findings: Iterable[Finding], recheck: Recheck) -> FixOutcome:
    """Fix what can be fixed among ``findings`` (found in ``source``); ``recheck`` analyzes a new source."""
    wanted = [f for f in findings if f.code in FIXERS]
    if not wanted:
        return FixOutcome(source, source, (), ())
    try:
        cst.parse_module(source)
    except cst.ParserSyntaxError:
        return FixOutcome(source, source, (), tuple((f, "the module does not parse") for f in wanted))
    asked = Counter(_key(source, f) for f in wanted)
    state = _State(source, recheck(source), asked, frozenset(f.code for f in wanted))
    pending = wanted
    for _ in range(MAX_ROUNDS):
        settled = len(state.refused)
        if _round(state, pending, recheck):
            pending = _next_round(state)
        elif len(state.refused) == settled:
            break  # nothing changed and nothing new was learned: every pending finding is settled
    else:
        for finding in pending:
            if _key(state.source, finding) not in state.refused:
                reason = f"still overlapping another fix after {MAX_ROUNDS} rounds"
                state.refused[_key(state.source, finding)] = (finding, reason)
    return FixOutcome(source, state.source, tuple(state.applied), tuple(state.refused.values()))


def _next_round(state: _State) -> list[Finding]:
    """What to try after a rewrite: the asked-for findings not settled yet, found again by their text,
    and the ones the rewrite touched (an enclosing finding deferred, or one it uncovered).

    Findings elsewhere that the caller did not ask for (a ``--select``, a baseline) stay as they are.
    """
    pending = []
    for finding in state.findings:
        key = _key(state.source, finding)
        if finding.code not in state.codes or key in state.refused:
            continue  # a code the caller did not ask to fix (``--select``), or settled
        if state.asked[key] > 0 or any(_overlaps(finding, span) for span in state.touched):
            pending.append(finding)
    return pending


def _key(source: str, finding: Finding) -> tuple[str, str]:
    """The finding's code and the text it flags: stable while other parts of the module change."""
    lines = source.splitlines(keepends=True)[finding.line - 1 : finding.end_line]
    if not lines:
        return finding.code, ""
    lines[-1] = lines[-1][: finding.end_column - 1]
    lines[0] = lines[0][finding.column - 1 :]
    return finding.code, "".join(lines)


def _overlaps(finding: Finding, span: CodeRange) -> bool:
    start, end = (finding.line, finding.column - 1), (finding.end_line, finding.end_column - 1)
    return start < (span.end.line, span.end.column) and (span.start.line, span.start.column) < end


# -- one round ------------------------------------------------------------------------------------


def _round(state: _State, pending: list[Finding], recheck: Recheck) -> bool:
    """Plan, apply and verify one round; True when the source changed."""
    module = cst.parse_module(state.source)
    index = NodeIndex(module)
    plans = _plan(module, index, pending, state)
    chosen = _non_overlapping([p for p in plans if p.rewrite is not None])
    for plan in plans:
        if plan.rewrite is None and not _overlaps_any(plan, chosen):
            _refuse(state, plan, plan.reason or "")
    if not chosen:
        return False
    return _apply_verified(state, module, chosen, recheck)


def _plan(module: cst.Module, index: NodeIndex, pending: list[Finding], state: _State) -> list[_Plan]:
    names = scan_names(module)
    plans = []
    for finding in pending:
        fixer = FIXERS[finding.code]
        key = _key(state.source, finding)
        if key in state.refused:
            continue
        located = index.find(finding, fixer.node_types)
        if located is None:
            state.refused[key] = (finding, "the flagged code is not where the finding says (stale findings?)")
            continue
        reason = fixer.transform_refusal(finding.trace.transform)
        if not _reported(state.findings, finding):
            reason = NOT_RECHECKED
        if reason is not None:
            state.refused[key] = (finding, reason)
            continue
        plan = _Plan(finding, located, key)
        context = FixContext(names, located.function, located.in_method, located.is_elif)
        try:
            plan.rewrite = fixer.rewrite(located.node, context)
            _check_comments_kept(plan.rewrite)
        except Refused as error:
            plan.rewrite, plan.reason = None, str(error)
        plans.append(plan)
    return plans


def _reported(findings: list[Finding], finding: Finding) -> bool:
    """Whether the re-check of the unchanged source reports ``finding``: only then can it verify a rewrite.

    It does not when the finding was reached through a call from another module
    of the project: the re-check sees one module, without those calls.
    """
    where = (finding.code, finding.line, finding.column)
    return any((f.code, f.line, f.column) == where for f in findings)


def _check_comments_kept(rewrite: Rewrite) -> None:
    before = _comments(rewrite.original)
    after = sum((_comments(node) for node in rewrite.replacement), Counter())
    if before != after:
        raise Refused("the rewrite would drop a comment inside the flagged code")


class _CommentCounter(cst.CSTVisitor):
    def __init__(self) -> None:
        self.comments: Counter = Counter()

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments[node.value] += 1


def _comments(node: cst.CSTNode) -> Counter:
    counter = _CommentCounter()
    node.visit(counter)
    return counter.comments


def _non_overlapping(plans: list[_Plan]) -> list[_Plan]:
    """Innermost first: an outer rewrite usually becomes possible, or simpler, after the inner one."""
    chosen: list[_Plan] = []
    for plan in sorted(plans, key=lambda p: _size(p.located.span)):
        if not _overlaps_any(plan, chosen):
            chosen.append(plan)
    return sorted(chosen, key=lambda p: _start(p.located.span))


def _overlaps_any(plan: _Plan, others: list[_Plan]) -> bool:
    span = plan.located.span
    return any(_start(span) < _end(o.located.span) and _start(o.located.span) < _end(span) for o in others)


def _start(span: CodeRange) -> tuple[int, int]:
    return span.start.line, span.start.column


def _end(span: CodeRange) -> tuple[int, int]:
    return span.end.line, span.end.column


def _size(span: CodeRange) -> tuple[int, int]:
    return span.end.line - span.start.line, span.end.column - span.start.column


def _refuse(state: _State, plan: _Plan, reason: str) -> None:
    state.refused.setdefault(plan.key, (plan.finding, reason))


# -- applying and verifying -----------------------------------------------------------------------


@dataclass(slots=True)
class _Attempt:
    source: str
    findings: list[Finding]
    failures: dict[int, str]  # id(plan) → reason
    batch_error: str | None  # a failure that cannot be pinned on one plan
    spans: dict[int, CodeRange]  # id(plan) → where its rewrite is in ``source``


def _apply_verified(state: _State, module: cst.Module, plans: list[_Plan], recheck: Recheck) -> bool:
    attempt = _attempt(state, module, plans, recheck)
    if not attempt.failures and attempt.batch_error is None:
        _accept(state, plans, attempt)
        return True
    # Find the culprits: try each rewrite alone.
    alone = {id(plan): _attempt(state, module, [plan], recheck) for plan in plans}
    good = []
    for plan in plans:
        single = alone[id(plan)]
        reason = single.failures.get(id(plan)) or single.batch_error
        if reason:
            _refuse(state, plan, reason)
        else:
            good.append(plan)
    if not good:
        return False
    together = _attempt(state, module, good, recheck) if len(good) > 1 else alone[id(good[0])]
    if together.failures or together.batch_error:
        # They pass alone but not together: take one now, the rest are found again next round.
        good, together = good[:1], alone[id(good[0])]
    _accept(state, good, together)
    return True


def _accept(state: _State, plans: list[_Plan], attempt: _Attempt) -> None:
    state.source = attempt.source
    state.findings = attempt.findings
    state.touched = [attempt.spans[id(plan)] for plan in plans]
    state.applied.extend(plan.finding for plan in plans)
    state.asked.subtract(plan.key for plan in plans)


def _attempt(state: _State, module: cst.Module, plans: list[_Plan], recheck: Recheck) -> _Attempt:
    new_module, spans = _rewritten(module, plans)
    source = new_module.code
    error = _parse_error(source)
    if error:
        return _Attempt(source, [], {}, f"the rewritten code does not parse: {error}", spans)
    try:
        findings = recheck(source)
    except Exception as exc:  # the analyzer failing on the new code is a reason not to write it
        return _Attempt(source, [], {}, f"the re-check failed on the rewritten code: {exc}", spans)
    failures = {
        id(plan): "the re-check still reports it after the rewrite"
        for plan in plans
        if _count_inside(findings, plan.finding.code, spans[id(plan)])
        >= _count_inside(state.findings, plan.finding.code, plan.located.span)
    }
    return _Attempt(source, findings, failures, _analysis_failure(state.findings, findings), spans)


def _rewritten(module: cst.Module, plans: list[_Plan]) -> tuple[cst.Module, dict[int, CodeRange]]:
    """The module with the plans' rewrites and imports, and where each rewrite landed."""
    rewrites = [(plan, _rewrite_of(plan)) for plan in plans]
    by_node = {id(plan.located.node): rewrite for plan, rewrite in rewrites}
    new_module = module.visit(_Replacer(by_node))
    imports: set[ImportRequest] = set().union(*(rewrite.imports for _, rewrite in rewrites))
    new_module = add_imports(new_module, imports)
    positions = MetadataWrapper(new_module, unsafe_skip_copy=True).resolve(PositionProvider)
    spans = {}
    for plan, rewrite in rewrites:
        first, last = positions[rewrite.replacement[0]], positions[rewrite.replacement[-1]]
        spans[id(plan)] = CodeRange(first.start, last.end)
    return new_module, spans


def _rewrite_of(plan: _Plan) -> Rewrite:
    assert plan.rewrite is not None  # only plans with a rewrite are tried
    return plan.rewrite


class _Replacer(cst.CSTTransformer):
    def __init__(self, by_node: dict[int, Rewrite]) -> None:
        self.by_node = by_node

    def on_leave(self, original_node, updated_node):
        rewrite = self.by_node.get(id(original_node))
        if rewrite is None:
            return updated_node
        if len(rewrite.replacement) == 1:
            return rewrite.replacement[0]
        return cst.FlattenSentinel(rewrite.replacement)


def _parse_error(source: str) -> str | None:
    try:
        cst.parse_module(source)
        ast.parse(source)
    except (cst.ParserSyntaxError, SyntaxError, ValueError) as error:
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return None


def _count_inside(findings: list[Finding], code: str, span: CodeRange) -> int:
    """How many ``code`` findings start inside ``span``: a rewrite must leave one fewer.

    Counting, rather than asking for none, keeps a nested finding (an
    ``a if d else b`` inside a rewritten ``if``) from blaming the outer fix.
    """
    start, end = (span.start.line, span.start.column), (span.end.line, span.end.column)
    return sum(1 for f in findings if f.code == code and start <= (f.line, f.column - 1) < end)


def _analysis_failure(before: list[Finding], after: list[Finding]) -> str | None:
    """JP000 (the analyzer could not read the module) must not appear where it was not."""
    if _count(after, UNANALYZABLE) > _count(before, UNANALYZABLE):
        return "the re-check cannot analyze the rewritten module"
    return None


def _count(findings: list[Finding], code: str) -> int:
    return sum(1 for f in findings if f.code == code)
