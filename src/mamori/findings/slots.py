"""The service catalog's "Security findings" column: open findings per service, the worst priority, overdue."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.findings.models import FindingRow
from mamori.findings.states import OPEN_STATES


def open_findings(session: Session, service_names: list[str], now: datetime) -> dict[str, str]:
    rows = session.execute(
        select(FindingRow.service, FindingRow.priority, FindingRow.due_at).where(
            FindingRow.status == "active",
            FindingRow.state.in_(OPEN_STATES),
            FindingRow.suppressed_by.is_(None),
            FindingRow.service.in_(service_names),
        )
    ).all()
    by_service: dict[str, Counter[str]] = {}
    for service, priority, due in rows:
        counts = by_service.setdefault(service or "", Counter())
        counts["open"] += 1
        counts[priority] += 1
        counts["overdue"] += due is not None and due < now
    out = {}
    for service, c in by_service.items():
        worst = next((p for p in ("P1", "P2", "P3", "P4") if c[p]), "")
        text = f"{c['open']} open" + (f" (worst {worst})" if worst else "")
        out[service] = text + (f", {c['overdue']} overdue" if c["overdue"] else "")
    return out
