"""A real Prometheus scrapes /metrics/delivery with a read token and stores the DORA figures as served."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mamori.core.runtime import Runtime
from mamori.delivery.models import DeliveryDeploy
from mamori.web.app import create_app
from tests.conftest import T0, issue_token
from tests.support import free_port, require_binary, serving

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
    binary = require_binary("prometheus")
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
    (tmp_path / "prometheus.yml").write_text(CONFIG.format(port=mamori_server, token=token))
    port = free_port()
    log = (tmp_path / "log.txt").open("w")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/query"
    try:
        deadline = time.monotonic() + 60
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline and not result:
            time.sleep(0.5)
            if proc.poll() is not None:
                pytest.fail("prometheus exited: " + (tmp_path / "log.txt").read_text()[-2000:])
            try:
                answer = httpx.get(
                    url, params={"query": 'mamori_delivery_deployments{service="jobs-api"}'}, timeout=2
                ).json()
            except httpx.HTTPError:
                continue
            result = answer.get("data", {}).get("result", [])
        assert result, "Prometheus never stored a scrape: " + (tmp_path / "log.txt").read_text()[-2000:]
        assert float(result[0]["value"][1]) == 4.0  # type: ignore[index]
        up = httpx.get(url, params={"query": 'up{job="mamori-delivery"}'}, timeout=2).json()["data"]["result"]
        assert up and up[0]["value"][1] == "1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
