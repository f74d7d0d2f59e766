"""The service catalog's "Delivery" column: production deploys in the last 30 days and how many failed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mamori.delivery.service import queries

WINDOW = timedelta(days=30)


def render(session: Session, service_names: list[str], now: datetime) -> dict[str, str]:
    out = {}
    for s in queries.service_summaries(session, since=now - WINDOW, services=service_names):
        text = f"{s.production_deploys} prod deploys / 30d"
        if s.failed:
            text += f" · {s.failed} failed"
        out[s.service] = text
    return out
