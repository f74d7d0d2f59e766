"""Calendar feeds: the final shifts of a schedule, or of one person across every schedule, as iCalendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mamori.core.config import Settings
from mamori.core.errors import NotFound
from mamori.incidents.alerts.signing import feed_token, verify_feed
from mamori.incidents.kinds import stored as config
from mamori.incidents.oncall import ical, rotation

PAST, FUTURE = timedelta(days=14), timedelta(days=90)


def feed_url(settings: Settings, *, kind: str, name: str) -> str:
    token = feed_token(settings.signing_key(), kind=kind, name=name)
    return f"{settings.base_url.rstrip('/')}/hooks/oncall/ical/{token}.ics"


def schedule_feed(session: Session, name: str, *, now: datetime) -> str:
    spec = config.schedule(session, name)
    shifts = rotation.final_shifts(spec, now - PAST, now + FUTURE)
    return ical.calendar(((name, s) for s in shifts), name=f"On call: {name}", now=now)


def user_feed(session: Session, email: str, *, now: datetime) -> str:
    email = email.lower()
    mine = [
        (name, shift)
        for name, spec in sorted(config.schedules(session).items())
        for shift in rotation.final_shifts(spec, now - PAST, now + FUTURE)
        if shift.user == email
    ]
    return ical.calendar(mine, name=f"On call: {email}", now=now)


def feed(session: Session, settings: Settings, token: str, *, now: datetime) -> str:
    """The calendar a feed URL stands for; a forged or altered token is refused (403)."""
    kind, name = verify_feed(settings.signing_key(), token)
    if kind == "schedule":
        return schedule_feed(session, name, now=now)
    if not name:
        raise NotFound("no user")
    return user_feed(session, name, now=now)
