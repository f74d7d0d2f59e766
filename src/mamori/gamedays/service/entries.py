"""A drill's timeline: adding and reading its lines, steps recorded by hand, flag changes from the audit log,
Chaos Toolkit journals."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, NotFound, ValidationFailed
from mamori.core.models import AuditEntry
from mamori.gamedays import chaos, fis, scoring
from mamori.gamedays.models import Drill, DrillEntry

RECORDABLE = (scoring.ACTION, scoring.FLAG_CHANGED, scoring.RELEASE_FROZEN, scoring.NOTE)
"""What a responder or the game master may record by hand."""


def add_entry(
    session: Session,
    drill: Drill,
    *,
    at: datetime,
    kind: str,
    text: str,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> DrillEntry | None:
    """Append to the drill's timeline; with a `dedupe_key` already used, nothing is added (None)."""
    if dedupe_key is not None and session.scalar(select(DrillEntry.id).where(DrillEntry.dedupe_key == dedupe_key)):
        return None
    entry = DrillEntry(
        drill_id=drill.id, at=at, kind=kind, actor=actor, text=text[:1000], data=data or {}, dedupe_key=dedupe_key
    )
    session.add(entry)
    session.flush()
    return entry


def entries_of(session: Session, drill_id: str) -> list[DrillEntry]:
    return list(
        session.scalars(
            select(DrillEntry).where(DrillEntry.drill_id == drill_id).order_by(DrillEntry.at, DrillEntry.id)
        )
    )


def as_scoring(entries: list[DrillEntry]) -> list[scoring.Entry]:
    return [scoring.Entry(at=e.at, kind=e.kind, actor=e.actor, data=dict(e.data), ref=e.id) for e in entries]


def drill_ids_of(entries: list[DrillEntry]) -> tuple[list[str], list[str]]:
    """The alert groups and incidents a drill's timeline names."""
    groups = sorted({str(e.data["group_id"]) for e in entries if e.data.get("group_id")})
    incidents = sorted({str(e.data["incident_id"]) for e in entries if e.data.get("incident_id")})
    return groups, incidents


def record(
    session: Session,
    *,
    drill: Drill,
    kind: str,
    name: str,
    caller: str,
    at: datetime,
    by: str | None = None,
    text: str = "",
) -> DrillEntry:
    """A step recorded by hand: an action (runbook step, credential rotated), a flag flipped, a freeze, a note.
    The caller records for themself, or for another of the drill's participants (the game master does)."""
    by = (by or "").strip() or caller
    if by != caller and by not in {p.get("user") for p in drill.spec.get("participants", [])}:
        raise ValidationFailed(f"{by!r} is not a participant of this drill; record steps for its participants")
    if kind not in RECORDABLE:
        raise ValidationFailed(f"kind must be one of {', '.join(RECORDABLE)}")
    if not name.strip():
        raise ValidationFailed("name what was done (the action's, flag's or service's name)")
    if drill.started_at is None or at < drill.started_at:
        raise ValidationFailed("the drill has not started yet")
    field = {scoring.FLAG_CHANGED: "flag", scoring.RELEASE_FROZEN: "service"}.get(kind, "name")
    entry = add_entry(
        session, drill, at=at, kind=kind, actor=by, text=text.strip() or f"{kind} {name} by {by}", data={field: name}
    )
    assert entry is not None
    return entry


def collect_flag_changes(session: Session, drill: Drill, *, now: datetime) -> int:
    """Copy flag changes made during the drill (from the audit log) onto its timeline; returns how many new."""
    if drill.started_at is None:
        return 0
    until = drill.ended_at or now
    rows = session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_type == "Flag", AuditEntry.at >= drill.started_at, AuditEntry.at <= until
        )
    )
    added = 0
    for row in rows:
        environment, _, flag = row.object_id.partition("/")
        text = f"flag {flag} {row.action} in {environment} by {row.actor}"
        data = {"flag": flag, "environment": environment, "action": row.action}
        key = f"audit:{row.id}:{drill.id}"
        if add_entry(
            session, drill, at=row.at, kind=scoring.FLAG_CHANGED, actor=row.actor, text=text, data=data, dedupe_key=key
        ):
            added += 1
    return added


def import_journal(session: Session, *, drill: Drill, text: str, actor: str) -> int:
    """A Chaos Toolkit journal onto the drill's timeline, all lines or none; returns how many were new."""
    try:
        journal = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the journal is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        lines = chaos.parse_journal(journal)
    except ValueError as exc:
        raise InvalidInput(f"not a Chaos Toolkit journal: {exc}") from None
    if drill.started_at is None:
        raise NotFound(f"drill {drill.id} has not started")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    added = 0
    for index, line in enumerate(lines):
        data = {"phase": line.phase, "name": line.name, "status": line.status, "journal": digest}
        key = f"chaos:{drill.id}:{digest}:{index}"
        if add_entry(
            session, drill, at=line.at, kind=scoring.CHAOS, actor=actor, text=line.text, data=data, dedupe_key=key
        ):
            added += 1
    return added


def import_fis_events(session: Session, *, drill: Drill, text: str, actor: str) -> int:
    """AWS FIS state-change events (one, or a list) onto the drill's timeline, all or none; returns how many new."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the events are not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        changes = fis.parse_events(data)
    except ValueError as exc:
        raise InvalidInput(f"not an AWS FIS state-change event: {exc}") from None
    if drill.started_at is None:
        raise NotFound(f"drill {drill.id} has not started")
    added = 0
    for change in changes:
        fields = {
            "source": "aws-fis",
            "experiment": change.experiment_id,
            "template": change.template_id,
            "status": change.status,
        }
        key = f"fis:{drill.id}:{change.event_id}"
        if add_entry(
            session, drill, at=change.at, kind=scoring.CHAOS, actor=actor, text=change.text, data=fields, dedupe_key=key
        ):
            added += 1
    return added
