"""The vulnerability figures as Prometheus families: open findings and SLA breaches (open past their due
date) per service, team and priority, and accepted risks. One grouped query per family."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.exposition import MetricFamily
from mamori.vulns.models import VulnFinding
from mamori.vulns.states import OPEN_STATES


def families(session: Session, now: datetime) -> list[MetricFamily]:
    cols = (VulnFinding.service, VulnFinding.team, VulnFinding.priority)
    open_ = MetricFamily("mamori_vulns_open_findings", "Open vulnerability findings")
    breached = MetricFamily("mamori_vulns_sla_breaches", "Open vulnerability findings past their SLA due date")
    accepted = MetricFamily("mamori_vulns_risk_accepted", "Vulnerability findings whose risk is accepted")
    for family, where in (
        (open_, VulnFinding.state.in_(OPEN_STATES)),
        (breached, VulnFinding.state.in_(OPEN_STATES) & (VulnFinding.due_at < now)),
        (accepted, VulnFinding.state == "risk_accepted"),
    ):
        for service, team, priority, n in session.execute(
            select(*cols, func.count()).where(where).group_by(*cols).order_by(*cols)
        ):
            family.add(n, {"service": service or "(vendor)", "team": team, "priority": priority})
    return [open_, breached, accepted]
