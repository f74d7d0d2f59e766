"""Read models for the dashboard and catalog slots: on call now/next, open incidents per service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import catalog, manifest
from mamori.core.duration import format_duration
from mamori.incidents.alerts import reach
from mamori.incidents.kinds import ALERT_ROUTE, POLICY
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import AlertRouteSpec, EscalationPolicySpec, Notify, ScheduleSpec
from mamori.incidents.models import Incident
from mamori.incidents.oncall import rotation


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


def burn_reach_by_service(session: Session, services: list[str], now: datetime) -> dict[str, str]:
    """The catalog's "SLO burns page" column: whom a page-level burn of each service reaches, or why nobody."""
    view = reach.OnCallView.stored(session)
    out: dict[str, str] = {}
    for name in services:
        routed = reach.burn_route(view, reach.burn_labels(slo="", service=name, severity="page"))
        found = routed.reach
        if found.reachable:
            whom = [*found.people, *found.channels]
            out[name] = f"policy {found.policy}: {', '.join(whom[:3])}{' …' if len(whom) > 3 else ''}"
        else:
            out[name] = f"nobody: {found.why if found.policy else routed.how}"
    return out


@dataclass(frozen=True)
class PolicyView:
    name: str
    steps: list[dict[str, str]]
    repeat: int
    routes: list[str]


def _notify_text(notify: Notify) -> str:
    parts = []
    if notify.schedule:
        parts.append(f"on call in schedule {notify.schedule}")
    if notify.users:
        parts.append(", ".join(notify.users))
    if notify.team:
        parts.append(f"team {notify.team} channel")
    return "; ".join(parts)


def policies(session: Session) -> list[PolicyView]:
    """Escalation policies with their steps in words and the alert routes that use them."""
    stored = manifest.stored_specs(session, kind=POLICY)
    routes = {
        name: AlertRouteSpec.model_validate(raw)
        for name, raw in manifest.stored_specs(session, kind=ALERT_ROUTE).items()
    }
    out = []
    for name, raw in sorted(stored.items()):
        spec = EscalationPolicySpec.model_validate(raw)
        steps = [{"notify": _notify_text(s.notify), "after": format_duration(s.escalate_after)} for s in spec.steps]
        users = [
            f"{rname} {'default' if i is None else f'route {i}'}"
            for rname, r in sorted(routes.items())
            for i, rs in [*((i, x.set) for i, x in enumerate(r.routes)), (None, r.default)]
            if rs.escalation_policy == name
        ]
        out.append(PolicyView(name, steps, spec.repeat, users))
    return out


@dataclass(frozen=True)
class Cell:
    user: str | None
    layer: str | None

    @property
    def override(self) -> bool:
        return self.layer == rotation.OVERRIDE


@dataclass(frozen=True)
class WeekGrid:
    schedule: str
    time_zone: str
    monday: date
    days: list[date]
    hours: list[tuple[int, list[Cell]]]
    shifts: list[rotation.Shift]


def week_grid(name: str, spec: ScheduleSpec, monday: date) -> WeekGrid:
    """Who is on call at the start of each local hour of the week from `monday` (the schedule's zone)."""
    tz = ZoneInfo(spec.time_zone)
    start = rotation.local_to_utc(datetime.combine(monday, time(0)), tz)
    end = rotation.local_to_utc(datetime.combine(monday + timedelta(days=7), time(0)), tz)
    shifts = rotation.final_shifts(spec, start, end)
    days = [monday + timedelta(days=d) for d in range(7)]

    def at(instant: datetime) -> Cell:
        for shift in shifts:
            if shift.start <= instant < shift.end:
                return Cell(shift.user, shift.layer)
        return Cell(None, None)

    hours = [(h, [at(rotation.local_to_utc(datetime.combine(day, time(h)), tz)) for day in days]) for h in range(24)]
    return WeekGrid(name, spec.time_zone, monday, days, hours, shifts)


def local_monday(spec: ScheduleSpec, now: datetime) -> date:
    today = now.astimezone(ZoneInfo(spec.time_zone)).date()
    return today - timedelta(days=today.weekday())
