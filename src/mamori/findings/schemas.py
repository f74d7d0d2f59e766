"""Typed In/Out shapes of the findings API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mamori.findings.models import FindingHistory, FindingRow, FindingSource
from mamori.findings.service.imports import ImportReport


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(default=None, description="new, under_investigation, affected, not_affected, ...")
    justification: str | None = Field(default=None, description="OpenVEX justification (not_affected on packages)")
    accepted_until: AwareDatetime | None = Field(default=None, description="required for risk_accepted")
    assignee: str | None = None
    comment: str | None = Field(default=None, max_length=20000)
    expected_version: int | None = Field(default=None, description="the version you saw; refused if it moved")


class WriteBackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(
        default=None, description="NEW, NOTIFIED, SUPPRESSED or RESOLVED; default from the triage state"
    )
    note: str | None = Field(default=None, max_length=512)


class WriteBackOut(BaseModel):
    job_id: int
    status: str
    requests: list[dict[str, Any]]


class ImportOut(BaseModel):
    import_id: str
    format: str
    total: int
    created: int
    updated: int
    unchanged: int
    resolved: int
    reopened: int
    rejected: int
    skipped: int
    problems: list[str]


class SourceOut(BaseModel):
    tool: str
    format: str
    uid: str
    status: str
    workflow: str
    severity: str
    repeat_count: int | None
    tool_updated_at: str | None
    first_seen_at: str
    last_seen_at: str
    raw: dict[str, Any]


class HistoryOut(BaseModel):
    at: str
    actor: str
    event: str
    changes: dict[str, Any]
    note: str


class FindingOut(BaseModel):
    id: str
    key: str
    kind: str
    title: str
    account: str
    region: str
    resource: str
    control: str
    ecosystem: str
    package: str
    version: str
    advisory: str
    location: str
    service: str | None
    team: str | None
    tools: list[str]
    severity: str
    priority: str
    priority_reasons: list[str]
    due_at: str | None
    status: str
    state: str
    suppressed_by: str | None
    assignee: str | None
    first_seen_at: str
    last_seen_at: str
    version_id: int
    sources: list[SourceOut] | None = None
    history: list[HistoryOut] | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def import_out(report: ImportReport) -> dict[str, Any]:
    return {"import_id": report.import_id, "format": report.format, **report.counts(), "problems": report.problems}


def source_out(s: FindingSource) -> dict[str, Any]:
    return {
        "tool": s.tool,
        "format": s.format,
        "uid": s.uid,
        "status": s.status,
        "workflow": s.workflow,
        "severity": s.severity,
        "repeat_count": s.repeat_count,
        "tool_updated_at": _iso(s.tool_updated_at),
        "first_seen_at": s.first_seen_at.isoformat(),
        "last_seen_at": s.last_seen_at.isoformat(),
        "raw": s.raw,
    }


def history_out(h: FindingHistory) -> dict[str, Any]:
    return {"at": h.at.isoformat(), "actor": h.actor, "event": h.event, "changes": h.changes, "note": h.note}


def finding_out(f: FindingRow, *, history: list[FindingHistory] | None = None, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(f, name)
        for name in (
            "id",
            "key",
            "kind",
            "title",
            "account",
            "region",
            "resource",
            "control",
            "ecosystem",
            "package",
            "version",
            "advisory",
            "location",
            "service",
            "team",
            "severity",
            "priority",
            "status",
            "state",
            "suppressed_by",
            "assignee",
            "version_id",
        )
    }
    out.update(
        tools=list(f.tools or []),
        priority_reasons=list(f.priority_reasons or []),
        due_at=_iso(f.due_at),
        first_seen_at=f.first_seen_at.isoformat(),
        last_seen_at=f.last_seen_at.isoformat(),
    )
    if detail:
        out["sources"] = [source_out(s) for s in f.sources]
        out["history"] = [history_out(h) for h in history or []]
    return out
