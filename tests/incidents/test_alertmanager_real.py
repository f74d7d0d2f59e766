"""A real Alertmanager (Debian prometheus-alertmanager) posting its webhook to a running Mamori."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.models import Alert, AlertGroup, Intake
from mamori.web.app import create_app
from tests.conftest import issue_token
from tests.incidents.fakes import apply_config, install_fakes
from tests.support import free_port, require_binary, serving

pytestmark = pytest.mark.slow

AM_CONFIG = """\
route:
  receiver: mamori
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: mamori
    webhook_configs:
      - url: "http://127.0.0.1:{mamori_port}/hooks/alertmanager/prod-am"
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: "{token}"}}
"""


@pytest.fixture
def mamori_server(runtime: Runtime) -> Iterator[int]:
    with serving(create_app(runtime)) as base:
        yield int(base.rsplit(":", 1)[1])


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_real_alertmanager_webhook_is_stored_and_routed(runtime: Runtime, mamori_server: int, tmp_path: Path) -> None:
    binary = require_binary("prometheus-alertmanager")
    apply_config(runtime, tmp_path / "config")
    fakes = install_fakes(runtime)
    token = issue_token(runtime, "ingest")
    am_port, cluster = free_port(), ""
    config = tmp_path / "am.yml"
    config.write_text(AM_CONFIG.format(mamori_port=mamori_server, token=token))
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            f"--cluster.listen-address={cluster}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{am_port}"
        _wait(lambda: _ready(base))
        labels = {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical"}
        response = httpx.post(
            f"{base}/api/v2/alerts", json=[{"labels": labels, "annotations": {"summary": "p99 above 2s"}}]
        )
        assert response.status_code == 200, response.text

        def stored() -> bool:
            with runtime.sessions() as s:
                return s.scalar(select(Intake.id)) is not None

        _wait(stored)
        Worker(runtime).run_until_idle()
        with runtime.sessions() as s:
            alert = s.scalars(select(Alert)).one()
            group = s.get(AlertGroup, alert.group_id)
            assert (alert.severity, alert.team, alert.title) == ("SEV2", "backend", "p99 above 2s")
            assert group is not None and group.escalation_policy == "backend"
        assert [t for t, _ in fakes["email"].sent] == ["bob@example.com"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
