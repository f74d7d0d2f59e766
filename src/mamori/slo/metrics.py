"""The SLO figures as Prometheus families (the latest evaluation of each objective): SLI, target, error
budget consumed and remaining, burn rate per window, and burn alerts firing. Read from `slo_status`, so a
scrape costs one query and never re-evaluates."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core.exposition import MetricFamily
from mamori.slo.service import queries


def families(session: Session, now: datetime) -> list[MetricFamily]:
    sli = MetricFamily("mamori_slo_sli_ratio", "SLI over the SLO's window at its latest evaluation")
    target = MetricFamily("mamori_slo_target_ratio", "The objective's target")
    remaining = MetricFamily("mamori_slo_error_budget_remaining_ratio", "Error budget left (1 = untouched)")
    consumed = MetricFamily("mamori_slo_error_budget_consumed_ratio", "Error budget spent (over 1 = exhausted)")
    burn = MetricFamily("mamori_slo_burn_rate", "Burn rate over a window (1 = spending the budget exactly)")
    age = MetricFamily("mamori_slo_evaluation_age_seconds", "Seconds since the objective was last evaluated")
    for row in queries.list_status(session):
        labels = {"slo": row.slo, "objective": str(row.objective), "service": row.service, "story": row.user_story}
        sli.add(row.sli, labels)
        target.add(row.target, labels)
        remaining.add(row.remaining, labels)
        consumed.add(row.consumed, labels)
        age.add(max((now - row.evaluated_at).total_seconds(), 0.0), labels)
        for window, rate in sorted((row.result.get("burn_rates") or {}).items()):
            if isinstance(rate, int | float):
                burn.add(rate, {**labels, "window": window})
    firing = MetricFamily("mamori_slo_burn_alerts_firing", "Burn alerts firing now, per service and severity")
    counts = Counter((a.service, a.severity) for a in queries.list_alerts(session, status="firing"))
    for (service, severity), n in sorted(counts.items()):
        firing.add(n, {"service": service, "severity": severity})
    return [sli, target, remaining, consumed, burn, age, firing]
