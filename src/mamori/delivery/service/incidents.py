"""Incidents as the incidents domain announces them (subscribed in mamori.wiring): the facts that mark
deploys failed and unplanned. Handlers are idempotent, so a redelivered event changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.delivery.models import DeliveryIncident, DeliveryPage

DRILL_LABEL = "mamori_drill"


def note_declared(
    session: Session,
    *,
    incident_id: str,
    service: str | None,
    severity: str,
    title: str,
    labels: dict[str, str],
    at: datetime,
) -> DeliveryIncident:
    row = session.get(DeliveryIncident, incident_id)
    if row is None:
        row = DeliveryIncident(incident_id=incident_id, declared_at=at)
        session.add(row)
    row.service, row.severity, row.title = service, severity, title[:2000]
    row.drill = DRILL_LABEL in labels
    row.declared_at = min(row.declared_at, at)
    session.flush()
    return row


def note_resolved(session: Session, *, incident_id: str, service: str | None, severity: str, at: datetime) -> None:
    """The resolution; an incident whose declaration was never seen is recorded as declared when resolved
    (so its recovery counts as zero rather than being lost)."""
    row = session.get(DeliveryIncident, incident_id)
    if row is None:
        row = DeliveryIncident(incident_id=incident_id, service=service, severity=severity, title="", declared_at=at)
        session.add(row)
    if row.resolved_at is None or at < row.resolved_at:
        row.resolved_at = at
    session.flush()


def note_paged(
    session: Session,
    *,
    event_id: str,
    person: str,
    service: str | None,
    group_id: str,
    labels: dict[str, str],
    at: datetime,
) -> None:
    """One page to one person (a redelivered event is counted once, by its id)."""
    if session.scalar(select(DeliveryPage.id).where(DeliveryPage.event_id == event_id)) is not None:
        return
    tags = sorted({*labels, *(f"{k}={v}" for k, v in labels.items())})
    session.add(DeliveryPage(event_id=event_id, person=person[:300], service=service, group_id=group_id,
                             drill=DRILL_LABEL in labels, at=at, tags=tags))  # fmt: skip
    session.flush()


def pages_per_person(session: Session, *, since: datetime, service: str | None = None) -> list[tuple[str, int]]:
    """People by the pages they received since `since` (drills left out), most paged first."""
    query = (
        select(DeliveryPage.person, func.count())
        .where(DeliveryPage.at >= since, DeliveryPage.drill.is_(False))
        .group_by(DeliveryPage.person)
    )
    if service is not None:
        query = query.where(DeliveryPage.service == service)
    return sorted(((p, int(n)) for p, n in session.execute(query)), key=lambda x: (-x[1], x[0]))
