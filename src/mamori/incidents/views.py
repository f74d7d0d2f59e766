"""Read models for the dashboard and catalog slots: on call now/next, open incidents per service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import catalog
from mamori.incidents import config, rotation
from mamori.incidents.models import Incident


@dataclass(frozen=True)
class OnCall:
    schedule: str
    time_zone: str
    now: rotation.Shift
    next: rotation.Shift | None


def on_call(session: Session, *, now: datetime) -> list[OnCall]:
    out = []
    for name, spec in sorted(config.schedules(session).items()):
        current = rotation.final_shifts(spec, now, now + timedelta(days=30))[0]
        out.append(OnCall(name, spec.time_zone, current, rotation.next_shift(spec, now)))
    return out


def open_incidents_by_service(session: Session, services: list[str], now: datetime) -> dict[str, str]:
    rows = session.scalars(select(Incident).where(Incident.status != "resolved", Incident.service.in_(services)))
    out: dict[str, str] = {}
    for incident in rows:
        label = f"#{incident.number} {incident.severity}"
        out[incident.service or ""] = f"{out[incident.service or '']}, {label}" if incident.service in out else label
    return out


def on_call_by_service(session: Session, services: list[str], now: datetime) -> dict[str, str]:
    """The person on call in a schedule named after the service or its owning team (`<name>-primary` too)."""
    schedules = config.schedules(session)
    out: dict[str, str] = {}
    for name in services:
        team = catalog.service_team(session, name)
        for candidate in (name, f"{name}-primary", team, f"{team}-primary"):
            if candidate and candidate in schedules:
                shift = rotation.who(schedules[candidate], now)
                out[name] = shift.user or "nobody (gap)"
                break
    return out
