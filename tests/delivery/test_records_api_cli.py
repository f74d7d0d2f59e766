"""The generic record API and CLI for any CI (deploys, builds, steps), the measures endpoint, and incidents
arriving by event through the wiring."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.config import load_settings
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.delivery.events import DeployFinished
from mamori.delivery.models import DeliveryDeploy, DeliveryIncident, DeliveryStep
from mamori.delivery.parsers import github
from mamori.delivery.service import incidents as delivery_incidents
from mamori.incidents.events import AlertGroupPaged, IncidentDeclared, IncidentResolved
from mamori.wiring import build_runtime
from tests.conftest import T0, issue_token

runner = CliRunner()


@pytest.fixture
def auth_headers(runtime: Runtime) -> dict[str, str]:
    """A CI's token: it records (ingest) and reads."""
    return {"Authorization": f"Bearer {issue_token(runtime, 'ingest', 'read')}"}


def _deploy(client: TestClient, headers: dict[str, str], **fields: object) -> dict[str, object]:
    body = {
        "service": "jobs-api",
        "environment": "production",
        "status": "success",
        "finished_at": T0.isoformat(),
        **fields,
    }
    response = client.post("/api/v1/delivery/deploys", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_deploy_sent_twice_is_stored_once_and_publishes_once(
    client: TestClient, runtime: Runtime, auth_headers: dict[str, str]
) -> None:
    first = _deploy(client, auth_headers, id="ci-42", sha="abc")
    again = _deploy(client, auth_headers, id="ci-42", sha="abc")
    assert (first["status"], again["status"]) == ("stored", "duplicate") and first["id"] == again["id"]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryDeploy)) == 1
        published = [j for j in session.scalars(select(Job)) if j.payload.get("type") == DeployFinished.type]
        assert len(published) == len(runtime.bus.subscriptions.get(DeployFinished.type, []))


def test_bad_deploys_are_refused_with_the_field_named(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/delivery/deploys",
        json={
            "service": "jobs-api",
            "environment": "production",
            "status": "maybe",
            "finished_at": "2026-12-01T10:00:00",
        },
        headers=auth_headers,
    )
    assert response.status_code == 422
    locs = {e["loc"] for e in response.json()["errors"]}
    assert any("status" in loc for loc in locs) and any("finished_at" in loc for loc in locs)
    assert client.post("/api/v1/delivery/deploys", json={"service": "x"}).status_code == 401


def test_builds_and_steps_make_a_waterfall_and_the_measures_endpoint_answers(
    client: TestClient, runtime: Runtime, auth_headers: dict[str, str]
) -> None:
    build = {
        "id": "b1",
        "service": "jobs-api",
        "status": "success",
        "started_at": "2026-11-28T10:00:00Z",
        "finished_at": "2026-11-28T10:05:00Z",
    }
    assert client.post("/api/v1/delivery/builds", json=build, headers=auth_headers).status_code == 201
    for i, (name, cached) in enumerate((("bundle install", True), ("docker build", False)), start=1):
        step = {"build": "b1", "service": "jobs-api", "name": name, "status": "success", "cached": cached,
                "started_at": f"2026-11-28T10:0{i}:00Z", "finished_at": f"2026-11-28T10:0{i}:30Z"}  # fmt: skip
        assert client.post("/api/v1/delivery/steps", json=step, headers=auth_headers).status_code == 201
    orphan = {
        "build": "nope",
        "service": "jobs-api",
        "name": "x",
        "status": "success",
        "started_at": "2026-11-28T10:00:00Z",
        "finished_at": "2026-11-28T10:00:01Z",
    }
    missing = client.post("/api/v1/delivery/steps", json=orphan, headers=auth_headers)
    assert missing.status_code == 404 and "record the build first" in missing.json()["detail"]
    with runtime.sessions() as session:
        assert [s.name for s in session.scalars(select(DeliveryStep).order_by(DeliveryStep.number))] == [
            "bundle install",
            "docker build",
        ]
    _deploy(client, auth_headers, id="d1", sha="s1", finished_at=(T0 - timedelta(hours=1)).isoformat())
    measures = client.get("/api/v1/delivery/services/jobs-api/measures", headers=auth_headers)
    assert measures.status_code == 200
    assert measures.json()["dora"]["deploys"] == 1 and measures.json()["dora"]["change_fail_rate"] == 0


def test_incidents_arrive_by_event_and_fail_the_deploy_before_them(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        session.add(
            DeliveryDeploy(
                source="api",
                external_id="d",
                service="jobs-api",
                environment="production",
                production=True,
                status="success",
                created_at=T0,
                finished_at=T0,
            )
        )
        runtime.bus.publish(
            session,
            IncidentDeclared(
                incident_id="inc-1",
                number=1,
                service="jobs-api",
                severity="SEV2",
                at=T0.replace(hour=13),
                title="API down",
                by="ops",
            ),
            now=runtime.now(),
        )
        runtime.bus.publish(
            session,
            IncidentResolved(
                incident_id="inc-1", number=1, service="jobs-api", severity="SEV2", at=T0.replace(hour=14), by="ops"
            ),
            now=runtime.now(),
        )
        for person in ("ana@example.com", "ana@example.com", "ben@example.com"):
            runtime.bus.publish(
                session,
                AlertGroupPaged(
                    group_id="g1", service="jobs-api", severity="SEV2", at=T0, person=person, channel="sms", step=1
                ),
                now=runtime.now(),
            )
        drill = AlertGroupPaged(group_id="g2", service="jobs-api", severity="SEV2", at=T0, person="ben@example.com",
                                channel="sms", step=1, labels={"mamori_drill": "1"})  # fmt: skip
        runtime.bus.publish(session, drill, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        row = session.get(DeliveryIncident, "inc-1")
        assert row is not None and row.resolved_at is not None and row.declared_at < row.resolved_at
        paged = delivery_incidents.pages_per_person(session, since=T0 - timedelta(days=1))
        assert paged == [("ana@example.com", 2), ("ben@example.com", 1)], "each page counted once, drills left out"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    return database_url


def test_cli_records_a_deploy_build_and_step_and_prints_measures(env: str) -> None:
    deploy = runner.invoke(
        app,
        [
            "delivery",
            "record",
            "deploy",
            "--service",
            "jobs-web",
            "--env",
            "production",
            "--status",
            "success",
            "--sha",
            "abc",
            "--end",
            "2026-12-01T10:00:00Z",
            "--id",
            "gl-7",
        ],
    )
    assert deploy.exit_code == 0, deploy.output
    assert json.loads(deploy.stdout)["status"] == "stored"
    assert (
        json.loads(
            runner.invoke(
                app,
                [
                    "delivery",
                    "record",
                    "deploy",
                    "--service",
                    "jobs-web",
                    "--env",
                    "production",
                    "--status",
                    "success",
                    "--end",
                    "2026-12-01T10:00:00Z",
                    "--id",
                    "gl-7",
                ],
            ).stdout
        )["status"]
        == "duplicate"
    )
    build = runner.invoke(
        app,
        [
            "delivery",
            "record",
            "build",
            "--service",
            "jobs-web",
            "--id",
            "p-1",
            "--status",
            "success",
            "--start",
            "2026-12-01T09:00:00Z",
            "--end",
            "2026-12-01T09:10:00Z",
        ],
    )
    assert build.exit_code == 0, build.output
    step = runner.invoke(
        app,
        [
            "delivery",
            "record",
            "step",
            "--service",
            "jobs-web",
            "--build",
            "p-1",
            "--name",
            "yarn install",
            "--status",
            "success",
            "--start",
            "2026-12-01T09:01:00Z",
            "--end",
            "2026-12-01T09:03:00Z",
            "--cached",
        ],
    )
    assert step.exit_code == 0, step.output
    bad = runner.invoke(
        app,
        [
            "delivery",
            "record",
            "deploy",
            "--service",
            "jobs-web",
            "--env",
            "production",
            "--status",
            "meh",
            "--end",
            "later",
        ],
    )
    assert bad.exit_code == 2 and "--status" in bad.output and "--finished-at" in bad.output
    runtime = build_runtime(load_settings(env={}, database_url=env))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryStep).where(DeliveryStep.cached.is_(True))) == 1
    runtime.engine.dispose()
    shown = runner.invoke(app, ["delivery", "measures", "jobs-web", "--days", "366"])
    assert shown.exit_code == 0, shown.output
    assert "deployment_frequency" in json.loads(shown.stdout)["dora"]["bands"]


def test_cli_prints_the_webhook_secret_that_verifies_signed_bodies(env: str) -> None:
    result = runner.invoke(app, ["delivery", "github-secret", "team-a"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["path"] == "/hooks/github/team-a"
    github.verify(shown["secret"].encode(), b"{}", github.sign(shown["secret"].encode(), b"{}"))
    assert shown["secret"].encode() == github.integration_secret(b"cli-test-secret", "team-a")
