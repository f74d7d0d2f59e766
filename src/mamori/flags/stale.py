"""Stale flags: not evaluated for N days, or fully on in every environment for N days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core import catalog, timeline
from mamori.flags import rollouts, serving
from mamori.flags.models import FlagChange, FlagEvaluationCount, FlagStaleMark


def fully_on(flag: dict[str, Any]) -> bool:
    """Enabled, and every evaluation serves the same truthy variant (no targeting, or a 100% rollout)."""
    if flag.get("state") != "ENABLED":
        return False
    variants = flag.get("variants") or {}
    if flag.get("targeting"):
        return rollouts.rollout_percent(flag) == 100
    return variants.get(flag.get("defaultVariant")) is True


def find_stale(session: Session, *, days: int, now: datetime) -> list[dict[str, Any]]:
    since = now - timedelta(days=days)
    last_eval = dict(
        session.execute(
            select(FlagEvaluationCount.flag_key, func.max(FlagEvaluationCount.last_at)).group_by(
                FlagEvaluationCount.flag_key
            )
        ).all()
    )
    last_change = dict(
        session.execute(
            select(FlagChange.flag_key, func.max(FlagChange.created_at))
            .where(FlagChange.status == "applied")
            .group_by(FlagChange.flag_key)
        ).all()
    )
    environments = serving.list_environments(session)
    keys = sorted({k for row in environments for k in row.document.get("flags", {})})
    out = []
    for key in keys:
        present = [row for row in environments if key in row.document.get("flags", {})]
        oldest_set = min(row.updated_at for row in present)
        reasons = []
        evaluated = last_eval.get(key)
        if (evaluated is None and oldest_set <= since) or (evaluated is not None and evaluated < since):
            reasons.append(f"not evaluated for {days} days")
        changed = last_change.get(key) or oldest_set
        if all(fully_on(row.document["flags"][key]) for row in present) and changed <= since:
            reasons.append(f"fully on in every environment for {days} days")
        if reasons:
            out.append(
                {
                    "key": key,
                    "environments": [r.environment for r in present],
                    "reasons": reasons,
                    "last_evaluated": evaluated.isoformat() if evaluated else None,
                }
            )
    return out


STALE_DAYS = 30
MARK_STALE_JOB = "flags.mark_stale"


def marks(session: Session) -> dict[str, FlagStaleMark]:
    """Flags currently marked stale, by key."""
    return {mark.flag_key: mark for mark in session.scalars(select(FlagStaleMark))}


def mark_stale(session: Session, *, days: int, now: datetime) -> list[str]:
    """Mark flags that became stale (one timeline entry each), refresh known marks, unmark the rest.

    Returns the keys newly marked stale.
    """
    found = {item["key"]: item for item in find_stale(session, days=days, now=now)}
    current = marks(session)
    newly = []
    for key, item in found.items():
        mark = current.get(key)
        if mark is None:
            mark = FlagStaleMark(
                flag_key=key, reasons=item["reasons"], environments=item["environments"], marked_at=now, checked_at=now
            )
            session.add(mark)
            newly.append(key)
            service_name = next(
                (
                    row.service
                    for row in serving.list_environments(session)
                    if row.service and key in row.document.get("flags", {})
                ),
                None,
            )
            timeline.record(
                session,
                at=now,
                kind="flag_change",
                source="flags",
                service=service_name,
                team=catalog.service_team(session, service_name) if service_name else None,
                title=f"flag {key} is stale: {'; '.join(item['reasons'])}",
                data={"flag": key, "reasons": item["reasons"], "environments": item["environments"]},
                dedupe_key=f"flags:stale:{key}:{now.date().isoformat()}",
            )
        mark.reasons, mark.environments, mark.checked_at = item["reasons"], item["environments"], now
    for key, mark in current.items():
        if key not in found:
            session.delete(mark)
    session.flush()
    return newly
