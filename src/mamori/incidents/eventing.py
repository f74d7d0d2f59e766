"""The fields every published incidents event carries: an alert group's labels (those of the alert that
opened it), so a subscriber can tell a drill (label `mamori_drill`) from a real alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.incidents.models import Alert, AlertGroup, Incident

DRILL_LABEL = "mamori_drill"


def group_labels(session: Session, group_id: str | None) -> dict[str, str]:
    """The labels of the first alert of a group (empty for no group)."""
    if not group_id:
        return {}
    labels = session.scalar(
        select(Alert.labels).where(Alert.group_id == group_id).order_by(Alert.first_seen_at, Alert.id).limit(1)
    )
    return {str(k): str(v) for k, v in (labels or {}).items()}


def is_drill(labels: dict[str, str]) -> bool:
    return bool(labels.get(DRILL_LABEL))


def drill_prefix(title: str, labels: dict[str, str]) -> str:
    """`[DRILL] title` for a drill's alerts, the title otherwise."""
    return f"[DRILL] {title}" if is_drill(labels) and not title.startswith("[DRILL]") else title


def group_fields(session: Session, group: AlertGroup) -> dict[str, object]:
    return {
        "group_id": group.id,
        "service": group.service,
        "severity": group.severity,
        "labels": group_labels(session, group.id),
    }


def incident_fields(session: Session, incident: Incident, *, now: datetime) -> dict[str, Any]:
    """What every incident event carries (the labels of the alert group it was declared from)."""
    return {
        "incident_id": incident.id,
        "number": incident.number,
        "service": incident.service,
        "severity": incident.severity,
        "group_id": incident.group_id,
        "labels": group_labels(session, incident.group_id),
        "at": now,
    }
