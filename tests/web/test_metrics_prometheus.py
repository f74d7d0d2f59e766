"""A real Prometheus scrapes /metrics with a read token and stores one series of each domain as served."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mamori.core.runtime import Runtime
from mamori.web.app import create_app
from tests.conftest import issue_token
from tests.support import prometheus_server, serving
from tests.web.metrics_seed import seed_all

CONFIG = """
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: mamori
    metrics_path: /metrics
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
    authorization: {{type: Bearer, credentials: "{token}"}}
"""

EXPECTED = {
    'mamori_slo_error_budget_remaining_ratio{slo="checkout-availability",story="pay \\"now\\""}': -0.5,
    'mamori_slo_burn_rate{service="shop",window="1h"}': 14.4,
    'mamori_incidents_mtta_seconds{window="28d"}': 240.0,
    'mamori_oncall_pages{person="bob@example.com"}': 1.0,
    'mamori_vulns_sla_breaches{service="shop",priority="P1"}': 1.0,
    'mamori_findings_sla_breaches{service="shop",priority="P2"}': 1.0,
    'mamori_delivery_deployments{service="shop"}': 3.0,
}


@pytest.mark.slow
def test_a_real_prometheus_scrapes_every_domains_figures(runtime: Runtime, tmp_path: Path) -> None:
    seed_all(runtime)
    token = issue_token(runtime, "read")
    with serving(create_app(runtime)) as base:
        config = CONFIG.format(port=base.rsplit(":", 1)[1], token=token)
        with prometheus_server(tmp_path, config) as prometheus:
            deadline = time.monotonic() + 60
            found: dict[str, float] = {}
            while time.monotonic() < deadline and len(found) < len(EXPECTED):
                time.sleep(0.5)
                for query in EXPECTED:
                    result = prometheus.query(query)
                    if not result:
                        break
                    assert len(result) == 1, (query, result)
                    found[query] = float(result[0]["value"][1])
            assert found == EXPECTED, "Prometheus log: " + prometheus.log()
            up = prometheus.query('up{job="mamori"}')
            assert up and up[0]["value"][1] == "1"
