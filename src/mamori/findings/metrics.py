"""The security-findings queue's figures as Prometheus families: open findings and SLA breaches (open past
their due date) per service, team and priority; suppressed and resolved findings do not count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.exposition import MetricFamily
from mamori.findings.models import FindingRow
from mamori.findings.states import OPEN_STATES


def families(session: Session, now: datetime) -> list[MetricFamily]:
    cols = (FindingRow.service, FindingRow.team, FindingRow.priority)
    live = (FindingRow.status == "active") & FindingRow.state.in_(OPEN_STATES) & FindingRow.suppressed_by.is_(None)
    open_ = MetricFamily("mamori_findings_open", "Open security findings")
    breached = MetricFamily("mamori_findings_sla_breaches", "Open security findings past their SLA due date")
    for family, where in ((open_, live), (breached, live & (FindingRow.due_at < now))):
        for service, team, priority, n in session.execute(
            select(*cols, func.count()).where(where).group_by(*cols).order_by(*cols)
        ):
            family.add(n, {"service": service, "team": team, "priority": priority})
    return [open_, breached]
