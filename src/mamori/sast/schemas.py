"""Typed In/Out shapes of the sast API and CLI."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mamori.sast.models import SastFinding, SastScan


class ScanOut(BaseModel):
    id: str
    repo: str
    tool: str
    tool_version: str
    category: str
    commit: str
    branch: str | None
    pr: int | None
    format: str
    partial: bool
    uploaded_at: datetime
    result_count: int
    counts: dict[str, int]

    @classmethod
    def of(cls, scan: SastScan) -> ScanOut:
        return cls(
            id=scan.id, repo=scan.repo, tool=scan.tool, tool_version=scan.tool_version, category=scan.category,
            commit=scan.commit, branch=scan.branch, pr=scan.pr, format=scan.format,
            partial=scan.scanned_paths is not None, uploaded_at=scan.uploaded_at, result_count=scan.result_count,
            counts=dict(scan.counts),
        )  # fmt: skip


class FindingOut(BaseModel):
    id: str
    repo: str
    service: str | None
    title: str
    rule: str
    cwe: str | None
    owasp: str | None
    path: str
    line: int
    severity: str
    open: bool
    state: str
    reason: str | None
    accepted_until: datetime | None
    suppressed: bool
    suppression: str | None
    tools: list[str] = Field(default_factory=list)
    first_commit: str
    first_seen_at: datetime
    last_seen_at: datetime
    due_at: datetime | None
    version: int

    @classmethod
    def of(cls, f: SastFinding, tools: list[str] | None = None) -> FindingOut:
        return cls(
            id=f.id, repo=f.repo, service=f.service, title=f.title, rule=f.rule, cwe=f.cwe, owasp=f.owasp,
            path=f.path, line=f.line, severity=f.severity, open=f.open, state=f.state, reason=f.reason,
            accepted_until=f.accepted_until, suppressed=f.suppressed, suppression=f.suppression,
            tools=tools or [], first_commit=f.first_commit, first_seen_at=f.first_seen_at,
            last_seen_at=f.last_seen_at, due_at=f.due_at, version=f.version,
        )  # fmt: skip


class UploadOut(BaseModel):
    scans: list[ScanOut]


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str = Field(description="confirmed, false_positive, wont_fix, accepted_risk, fixed, new")
    reason: str | None = Field(default=None, description="required for false_positive, wont_fix, accepted_risk")
    accepted_until: AwareDatetime | None = Field(default=None, description="required for accepted_risk")
    version: int | None = Field(default=None, description="the finding's version you saw (refused if changed)")


class SourceOut(BaseModel):
    tool: str
    rule_id: str
    path: str
    line: int
    message: str
    severity: str
    confidence: str
    cwes: list[str]
    open: bool
    suppression: str | None
    fingerprints: list[str]


class HistoryOut(BaseModel):
    scan_id: str
    tool: str
    commit: str
    branch: str | None
    pr: int | None
    at: datetime
    status: str
    path: str
    line: int


class TriageOut(BaseModel):
    at: datetime
    actor: str
    from_state: str
    to_state: str
    reason: str | None
    accepted_until: datetime | None


class FindingDetailOut(FindingOut):
    sources: list[SourceOut]
    history: list[HistoryOut]
    triage: list[TriageOut]


class GateItemOut(BaseModel):
    finding_id: str
    rule: str
    title: str
    path: str
    line: int
    severity: str
    cwe: str | None
    state: str
    tools: list[str]
    triaged_away: bool
    status: str
    reason: str


class GateCountsOut(BaseModel):
    blocking: int
    new: int
    unchanged: int
    fixed: int


class GateOut(BaseModel):
    repo: str
    base: str
    head: str
    passed: bool
    baseline_found: bool
    counts: GateCountsOut
    blocking: list[GateItemOut]
    new: list[GateItemOut]
    fixed: list[GateItemOut]


class ScorecardOut(BaseModel):
    tool: str
    suite: str
    at: datetime
    overall: dict[str, float | int | None]
    categories: list[dict[str, str | float | int | None]]


class TriageScoreOut(BaseModel):
    tool: str
    cwe: str
    tp: int
    fp: int
    fn: int
    precision: float | None
    tpr: float | None


class ScorecardsOut(BaseModel):
    benchmarks: list[ScorecardOut]
    triage: list[TriageScoreOut]
