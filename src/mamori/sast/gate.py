"""The pull-request gate's rules: which findings new in head against base block, per tier, severity, CWE.

Pure: findings come in already classified (new in head, and whether triage keeps them from blocking).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mamori.sast.kinds import GateRule, SastPolicySpec
from mamori.sast.severity import at_least


@dataclass(frozen=True)
class GateItem:
    finding_id: str
    rule: str
    title: str
    path: str
    line: int
    severity: str
    cwe: str | None
    state: str
    tools: tuple[str, ...]
    triaged_away: bool
    """false positive, won't fix, an unexpired accepted risk, or suppressed in source"""
    status: str
    """new | unchanged | fixed (head against base)"""


@dataclass
class Verdict:
    repo: str
    base: str
    head: str
    passed: bool
    baseline_found: bool
    blocking: list[GateItem] = field(default_factory=list)
    new: list[GateItem] = field(default_factory=list)
    unchanged: list[GateItem] = field(default_factory=list)
    fixed: list[GateItem] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    """finding id -> why it blocks or not"""


def rule_for(item: GateItem, *, tier: int | None, rules: list[GateRule]) -> GateRule | None:
    """The first policy rule that fits the finding's service tier and CWE."""
    for rule in rules:
        if rule.tiers and (tier is None or tier not in rule.tiers):
            continue
        if rule.cwes and item.cwe not in rule.cwes:
            continue
        return rule
    return None


def decide(
    *,
    repo: str,
    base: str,
    head: str,
    items: list[GateItem],
    policy: SastPolicySpec,
    tier: int | None,
    fail_on: str | None = None,
    baseline_found: bool = True,
) -> Verdict:
    """`fail_on` (the command line's) overrides every rule's threshold; rules still decide what never blocks."""
    verdict = Verdict(repo=repo, base=base, head=head, passed=True, baseline_found=baseline_found)
    spent: dict[int, list[GateItem]] = {}
    for item in items:
        if item.status == "unchanged":
            verdict.unchanged.append(item)
            continue
        if item.status == "fixed":
            verdict.fixed.append(item)
            continue
        verdict.new.append(item)
        rule = rule_for(item, tier=tier, rules=policy.gate)
        threshold = fail_on or (rule.fail_on if rule else policy.fail_on)
        if item.triaged_away:
            verdict.reasons[item.finding_id] = f"triaged: {item.state}" if item.state != "new" else "suppressed"
        elif rule is not None and not rule.block:
            verdict.reasons[item.finding_id] = "the policy does not block it"
        elif not at_least(item.severity, threshold):
            verdict.reasons[item.finding_id] = f"below {threshold}"
        else:
            verdict.reasons[item.finding_id] = f"new, {item.severity} (blocks at {threshold})"
            verdict.blocking.append(item)
            spent.setdefault(id(rule), []).append(item)
    _apply_budgets(verdict, spent, {id(r): r for r in policy.gate})
    verdict.passed = not verdict.blocking
    return verdict


def _apply_budgets(verdict: Verdict, spent: dict[int, list[GateItem]], rules: dict[int, GateRule]) -> None:
    """A rule with a budget lets that many of its new findings through; past it, all of them block."""
    for key, items in spent.items():
        rule = rules.get(key)
        if rule is None or not rule.budget or len(items) > rule.budget:
            continue
        for item in items:
            verdict.blocking.remove(item)
            verdict.reasons[item.finding_id] = f"within the policy's budget ({len(items)} of {rule.budget})"
