from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.incidents.alerts.burns import ingest_slo_burn, resolve_slo_burn
from mamori.incidents.models import Alert, AlertGroup
from tests.incidents.fakes import apply_config, install_fakes


@dataclass(frozen=True)
class Burn:
    slo: str = "search-latency"
    objective: float = 99.5
    service: str = "jobs-api"
    severity: str = "page"
    long_window: str = "1h"
    short_window: str = "5m"
    burn_rate: float = 15.2
    threshold: float = 14.4
    at: datetime = datetime(2026, 11, 28, 11, 59, tzinfo=UTC)


def _run(runtime: Runtime, fn: object, event: Burn) -> None:
    with runtime.sessions.begin() as s:
        fn(JobContext(s, 0, 1, runtime.now(), runtime), event)  # type: ignore[operator]


def test_burn_opens_one_alert_and_resolve_closes_it(runtime: Runtime) -> None:
    _run(runtime, ingest_slo_burn, Burn())
    _run(runtime, ingest_slo_burn, Burn(burn_rate=16.0))
    with runtime.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.source, alert.service, alert.severity, alert.occurrences) == ("slo", "jobs-api", "SEV2", 2)
        assert "15.2x" in alert.title
    _run(runtime, resolve_slo_burn, Burn())
    with runtime.sessions() as s:
        assert s.scalars(select(Alert)).one().status == "resolved"
        assert s.scalars(select(AlertGroup)).one().status == "resolved"


def test_burn_follows_an_applied_slo_route_to_an_escalation_policy(runtime: Runtime, tmp_path: Path) -> None:
    route = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: slo}
spec:
  groupBy: [slo]
  routes: [{matchers: ['severity="page"'], set: {severity: SEV2, escalationPolicy: backend}}]
  default: {severity: SEV4}
"""
    apply_config(runtime, tmp_path / "c", route)
    fakes = install_fakes(runtime)
    from mamori.core.worker import Worker

    _run(runtime, ingest_slo_burn, Burn())
    _run(runtime, ingest_slo_burn, Burn(slo="other", severity="ticket"))
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        groups = {g.group_key: g for g in s.scalars(select(AlertGroup))}
        assert groups['slo:{slo="search-latency"}'].escalation_policy == "backend"
        assert groups['slo:{slo="other"}'].severity == "SEV4" and groups['slo:{slo="other"}'].escalation_policy is None
    assert [t for t, _ in fakes["email"].sent] == ["bob@example.com"]
