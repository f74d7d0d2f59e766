from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.incidents import slots as views
from mamori.incidents.response import service as response
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import fire


def test_alert_page_lists_groups_and_ack_button_acknowledges(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    group_id = fire(runtime)
    page = client.get("/alerts", headers=auth_headers)
    assert page.status_code == 200 and "HighLatency" in page.text and f"/alerts/{group_id}/ack" in page.text
    row = client.post(f"/alerts/{group_id}/ack", headers=auth_headers)
    assert row.status_code == 200 and "acknowledged" in row.text and "/ack" not in row.text


def test_oncall_page_and_incident_page_render(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    page = client.get("/oncall", headers=auth_headers)
    assert page.status_code == 200 and "backend-primary" in page.text and "bob@example.com" in page.text
    with runtime.sessions.begin() as s:
        ref = response.declare(
            s,
            runtime,
            title="Checkout down",
            severity="SEV1",
            service="jobs-web",
            actor=Actor("t", "api"),
            now=runtime.now(),
        ).id
        assert views.open_incidents_by_service(s, ["jobs-web"], runtime.now()) == {"jobs-web": "#1 SEV1"}
    page = client.get(f"/incidents/{ref}", headers=auth_headers)
    assert page.status_code == 200 and "Checkout down" in page.text and "declared SEV1" in page.text


def test_demo_seed_is_idempotent(runtime: Runtime) -> None:
    from sqlalchemy import func, select

    from mamori import demo as org_demo
    from mamori.incidents.models import Alert, Incident, Postmortem

    org_demo.seed(runtime)
    org_demo.seed(runtime)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1
        assert s.scalar(select(func.count()).select_from(Postmortem)) == 1
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
