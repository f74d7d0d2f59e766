"""The service catalog's "Game days" column: each service's last drill and its team score."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.gamedays.models import Drill, DrillScore


def last_drill(session: Session, service_names: list[str], _now: datetime) -> dict[str, str]:
    wanted = set(service_names)
    out: dict[str, str] = {}
    for drill in session.scalars(select(Drill).where(Drill.started_at.is_not(None)).order_by(Drill.started_at.desc())):
        services = [s for s in drill.spec.get("services", []) if s in wanted and s not in out]
        if not services:
            continue
        scores = list(session.scalars(select(DrillScore).where(DrillScore.drill_id == drill.id)))
        weight = sum(s.weight for s in scores)
        text = f"{drill.title} ({drill.status}"
        text += f", {100 * sum(s.points for s in scores) / weight:.0f}%)" if weight else ")"
        for name in services:
            out[name] = text
    return out
