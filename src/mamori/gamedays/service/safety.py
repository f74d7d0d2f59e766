"""What a drill allows the incident flow (read by incidents through the wiring): who may be paged, whether its
incidents may file real tickets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from mamori.gamedays.models import Drill
from mamori.gamedays.scenario import GameDaySpec

PAGED_ROLES = ("responder", "game-master")
"""Observers watch the drill: they are not paged."""


@dataclass(frozen=True)
class DrillSafety:
    drill_id: str
    pageable: frozenset[str]
    """Lower-cased e-mails; empty once the drill is no longer running (a late escalation step pages nobody)."""
    file_tickets: bool


def safety_of(session: Session, drill_id: str) -> DrillSafety | None:
    """The rules of a drill (None: no such drill)."""
    drill = session.get(Drill, drill_id)
    if drill is None:
        return None
    spec = GameDaySpec.model_validate(drill.spec)
    people = frozenset(p.user.strip().lower() for p in spec.participants if p.role in PAGED_ROLES)
    return DrillSafety(drill.id, people if drill.status == "running" else frozenset(), spec.file_tickets)
