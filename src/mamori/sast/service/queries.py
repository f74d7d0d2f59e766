"""Read-only questions about SAST data: which tools report a finding, a finding's history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.sast.models import SastFinding, SastScan, SastScanResult, SastSource, SastTriage


def tools_by_finding(session: Session, finding_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for start in range(0, len(finding_ids), 500):
        chunk = finding_ids[start : start + 500]
        for finding_id, tool in session.execute(
            select(SastSource.finding_id, SastSource.tool).where(SastSource.finding_id.in_(chunk))
        ):
            out.setdefault(finding_id, set()).add(tool)
    return {k: sorted(v) for k, v in out.items()}


def list_findings(
    session: Session,
    *,
    repo: str | None = None,
    service: str | None = None,
    open_only: bool = False,
    state: str | None = None,
    limit: int = 5000,
) -> list[SastFinding]:
    stmt = select(SastFinding).order_by(SastFinding.repo, SastFinding.path, SastFinding.line, SastFinding.id)
    if repo:
        stmt = stmt.where(SastFinding.repo == repo)
    if service:
        stmt = stmt.where(SastFinding.service == service)
    if open_only:
        stmt = stmt.where(SastFinding.open.is_(True))
    if state:
        stmt = stmt.where(SastFinding.state == state)
    return list(session.scalars(stmt.limit(limit)))


def list_scans(session: Session, *, repo: str | None = None, limit: int = 200) -> list[SastScan]:
    stmt = select(SastScan).order_by(SastScan.uploaded_at.desc(), SastScan.id)
    if repo:
        stmt = stmt.where(SastScan.repo == repo)
    return list(session.scalars(stmt.limit(limit)))


def repos(session: Session) -> list[tuple[str, str | None, int, int]]:
    """Every repository with scans: (repo, service, open findings, open findings still to triage)."""
    out = []
    for repo in sorted(set(session.scalars(select(SastScan.repo)))):
        rows = session.execute(
            select(SastFinding.state, SastFinding.service).where(SastFinding.repo == repo, SastFinding.open.is_(True))
        ).all()
        service = next((s for _, s in rows if s), None)
        out.append((repo, service, len(rows), sum(1 for state, _ in rows if state in ("new", "confirmed"))))
    return out


@dataclass
class HistoryEntry:
    scan: SastScan
    result: SastScanResult
    tool: str


def history(session: Session, finding_id: str) -> list[HistoryEntry]:
    """What every scan said of a finding, oldest first."""
    rows = session.execute(
        select(SastScanResult, SastScan)
        .join(SastScan, SastScan.id == SastScanResult.scan_id)
        .where(SastScanResult.finding_id == finding_id)
        .order_by(SastScan.uploaded_at, SastScanResult.id)
    ).all()
    return [HistoryEntry(scan=scan, result=result, tool=scan.tool) for result, scan in rows]


def sources(session: Session, finding_id: str) -> list[SastSource]:
    return list(
        session.scalars(select(SastSource).where(SastSource.finding_id == finding_id).order_by(SastSource.tool))
    )


def triage_log(session: Session, finding_id: str) -> list[SastTriage]:
    return list(session.scalars(select(SastTriage).where(SastTriage.finding_id == finding_id).order_by(SastTriage.id)))
