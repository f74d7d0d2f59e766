"""The service catalog's "Code findings" column: open, untriaged SAST findings per service."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.sast.models import SastFinding
from mamori.sast.service.triage import ACTIVE_STATES


def open_code_findings(session: Session, service_names: list[str], now: datetime) -> dict[str, str]:
    rows = session.execute(
        select(SastFinding.service, SastFinding.severity, SastFinding.due_at).where(
            SastFinding.open.is_(True), SastFinding.state.in_(ACTIVE_STATES), SastFinding.service.in_(service_names)
        )
    ).all()
    by_service: dict[str, Counter[str]] = {}
    for service, severity, due in rows:
        counts = by_service.setdefault(service or "", Counter())
        counts["open"] += 1
        counts[severity] += 1
        if due is not None and due < now:
            counts["overdue"] += 1
    out = {}
    for service, c in by_service.items():
        worst = next((s for s in ("critical", "high", "medium", "low") if c[s]), "")
        text = f"{c['open']} open" + (f" (worst {worst})" if worst else "")
        out[service] = text + (f", {c['overdue']} overdue" if c["overdue"] else "")
    return out
