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


class _Out(BaseModel):
    """Base of the API's answers: documented in /openapi.json, extra keys never leak."""

    model_config = ConfigDict(extra="forbid")


class CommentOut(_Out):
    at: str | None
    author: str
    body: str


class FindingOut(_Out):
    """A finding as the API answers it (timestamps in ISO 8601 with offset)."""

    id: str
    kind: str
    title: str
    service: str | None
    team: str | None
    state: str
    priority: str
    priority_reasons: list[str]
    severity: str | None
    cvss_score: float | None
    epss: float | None
    kev: bool | None
    advisory_id: str | None
    aliases: list[str]
    ecosystem: str | None
    package: str | None
    version: str | None
    purl: str | None
    fixed_versions: list[str]
    source_files: list[str]
    direct: bool | None
    dev: bool | None
    vendor: str | None
    evidence: str | None
    link: str | None
    justification: str | None
    impact_statement: str | None
    accepted_until: str | None
    assignee: str | None
    due_at: str | None
    reopen_reason: str | None
    first_seen_at: str | None
    last_seen_at: str | None
    state_changed_at: str | None
    comments: list[CommentOut] | None = Field(default=None, description="only on a single finding")


class ExposureOut(_Out):
    open: int
    by_priority: dict[str, int]
    by_age: dict[str, int]
    by_service: dict[str, dict[str, int]]
    sla_breaches: int
    risk_accepted: int


class VexImportOut(_Out):
    statements: int
    applied: int
    unchanged: int
    unmatched: list[str]


class AdvisoryOut(_Out):
    id: str
    aliases: list[str]
    summary: str
    modified: str
    severity: str
    cvss_score: float | None
    cvss_vector: str | None
    epss: dict[str, float]
    kev: list[str]
    record: dict[str, Any] = Field(description="the OSV record as imported")
    findings: list[FindingOut]


class ComponentOut(_Out):
    service: str
    ecosystem: str
    name: str
    version: str
    purl: str
    source_file: str
    direct: bool | None
    dev: bool | None


class RescanOut(_Out):
    created: int
    reopened: int
    fixed: int
    updated: int
