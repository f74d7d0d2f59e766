"""Read models of the queue for pages and the API: filtered lists, one finding with its history, counts and
SLA per service and team, and what changed since a given time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.findings.models import FindingHistory, FindingRow, FindingSource, ImportRun
from mamori.findings.records import SEVERITIES
from mamori.findings.states import OPEN_STATES, STATES

DUE_SOON = timedelta(days=7)


@dataclass(frozen=True)
class Filters:
    tool: str | None = None
    account: str | None = None
    service: str | None = None
    severity: str | None = None
    state: str | None = "open"
    """open (active, untriaged or being worked on, not suppressed), suppressed, resolved, all, or a triage state."""
    sla: str | None = None
    """overdue or due_soon."""
    kind: str | None = None


QUEUE_STATES = ("open", "suppressed", "resolved", "all", *STATES)
SLA_FILTERS = ("overdue", "due_soon")


def check(flt: Filters) -> Filters:
    """The filters, or an InvalidInput naming the one that has no meaning."""
    if flt.state is not None and flt.state not in QUEUE_STATES:
        raise InvalidInput(f"state must be one of {', '.join(QUEUE_STATES)}, got {flt.state!r}")
    if flt.sla is not None and flt.sla not in SLA_FILTERS:
        raise InvalidInput(f"sla must be overdue or due_soon, got {flt.sla!r}")
    if flt.severity is not None and flt.severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}, got {flt.severity!r}")
    return flt


def _where(query: Any, flt: Filters, now: datetime) -> Any:
    """`query` narrowed by the filters (any select over findings_queue)."""
    if flt.state == "open":
        query = query.where(
            FindingRow.status == "active", FindingRow.state.in_(OPEN_STATES), FindingRow.suppressed_by.is_(None)
        )
    elif flt.state == "suppressed":
        query = query.where(FindingRow.status == "active", FindingRow.suppressed_by.is_not(None))
    elif flt.state == "resolved":
        query = query.where(FindingRow.status == "resolved")
    elif flt.state and flt.state != "all":
        query = query.where(FindingRow.state == flt.state)
    for column, value in (
        (FindingRow.account, flt.account),
        (FindingRow.service, flt.service),
        (FindingRow.severity, flt.severity),
        (FindingRow.kind, flt.kind),
    ):
        if value:
            query = query.where(column == value)
    if flt.tool:
        query = query.where(FindingRow.id.in_(select(FindingSource.finding_id).where(FindingSource.tool == flt.tool)))
    if flt.sla == "overdue":
        query = query.where(FindingRow.due_at < now)
    elif flt.sla == "due_soon":
        query = query.where(FindingRow.due_at >= now, FindingRow.due_at < now + DUE_SOON)
    return query


def list_findings(session: Session, *, filters: Filters, now: datetime, limit: int = 500) -> list[FindingRow]:
    query = _where(select(FindingRow), check(filters), now)
    query = query.order_by(FindingRow.priority, FindingRow.due_at, FindingRow.id).limit(limit)
    return list(session.scalars(query))


def history(session: Session, finding_id: str) -> list[FindingHistory]:
    return list(
        session.scalars(
            select(FindingHistory)
            .where(FindingHistory.finding_id == finding_id)
            .order_by(FindingHistory.at, FindingHistory.id)
        )
    )


def counts(session: Session, *, now: datetime) -> dict[str, Any]:
    """Open findings per service and per team by priority, with overdue and due-soon counts (the SLA chart)."""
    rows = session.execute(
        _where(select(FindingRow.service, FindingRow.team, FindingRow.priority, FindingRow.due_at), Filters(), now)
    ).all()
    services: dict[str, Counter[str]] = {}
    teams: dict[str, Counter[str]] = {}
    for service, team, priority, due in rows:
        for table, name in ((services, service or "(unmapped)"), (teams, team or "(no team)")):
            c = table.setdefault(name, Counter())
            c["open"] += 1
            c[priority] += 1
            c["overdue"] += due is not None and due < now
            c["due_soon"] += due is not None and now <= due < now + DUE_SOON
    return {
        "services": {k: dict(v) for k, v in sorted(services.items())},
        "teams": {k: dict(v) for k, v in sorted(teams.items())},
        "open": len(rows),
    }


def changes_since(session: Session, *, since: datetime) -> dict[str, Any]:
    """What changed since `since`: new, resolved, reopened findings and decisions, with the imports."""
    rows = session.execute(
        select(FindingHistory.event, func.count()).where(FindingHistory.at >= since).group_by(FindingHistory.event)
    ).all()
    recent = session.scalars(
        select(FindingHistory)
        .where(FindingHistory.at >= since, FindingHistory.event != "updated")
        .order_by(FindingHistory.at.desc())
        .limit(50)
    ).all()
    imports = session.scalars(
        select(ImportRun).where(ImportRun.at >= since).order_by(ImportRun.at.desc()).limit(20)
    ).all()
    return {
        "since": since.isoformat(),
        "events": {event: int(n) for event, n in rows},
        "recent": recent,
        "imports": imports,
    }
