"""On-call health and incident trends: pages per person (per week, out of hours in their own time zone),
incidents by severity, service and team per week, and response times (MTTA, MTTR) of alert groups.

A *page* is one person being notified by one escalation step of one alert group, however many
contact methods it went to. Working hours are Monday to Friday, 09:00 to 18:00 in the person's
time zone (the `timeZone` of the User); everything else is out of hours.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.models import User
from mamori.incidents.eventing import is_drill
from mamori.incidents.models import Alert, AlertGroup, Incident, Notification

WORK_START, WORK_END = time(9, 0), time(18, 0)


def out_of_hours(at: datetime, zone: str) -> bool:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    return local.weekday() >= 5 or not (WORK_START <= local.time() < WORK_END)


def week_start(at: datetime) -> date:
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class PersonLoad:
    user: str
    time_zone: str
    pages: int
    pages_per_week: float
    out_of_hours: int
    by_week: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "time_zone": self.time_zone,
            "pages": self.pages,
            "pages_per_week": self.pages_per_week,
            "out_of_hours": self.out_of_hours,
            "out_of_hours_share": round(self.out_of_hours / self.pages, 3) if self.pages else 0.0,
            "by_week": self.by_week,
        }


def load(
    pages: Iterable[tuple[str, datetime]], zones: dict[str, str], *, since: datetime, until: datetime
) -> list[PersonLoad]:
    """Per person: pages, pages per week over the window, pages out of hours; busiest first. Pure."""
    weeks = max((until - since).total_seconds() / (7 * 86400), 1 / 7)
    per: dict[str, list[datetime]] = defaultdict(list)
    for user, at in pages:
        if since <= at < until:
            per[user].append(at)
    out = []
    for user, times in per.items():
        zone = zones.get(user, "UTC")
        by_week = Counter(week_start(t).isoformat() for t in times)
        out.append(
            PersonLoad(
                user=user,
                time_zone=zone,
                pages=len(times),
                pages_per_week=round(len(times) / weeks, 2),
                out_of_hours=sum(out_of_hours(t, zone) for t in times),
                by_week=dict(sorted(by_week.items())),
            )
        )
    return sorted(out, key=lambda p: (-p.pages, p.user))


def drill_groups(session: Session, group_ids: Iterable[str | None]) -> set[str]:
    """Which of these alert groups are a game day's (their alerts carry the `mamori_drill` label): drills
    never count in MTTA/MTTR, on-call load or incident trends."""
    wanted = sorted({g for g in group_ids if g})
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        rows = session.execute(select(Alert.group_id, Alert.labels).where(Alert.group_id.in_(wanted[i : i + 500])))
        found.update(str(gid) for gid, labels in rows if gid and is_drill(labels or {}))
    return found


def oncall_load(session: Session, *, since: datetime, until: datetime) -> list[PersonLoad]:
    rows = session.execute(
        select(
            Notification.user_email,
            Notification.group_id,
            Notification.round,
            Notification.step,
            Notification.created_at,
        ).where(
            Notification.user_email.is_not(None),
            Notification.status != "skipped",
            Notification.created_at >= since,
            Notification.created_at < until,
        )
    ).all()
    drills = drill_groups(session, (row[1] for row in rows))
    first: dict[tuple[str, str | None, int, int], datetime] = {}
    for email, group, rnd, step, at in rows:
        if group in drills:
            continue
        key = (str(email), group, rnd, step)
        first[key] = min(first.get(key, at), at)
    emails = {k[0] for k in first}
    zones = (
        {
            u.email.lower(): u.time_zone or "UTC"
            for u in session.scalars(select(User).where(func.lower(User.email).in_(emails)))
        }
        if emails
        else {}
    )
    return load(((k[0], at) for k, at in first.items()), zones, since=since, until=until)


def incident_trends(session: Session, *, since: datetime, until: datetime) -> dict[str, Any]:
    """Incidents declared per week (UTC, weeks start on Monday) by severity, service and team."""
    incidents = _real(
        session, session.scalars(select(Incident).where(Incident.declared_at >= since, Incident.declared_at < until))
    )
    buckets: dict[str, dict[str, Counter[str]]] = {}
    week = week_start(since)
    while datetime.combine(week, time(0), UTC) < until:
        buckets[week.isoformat()] = {"by_severity": Counter(), "by_service": Counter(), "by_team": Counter()}
        week += timedelta(days=7)
    for incident in incidents:
        b = buckets.setdefault(
            week_start(incident.declared_at).isoformat(),
            {"by_severity": Counter(), "by_service": Counter(), "by_team": Counter()},
        )
        b["by_severity"][incident.severity] += 1
        b["by_service"][incident.service or "(none)"] += 1
        b["by_team"][incident.team or "(none)"] += 1
    weeks = [
        {"week": name, "total": sum(b["by_severity"].values()), **{k: dict(sorted(v.items())) for k, v in b.items()}}
        for name, b in sorted(buckets.items())
    ]
    totals: dict[str, Counter[str]] = {"by_severity": Counter(), "by_service": Counter(), "by_team": Counter()}
    for b in buckets.values():
        for k, v in b.items():
            totals[k].update(v)
    return {"weeks": weeks, "total": len(incidents), **{k: dict(sorted(v.items())) for k, v in totals.items()}}


def _real(session: Session, incidents: Iterable[Incident]) -> list[Incident]:
    """The incidents that are not a drill's (declared from a drill's alert group)."""
    rows = list(incidents)
    drills = drill_groups(session, (i.group_id for i in rows))
    return [i for i in rows if i.group_id not in drills]


def response_times(session: Session, *, since: datetime, until: datetime) -> dict[str, Any]:
    """MTTA (alert groups: opened -> acknowledged) and MTTR (opened -> resolved), plus incidents by severity."""
    all_groups = session.scalars(
        select(AlertGroup).where(AlertGroup.opened_at >= since, AlertGroup.opened_at < until)
    ).all()
    drills = drill_groups(session, (g.id for g in all_groups))
    groups = [g for g in all_groups if g.id not in drills]
    acks = [(g.acknowledged_at - g.opened_at).total_seconds() for g in groups if g.acknowledged_at]
    fixes = [(g.resolved_at - g.opened_at).total_seconds() for g in groups if g.resolved_at]
    incidents = _real(
        session, session.scalars(select(Incident).where(Incident.declared_at >= since, Incident.declared_at < until))
    )
    by_severity: dict[str, int] = {}
    for incident in incidents:
        by_severity[incident.severity] = by_severity.get(incident.severity, 0) + 1
    return {
        "alert_groups": len(groups),
        "mtta_seconds": sum(acks) / len(acks) if acks else None,
        "mttr_seconds": sum(fixes) / len(fixes) if fixes else None,
        "incidents": len(incidents),
        "incidents_by_severity": by_severity,
    }
