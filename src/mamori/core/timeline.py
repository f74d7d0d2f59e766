"""The unified timeline: every domain records what happened to which service and team."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.models import TimelineEvent

KINDS = (
    "deploy",
    "flag_change",
    "alert",
    "incident",
    "slo_burn",
    "slo_policy",
    "finding",
    "vendor_incident",
    "config",
    "note",
)


def record(
    session: Session,
    *,
    at: datetime,
    kind: str,
    source: str,
    title: str,
    service: str | None = None,
    team: str | None = None,
    data: dict[str, Any] | None = None,
    ref: str | None = None,
    dedupe_key: str | None = None,
) -> TimelineEvent | None:
    """Add an event; with a `dedupe_key` a second call for the same key adds nothing and returns None."""
    if dedupe_key is not None:
        exists = session.scalar(select(TimelineEvent.id).where(TimelineEvent.dedupe_key == dedupe_key))
        if exists is not None:
            return None
    event = TimelineEvent(
        at=at,
        kind=kind,
        source=source,
        title=title[:500],
        service=service,
        team=team,
        data=data or {},
        ref=ref,
        dedupe_key=dedupe_key,
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    services: list[str] | None = None,
    kinds: list[str] | None = None,
    team: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[TimelineEvent]:
    query = select(TimelineEvent)
    if services:
        query = query.where(TimelineEvent.service.in_(services))
    if kinds:
        query = query.where(TimelineEvent.kind.in_(kinds))
    if team:
        query = query.where(TimelineEvent.team == team)
    if since:
        query = query.where(TimelineEvent.at >= since)
    if until:
        query = query.where(TimelineEvent.at < until)
    query = query.order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(limit)
    return list(session.scalars(query))
