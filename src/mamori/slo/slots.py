"""What the slo domain adds to the service catalog: the "SLO status" column."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.slo.models import SloStatus
from mamori.slo.service import enforcement, queries


def catalog_slot(session: Session, service_names: list[str], now: datetime) -> dict[str, str]:
    """The catalog's "SLO status" column: how many SLOs, the lowest budget left, what is burning or frozen."""
    out: dict[str, str] = {}
    statuses: dict[str, list[SloStatus]] = {}
    for status in queries.list_status(session):
        statuses.setdefault(status.service, []).append(status)
    burning: dict[str, set[str]] = {}
    for alert in queries.list_alerts(session, status="firing"):
        burning.setdefault(alert.service, set()).add(alert.severity)
    for name in service_names:
        rows = statuses.get(name)
        if not rows:
            continue
        worst = min(rows, key=lambda r: r.remaining)
        text = f"{len(rows)} SLO{'s' if len(rows) != 1 else ''} · lowest budget {worst.remaining:.0%} ({worst.slo})"
        if burning.get(name):
            text += " · burning: " + "/".join(sorted(burning[name]))
        if enforcement.active_freezes(session, service=name):
            text += " · releases frozen"
        out[name] = text
    return out
