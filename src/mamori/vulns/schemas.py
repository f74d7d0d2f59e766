"""Typed In/Out shapes of the vulns API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mamori.vulns.models import VulnFinding


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(
        default=None, description="under_investigation, affected, not_affected, fixed, risk_accepted"
    )
    justification: str | None = Field(default=None, description="OpenVEX justification; required for not_affected")
    impact_statement: str | None = None
    accepted_until: AwareDatetime | None = Field(default=None, description="required for risk_accepted")
    assignee: str | None = None
    due_at: AwareDatetime | None = None
    comment: str | None = None


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=20000)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def finding_out(f: VulnFinding, *, with_comments: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id,
        "kind": f.kind,
        "title": f.title,
        "service": f.service,
        "team": f.team,
        "state": f.state,
        "priority": f.priority,
        "priority_reasons": f.priority_reasons,
        "severity": f.severity,
        "cvss_score": f.cvss_score,
        "epss": f.epss,
        "kev": f.kev,
        "advisory_id": f.advisory_id,
        "aliases": f.aliases,
        "ecosystem": f.ecosystem,
        "package": f.package,
        "version": f.version,
        "purl": f.purl,
        "fixed_versions": f.fixed_versions,
        "source_files": f.source_files,
        "direct": f.direct,
        "dev": f.dev,
        "vendor": f.vendor,
        "evidence": f.evidence,
        "link": f.link,
        "justification": f.justification,
        "impact_statement": f.impact_statement,
        "accepted_until": _iso(f.accepted_until),
        "assignee": f.assignee,
        "due_at": _iso(f.due_at),
        "reopen_reason": f.reopen_reason,
        "first_seen_at": _iso(f.first_seen_at),
        "last_seen_at": _iso(f.last_seen_at),
        "state_changed_at": _iso(f.state_changed_at),
    }
    if with_comments:
        out["comments"] = [{"at": _iso(c.at), "author": c.author, "body": c.body} for c in f.comments]
    return out
