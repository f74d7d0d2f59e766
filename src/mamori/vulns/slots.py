"""The service catalog's "Open findings" column."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.vulns.models import VulnFinding
from mamori.vulns.states import OPEN_STATES


def open_findings(session: Session, service_names: list[str], now: datetime) -> dict[str, str]:
    rows = session.execute(
        select(VulnFinding.service, VulnFinding.priority, VulnFinding.due_at).where(
            VulnFinding.state.in_(OPEN_STATES), VulnFinding.service.in_(service_names)
        )
    ).all()
    by_service: dict[str, Counter[str]] = {}
    for service, priority, due in rows:
        counts = by_service.setdefault(service or "", Counter())
        counts["open"] += 1
        counts[priority] += 1
        if due is not None and due < now:
            counts["overdue"] += 1
    out = {}
    for service, c in by_service.items():
        worst = min(p for p in ("P1", "P2", "P3", "P4") if c[p]) if any(c[p] for p in ("P1", "P2", "P3", "P4")) else ""
        text = f"{c['open']} open" + (f" (worst {worst})" if worst else "")
        out[service] = text + (f", {c['overdue']} overdue" if c["overdue"] else "")
    return out
