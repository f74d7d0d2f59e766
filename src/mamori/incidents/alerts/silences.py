"""Silences and maintenance windows: what keeps a matching alert from paging, and for how long."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.errors import NotFound, ValidationFailed
from mamori.incidents.alerts.matchers import matches_all, parse_matchers
from mamori.incidents.models import MaintenanceWindow, Silence


def suppression(session: Session, *, labels: dict[str, str], service: str | None, now: datetime) -> str | None:
    """`silence:<id>` or `maintenance:<id>` when an active silence or maintenance window covers the alert."""
    for silence in session.scalars(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)):
        if matches_all(parse_matchers(silence.matchers), labels):
            return f"silence:{silence.id}"
    if service:
        for window in session.scalars(
            select(MaintenanceWindow).where(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now)
        ):
            if service in window.services:
                return f"maintenance:{window.id}"
    return None


def create_silence(
    session: Session,
    *,
    matchers: list[str],
    starts_at: datetime,
    ends_at: datetime,
    comment: str,
    actor: Actor,
    now: datetime,
) -> Silence:
    if not matchers:
        raise ValidationFailed("a silence needs at least one matcher")
    try:
        parse_matchers(matchers)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    if ends_at <= starts_at:
        raise ValidationFailed("a silence must end after it starts")
    silence = Silence(
        matchers=matchers, starts_at=starts_at, ends_at=ends_at, comment=comment, created_by=actor.name, created_at=now
    )
    session.add(silence)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        object_type="Silence",
        object_id=silence.id,
        at=now,
        after={"matchers": matchers, "ends_at": ends_at.isoformat()},
    )
    return silence


def expire_silence(session: Session, *, silence_id: str, actor: Actor, now: datetime) -> Silence:
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFound(f"no silence {silence_id!r}")
    silence.ends_at = min(silence.ends_at, now)
    audit.record(session, actor=actor, action="expire", object_type="Silence", object_id=silence.id, at=now)
    return silence


def create_maintenance(
    session: Session,
    *,
    services: list[str],
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: Actor,
    now: datetime,
) -> MaintenanceWindow:
    services = list(dict.fromkeys(s.strip() for s in services if s.strip()))
    if not services:
        raise ValidationFailed("a maintenance window needs at least one service")
    if ends_at <= starts_at:
        raise ValidationFailed("a maintenance window must end after it starts")
    window = MaintenanceWindow(
        services=services, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=actor.name, created_at=now
    )
    session.add(window)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        object_type="MaintenanceWindow",
        object_id=window.id,
        at=now,
        after={
            "services": services,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": reason,
        },
    )
    return window


def list_maintenance(session: Session, *, now: datetime, include_past: bool = False) -> list[MaintenanceWindow]:
    query = select(MaintenanceWindow)
    if not include_past:
        query = query.where(MaintenanceWindow.ends_at > now)
    return list(session.scalars(query.order_by(MaintenanceWindow.starts_at)))


def delete_maintenance(session: Session, *, window_id: str, actor: Actor, now: datetime) -> None:
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound(f"no maintenance window {window_id!r}")
    before = {
        "services": window.services,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
    }
    session.delete(window)
    audit.record(
        session,
        actor=actor,
        action="delete",
        object_type="MaintenanceWindow",
        object_id=window_id,
        at=now,
        before=before,
    )
