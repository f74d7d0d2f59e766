"""The delivery figures as Prometheus families for the kernel's `/metrics` scrape (and `/metrics/delivery`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core.exposition import MetricFamily
from mamori.delivery import kinds
from mamori.delivery.service import export
from mamori.delivery.sinks import exposition


def families(session: Session, now: datetime) -> list[MetricFamily]:
    return exposition.families(export.collect(session, now=now, policy=kinds.policy(session)))
