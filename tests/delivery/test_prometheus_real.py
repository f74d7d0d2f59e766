"""A real Prometheus scrapes /metrics/delivery with a read token and stores the DORA figures as served."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mamori.core.runtime import Runtime
from mamori.delivery.models import DeliveryDeploy
from mamori.web.app import create_app
from tests.conftest import T0, issue_token
from tests.support import prometheus_server, serving

CONFIG = """
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: mamori-delivery
    metrics_path: /metrics/delivery
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
    authorization: {{type: Bearer, credentials: "{token}"}}
"""


@pytest.fixture
def mamori_server(runtime: Runtime) -> Iterator[int]:
    with serving(create_app(runtime)) as base:
        yield int(base.rsplit(":", 1)[1])


@pytest.mark.slow
def test_a_real_prometheus_scrapes_the_delivery_figures(runtime: Runtime, mamori_server: int, tmp_path: Path) -> None:
    with runtime.sessions.begin() as session:
        for i in range(4):
            at = T0 - timedelta(days=i + 1)
            session.add(
                DeliveryDeploy(
                    source="api", external_id=f"d{i}", service="jobs-api", environment="production", production=True,
                    status="success", sha=f"s{i}", created_at=at, finished_at=at,
                )
            )  # fmt: skip
    token = issue_token(runtime, "read")
    with prometheus_server(tmp_path, CONFIG.format(port=mamori_server, token=token)) as prometheus:
        result = prometheus.wait_for('mamori_delivery_deployments{service="jobs-api"}')
        assert float(result[0]["value"][1]) == 4.0
        up = prometheus.query('up{job="mamori-delivery"}')
        assert up and up[0]["value"][1] == "1"
