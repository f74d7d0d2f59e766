from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import timeline
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.incidents.alerts.severity import due_after
from mamori.incidents.models import IncidentEntry, Postmortem
from mamori.incidents.response import metrics
from mamori.incidents.response import service as response
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import fire

IC = Actor("alice@example.com", "api")


def test_declare_from_group_links_it_and_fills_the_timeline_with_service_events(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    with runtime.sessions.begin() as s:
        timeline.record(
            s,
            at=runtime.now() - timedelta(minutes=30),
            kind="deploy",
            source="delivery",
            title="deploy jobs-api v42",
            service="jobs-api",
        )
        timeline.record(
            s,
            at=runtime.now() - timedelta(minutes=30),
            kind="deploy",
            source="delivery",
            title="deploy other",
            service="jobs-web",
        )
    group_id = fire(runtime)
    clock.advance(minutes=3)
    with runtime.sessions.begin() as s:
        incident = response.declare(
            s, runtime, title="Search slow", severity="SEV2", group_id=group_id, actor=IC, now=runtime.now()
        )
        number = incident.number
        assert (incident.service, incident.team) == ("jobs-api", "backend")
        texts = [i.text for i in response.full_timeline(s, incident, now=runtime.now())]
    assert texts[0] == "deploy jobs-api v42" and "deploy other" not in texts
    assert any("assign an Incident Commander" in t for t in texts)
    assert number == 1


def test_sev1_resolution_creates_a_postmortem_due_in_three_days_with_impact_filled(
    runtime: Runtime, clock: FixedClock
) -> None:
    with runtime.sessions.begin() as s:
        incident = response.declare(
            s,
            runtime,
            title="Outage",
            severity="SEV1",
            service="jobs-web",
            actor=IC,
            now=runtime.now(),
            commander="alice@example.com",
        )
        ref = incident.id
    clock.advance(minutes=90)
    with runtime.sessions.begin() as s:
        response.post_update(s, runtime, ref=ref, text="fixed", status="resolved", actor=IC, now=runtime.now())
    with runtime.sessions() as s:
        pm = s.scalars(select(Postmortem)).one()
        assert pm.due_at == runtime.now() + timedelta(days=3)
        assert "- Duration: 1h 30m" in pm.body and "## Timeline (UTC)" in pm.body
        assert "declared SEV1: Outage" in pm.body


def test_sev2_postmortem_due_in_five_business_days_and_sev3_needs_none(runtime: Runtime) -> None:
    assert due_after(4, 5, business=True) == 7  # Friday + 5 business days = next Friday
    assert due_after(0, 5, business=True) == 7  # Monday -> next Monday
    with runtime.sessions.begin() as s:
        minor = response.declare(s, runtime, title="Minor", severity="SEV3", actor=IC, now=runtime.now())
        response.set_status(s, runtime, incident=minor, status="resolved", actor=IC, now=runtime.now())
        major = response.declare(s, runtime, title="Major", severity="SEV2", actor=IC, now=runtime.now())
        response.set_status(s, runtime, incident=major, status="resolved", actor=IC, now=runtime.now())
    with runtime.sessions() as s:
        [pm] = s.scalars(select(Postmortem)).all()
        # Saturday 28 Nov 2026 + 5 business days = Friday 4 Dec.
        assert pm.due_at.date().isoformat() == "2026-12-04"


def test_status_update_reminder_fires_when_no_update_is_posted(runtime: Runtime, clock: FixedClock) -> None:
    with runtime.sessions.begin() as s:
        ref = response.declare(s, runtime, title="Outage", severity="SEV1", actor=IC, now=runtime.now()).id
    clock.advance(minutes=20)
    with runtime.sessions.begin() as s:
        response.post_update(s, runtime, ref=ref, text="looking", status="identified", actor=IC, now=runtime.now())
    clock.advance(minutes=15)  # the first reminder (30 min after declaring) is stale now
    Worker(runtime).run_until_idle()
    clock.advance(minutes=16)  # 31 minutes after the update
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        kinds = [e.kind for e in s.scalars(select(IncidentEntry).order_by(IncidentEntry.id))]
    assert kinds.count("reminder") == 1


def test_incident_api_declare_role_note_timeline_and_metrics(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], clock: FixedClock
) -> None:
    created = client.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "severity": "SEV2", "service": "jobs-api"},
        headers=auth_headers,
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert client.post(
        f"/api/v1/incidents/{number}/roles",
        json={"role": "commander", "user": "alice@example.com"},
        headers=auth_headers,
    ).json()["roles"] == {"commander": "alice@example.com"}
    assert (
        client.post(f"/api/v1/incidents/{number}/notes", json={"text": "rolled back"}, headers=auth_headers).status_code
        == 200
    )
    bad = client.post(f"/api/v1/incidents/{number}/roles", json={"role": "king", "user": "x"}, headers=auth_headers)
    assert bad.status_code == 422
    kinds = [i["kind"] for i in client.get(f"/api/v1/incidents/{number}/timeline", headers=auth_headers).json()]
    assert kinds == ["declared", "role", "role", "note"]
    assert (
        client.post("/api/v1/incidents", json={"title": "x", "severity": "SEV9"}, headers=auth_headers).status_code
        == 404
    )
    with runtime.sessions() as s:
        assert metrics.response_times(
            s, since=runtime.now() - timedelta(days=1), until=runtime.now() + timedelta(days=1)
        )["incidents_by_severity"] == {"SEV2": 1}


def test_mtta_and_mttr_come_from_alert_groups(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    group_id = fire(runtime)
    clock.advance(minutes=4)
    with runtime.sessions.begin() as s:
        service.acknowledge(s, runtime, group_id=group_id, actor=IC, now=runtime.now())
    clock.advance(minutes=6)
    with runtime.sessions.begin() as s:
        service.resolve(s, runtime, group_id=group_id, actor=IC, now=runtime.now())
    with runtime.sessions() as s:
        m = metrics.response_times(s, since=runtime.now() - timedelta(hours=1), until=runtime.now())
    assert (m["mtta_seconds"], m["mttr_seconds"]) == (240.0, 600.0)


def test_cli_declares_an_incident(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    result = CliRunner().invoke(app, ["incidents", "declare", "--title", "DB down", "--severity", "SEV1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["severity"] == "SEV1"
    bad = CliRunner().invoke(app, ["incidents", "declare", "--title", "x", "--severity", "SEV0"])
    assert bad.exit_code == 4 and "SEV0" in bad.output
