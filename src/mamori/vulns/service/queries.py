"""Read models of findings for pages, the API and the digest: one finding, filtered lists, exposure."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, NotFound
from mamori.vulns.models import VulnFinding
from mamori.vulns.states import OPEN_STATES, STATES


def get_finding(session: Session, finding_id: str, *, for_update: bool = False) -> VulnFinding:
    """One finding; `for_update` locks its row (PostgreSQL) and re-reads it, so a decision is never made on a
    stale read (a row this session loaded earlier is refreshed, not returned as it was)."""
    f = session.get(VulnFinding, finding_id, with_for_update=for_update or None, populate_existing=for_update)
    if f is None:
        raise NotFound(f"no finding {finding_id!r}")
    return f


def list_findings(
    session: Session,
    *,
    state: list[str] | None = None,
    service: str | None = None,
    priority: str | None = None,
    kind: str | None = None,
    package: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 500,
) -> list[VulnFinding]:
    query = select(VulnFinding)
    if state and "all" not in state:
        unknown = sorted(set(state) - set(STATES) - {"open"})
        if unknown:
            raise InvalidInput(f"unknown state {unknown[0]!r}; expected one of all, open, {', '.join(STATES)}")
        wanted = {s for s in state if s != "open"} | (set(OPEN_STATES) if "open" in state else set())
        query = query.where(VulnFinding.state.in_(sorted(wanted)))
    if service:
        query = query.where(VulnFinding.service == service)
    if priority:
        query = query.where(VulnFinding.priority == priority)
    if kind:
        query = query.where(VulnFinding.kind == kind)
    if package:
        query = query.where(VulnFinding.package == package)
    if overdue_at is not None:  # a game day's drill finding has no SLA
        query = query.where(VulnFinding.state.in_(OPEN_STATES), VulnFinding.due_at < overdue_at)
        query = query.where(VulnFinding.kind != "drill")
    query = query.order_by(VulnFinding.priority, VulnFinding.due_at, VulnFinding.id).limit(limit)
    return list(session.scalars(query))


AGE_BUCKETS = ((7, "0-7d"), (30, "8-30d"), (90, "31-90d"))


def exposure(session: Session, *, now: datetime) -> dict[str, Any]:
    """Open findings by priority, age and service, plus SLA breaches and accepted risks."""
    by_priority: dict[str, int] = {p: 0 for p in ("P1", "P2", "P3", "P4")}
    by_age: dict[str, int] = {label: 0 for _, label in AGE_BUCKETS} | {">90d": 0}
    by_service: dict[str, dict[str, int]] = defaultdict(lambda: {"open": 0, "breached": 0})
    breached = accepted = 0
    counted = VulnFinding.state.in_([*OPEN_STATES, "risk_accepted"]), VulnFinding.kind != "drill"  # not drills
    for f in session.scalars(select(VulnFinding).where(*counted)):
        if f.state == "risk_accepted":
            accepted += 1
            continue
        by_priority[f.priority] = by_priority.get(f.priority, 0) + 1
        age = (now - f.first_seen_at).days
        by_age[next((label for limit, label in AGE_BUCKETS if age <= limit), ">90d")] += 1
        svc = by_service[f.service or "(vendor)"]
        svc["open"] += 1
        if f.due_at is not None and f.due_at < now:
            svc["breached"] += 1
            breached += 1
    return {
        "open": sum(by_priority.values()),
        "by_priority": by_priority,
        "by_age": by_age,
        "by_service": dict(sorted(by_service.items())),
        "sla_breaches": breached,
        "risk_accepted": accepted,
    }


def sla_breaches(session: Session, *, now: datetime) -> list[VulnFinding]:
    return list_findings(session, overdue_at=now)
