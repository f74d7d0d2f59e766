"""The Prometheus SLI source against a real Prometheus (Debian's package) loaded with test data."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.slo import service
from mamori.slo.models import SloAlert, SloStatus
from mamori.slo.sources import PrometheusSource, RatioQuery, SourceError
from tests.slo.helpers import write
from tests.support import prometheus_server, require_binary

STEP = 15
END = datetime.fromtimestamp((int(time.time()) // 60 - 5) * 60, UTC)
START = END - timedelta(hours=3)
BURN_FROM = END - timedelta(minutes=30)
GOOD_RATE, BASE_BAD_RATE, BURN_BAD_RATE = 10.0, 0.1, 5.0
QUERY = RatioQuery(
    good=None,
    bad='sum(increase(http_requests_total{code="500"}[{{.window}}]))',
    total="sum(increase(http_requests_total[{{.window}}]))",
)


def _openmetrics() -> str:
    lines = ["# TYPE http_requests counter"]
    good = bad = 0.0
    at = START
    while at <= END:
        lines.append(f'http_requests_total{{code="200"}} {good} {int(at.timestamp())}')
        lines.append(f'http_requests_total{{code="500"}} {bad} {int(at.timestamp())}')
        good += GOOD_RATE * STEP
        bad += (BURN_BAD_RATE if at >= BURN_FROM else BASE_BAD_RATE) * STEP
        at += timedelta(seconds=STEP)
    return "\n".join(lines) + "\n# EOF\n"


RETENTION = ("--storage.tsdb.retention.time=3650d",)
"""The recorded events are years old: keep them."""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    promtool = require_binary("promtool")
    root = tmp_path_factory.mktemp("prom")
    data = root / "data"
    (root / "in.om").write_text(_openmetrics())
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(root / "in.om"), str(data)],
        check=True,
        capture_output=True,
    )
    with prometheus_server(root, "global:\n  scrape_interval: 1h\n", data=data, args=RETENTION) as server:
        yield server.url


def _expected_ratio(window: timedelta) -> float:
    start = END - window
    burn_seconds = (END - max(start, BURN_FROM)).total_seconds()
    bad = BURN_BAD_RATE * burn_seconds + BASE_BAD_RATE * (window.total_seconds() - burn_seconds)
    return bad / (bad + GOOD_RATE * window.total_seconds())


@pytest.mark.slow
@pytest.mark.parametrize("window", [timedelta(minutes=5), timedelta(hours=1), timedelta(hours=2)])
def test_error_ratio_from_prometheus_matches_the_loaded_data(prometheus: str, window: timedelta) -> None:
    with httpx.Client(timeout=10) as client:
        good, total = PrometheusSource(client, prometheus).amounts(QUERY, end=END, window=window)
    assert (total - good) / total == pytest.approx(_expected_ratio(window), rel=0.03)


@pytest.mark.slow
def test_a_query_returning_several_series_is_refused(prometheus: str) -> None:
    query = RatioQuery(good=None, bad="increase(http_requests_total[{{.window}}])", total="vector(1)")
    with httpx.Client(timeout=10) as client, pytest.raises(SourceError, match="aggregate it to one"):
        PrometheusSource(client, prometheus).amounts(query, end=END, window=timedelta(hours=1))


@pytest.mark.slow
def test_server_evaluation_pages_on_a_prometheus_slo(
    prometheus: str, runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    write(
        tmp_path / "cfg",
        "slo.yaml",
        f"""
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: prom}}
spec:
  type: Prometheus
  connectionDetails: [{{url: "{prometheus}"}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: api-availability}}
spec:
  service: jobs-api
  indicator:
    metadata: {{name: api-ok}}
    spec:
      ratioMetric:
        bad: {{metricSource: {{metricSourceRef: prom, spec: {{query: '{QUERY.bad}'}}}}}}
        total: {{metricSource: {{metricSourceRef: prom, spec: {{query: '{QUERY.total}'}}}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.99}}]
""",
    )
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    clock.set(END)
    with runtime.sessions.begin() as session:
        [result] = service.evaluate_all(session, runtime, now=END)
    assert result["burn_rates"]["1h"] == pytest.approx(_expected_ratio(timedelta(hours=1)) / 0.01, rel=0.03)
    assert {(a["severity"], a["long_window"]) for a in result["alerts"]} >= {("page", "1h"), ("page", "6h")}
    with runtime.sessions() as session:
        assert session.scalars(select(SloStatus.slo)).all() == ["api-availability"]
        assert session.scalars(select(SloAlert).where(SloAlert.severity == "page")).all()
