"""What the slo domain tells about each service's place in the Service Reliability Hierarchy.

Monitoring: an SLO fed with events (evaluated within the last hour) and burn alerts that page. Testing and
release procedures: an error-budget policy that gates releases (a freeze action, answered by the deploy gate).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.runtime import ReliabilitySignal
from mamori.slo.kinds import POLICY_KIND
from mamori.slo.kinds.policy import ErrorBudgetPolicySpec
from mamori.slo.models import SloDocument, SloStatus
from mamori.slo.service import objectives

FRESH = timedelta(hours=1)


def signals(session: Session, services: list[str], now: datetime) -> dict[str, list[ReliabilitySignal]]:
    wanted = set(services)
    status: dict[str, list[SloStatus]] = {}
    for row in session.scalars(select(SloStatus).where(SloStatus.service.in_(wanted))):
        status.setdefault(row.service, []).append(row)
    paging: dict[str, set[str]] = {}
    slos: dict[str, set[str]] = {}
    for objective in objectives.list_objectives(session):
        if objective.service in wanted:
            slos.setdefault(objective.service, set()).add(objective.slo)
            if any(rule.severity == "page" for rule in objective.rules):
                paging.setdefault(objective.service, set()).add(objective.slo)
    policies = [
        (row.name, ErrorBudgetPolicySpec.model_validate(row.spec))
        for row in session.scalars(
            select(SloDocument).where(SloDocument.kind == POLICY_KIND).order_by(SloDocument.name)
        )
    ]
    out: dict[str, list[ReliabilitySignal]] = {}
    for name in services:
        rows = status.get(name, [])
        fed = [r for r in rows if r.total > 0 and r.evaluated_at >= now - FRESH]
        if fed:
            data = f"{len({r.slo for r in fed})} SLO(s) fed with {sum(r.total for r in fed)} events in their windows"
        elif rows:
            data = "its SLOs have no events, or no evaluation in the last hour"
        else:
            data = "no SLO"
        pages = sorted(paging.get(name, set()))
        gates = [
            policy
            for policy, spec in policies
            if any(action.type == "freeze" for rule in spec.rules for action in rule.actions)
            and any(spec.covers(slo=slo, service=name) for slo in slos.get(name, ()))
        ]
        out[name] = [
            ReliabilitySignal("monitoring", "SLOs fed with data", bool(fed), data),
            ReliabilitySignal(
                "monitoring",
                "burn alerts that page",
                bool(pages),
                f"page-level burn rules on {', '.join(pages)}" if pages else "no SLO with a page-level burn rule",
            ),
            ReliabilitySignal(
                "testing_release",
                "releases gated by the error budget",
                bool(gates),
                f"ErrorBudgetPolicy {', '.join(gates)} freezes releases" if gates else "no policy freezes its releases",
            ),
        ]
    return out
