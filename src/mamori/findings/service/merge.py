"""A finding refreshed from its sources: status, worst severity, risk, SLA and suppression, with the changes
it made (for the history). Works on loaded rows; the import service owns the session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.findings import risk, suppression
from mamori.findings.kinds import FindingsPolicySpec, SuppressionRuleSpec
from mamori.findings.models import FindingRow
from mamori.findings.records import SEVERITIES, Observation
from mamori.findings.service.drafts import Draft

WORKFLOW_SUPPRESSED = "securityhub:SUPPRESSED"
FindingLike = FindingRow | Draft
"""A stored finding, or one of this import's new ones (written in bulk at its end)."""


@dataclass
class Context:
    """What every refresh of one import needs: policy, rules, the catalog's tiers, the time."""

    policy: FindingsPolicySpec
    rules: dict[str, SuppressionRuleSpec]
    tiers: dict[str, int]
    teams: dict[str, str]
    environments: dict[str, str | None] = field(default_factory=dict)
    exposed: dict[str, bool | None] = field(default_factory=dict)
    now: datetime = field(default_factory=datetime.now)

    def data_class(self, service: str | None) -> str | None:
        return next((d.data_class for d in self.policy.data_classes if d.service == service), None)


def worst(severities: list[str]) -> str:
    ranked = [s for s in SEVERITIES if s in severities]
    return ranked[0] if ranked else "MEDIUM"


def describe(f: FindingLike, obs: Observation, changes: dict[str, Any], *, track: bool) -> None:
    """Copy the observation's descriptive fields (not its identity) onto the finding, noting what moved."""
    values: dict[str, Any] = {
        "title": obs.title[:500],
        "resource_type": obs.resource_type,
        "version": obs.version[:300],
        "paths": sorted(set(f.paths or []) | set(obs.paths)) if obs.paths else f.paths or [],
        "tags": obs.tags or f.tags or {},
        "aliases": sorted(set(f.aliases or []) | set(obs.aliases)),
    }
    if obs.score is not None and obs.kind in {"dependency", "vulnerability"}:
        values["score"] = obs.score
    if obs.epss is not None:
        values["epss"] = obs.epss
    if obs.kev:
        values["kev"] = True
    for name, value in values.items():
        old = getattr(f, name)
        if old != value:
            if track and name not in {"tags", "paths", "aliases"}:
                changes[name] = [old, value]
            setattr(f, name, value)


def refresh(f: FindingLike, ctx: Context, changes: dict[str, Any], *, confidence: float | None = None) -> str | None:
    """Recompute the finding from its sources; returns "resolved" or "reopened" when its status flipped."""
    active = [s for s in f.sources if s.status == "active"]
    status = "active" if active else "resolved"
    severity = worst([s.severity for s in (active or f.sources)])
    flipped: str | None = None
    if status != f.status:
        changes["status"] = [f.status, status]
        flipped = "resolved" if status == "resolved" else "reopened"
        f.status = status
        f.resolved_at = ctx.now if status == "resolved" else None
        if flipped == "reopened" and f.state == "fixed":
            changes["state"] = [f.state, "new"]
            f.state, f.state_changed_at = "new", ctx.now
    if severity != f.severity:
        changes["severity"] = [f.severity, severity]
        f.severity = severity
    tools = sorted({s.tool for s in f.sources})
    if tools != list(f.tools or []):
        if f.tools:
            changes["tools"] = [list(f.tools), tools]
        f.tools = tools
    _rank(f, ctx, changes, confidence)
    suppress(f, ctx, changes, workflow_suppressed=any(s.workflow == "SUPPRESSED" for s in active))
    return flipped


def _rank(f: FindingLike, ctx: Context, changes: dict[str, Any], confidence: float | None) -> None:
    exposure = risk.Exposure(
        severity=f.severity,
        score=f.score if f.kind in {"dependency", "vulnerability"} else None,
        epss=f.epss,
        kev=f.kev,
        confidence=confidence,
        internet_facing=ctx.exposed.get(f.key_hash),
        environment=ctx.environments.get(f.account),
        tier=ctx.tiers.get(f.service or ""),
        data_class=ctx.data_class(f.service),
    )
    ranking = risk.rank(exposure)
    if ranking.priority != f.priority:
        if f.priority_reasons:
            changes["priority"] = [f.priority, ranking.priority]
        f.priority = ranking.priority
    if list(ranking.reasons) != list(f.priority_reasons or []):
        f.priority_reasons = list(ranking.reasons)
    due = risk.due_at(f.first_seen_at, f.priority, ctx.policy.sla_days, business=ctx.policy.business())
    if due != f.due_at:
        f.due_at = due


def suppress(f: FindingLike, ctx: Context, changes: dict[str, Any], *, workflow_suppressed: bool) -> None:
    subject = suppression.Subject(
        tools=tuple(f.tools or []),
        account=f.account,
        resource=f.resource or f.location,
        control=f.control or f.advisory,
        package=f.package,
        tags=dict(f.tags or {}),
    )
    rule = suppression.rule_for(ctx.rules, subject, now=ctx.now)
    by = rule or (WORKFLOW_SUPPRESSED if workflow_suppressed else None)
    if by != f.suppressed_by:
        changes["suppressed_by"] = [f.suppressed_by, by]
        f.suppressed_by = by
