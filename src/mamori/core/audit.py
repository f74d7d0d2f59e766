"""The append-only audit log: who changed what, when, from where, with a before/after diff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.models import AuditEntry

Source = Literal["ui", "api", "cli", "config", "system"]
SOURCES: tuple[str, ...] = ("ui", "api", "cli", "config", "system")


@dataclass(frozen=True)
class Actor:
    """Who is acting, and through which edge. `name` is a user's email or a system component."""

    name: str
    source: Source

    @classmethod
    def system(cls, component: str = "mamori") -> Actor:
        return cls(name=f"system:{component}", source="system")


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """A flat list of changes between two JSON-like values: `{"path", "before", "after"}`."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append({"path": sub, "before": None, "after": after[key]})
            elif key not in after:
                out.append({"path": sub, "before": before[key], "after": None})
            else:
                out.extend(diff(before[key], after[key], sub))
        return out
    if before == after:
        return []
    return [{"path": path or "$", "before": before, "after": after}]


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    at: datetime,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor=actor.name,
        source=actor.source,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        diff=diff(before, after),
        reason=reason,
    )
    session.add(entry)
    return entry


def list_entries(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    query = select(AuditEntry)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if source:
        query = query.where(AuditEntry.source == source)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))
