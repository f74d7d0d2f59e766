"""Incidents as the incidents domain announces them (subscribed in mamori.wiring): the facts that mark
deploys failed and unplanned. Handlers are idempotent, so a redelivered event changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.delivery.models import DeliveryIncident

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
