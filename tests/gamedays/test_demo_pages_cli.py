"""The demo (one drill run and scored, one scheduled), the game master's pages, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from mamori import demo
from mamori.cli import app
from mamori.core.runtime import Runtime
from mamori.gamedays.models import Drill, DrillScore
from tests.web.conftest import Login

runner = CliRunner()


@pytest.fixture
def seeded(runtime: Runtime) -> dict[str, Drill]:
    demo.seed(runtime)
    demo.seed(runtime)  # idempotent
    with runtime.sessions() as s:
        drills = {d.scenario: d for d in s.scalars(select(Drill))}
        s.expunge_all()
    return drills


def test_the_demo_has_one_drill_run_and_scored_and_one_scheduled(runtime: Runtime, seeded: dict[str, Drill]) -> None:
    assert {k: v.status for k, v in seeded.items()} == {"checkout-outage": "finished", "vendor-oauth-leak": "scheduled"}
    with runtime.sessions() as s:
        scores = {r.expectation_id: r.outcome for r in s.scalars(select(DrillScore))}
        points = sum(r.points for r in s.scalars(select(DrillScore)))
    assert scores == {
        "ack": "met",
        "declare": "met",  # declared SEV3, raised to SEV2 before the deadline
        "commander": "met",
        "comms": "missed",
        "updates": "met",
        "kill-switch": "met",
        "postmortem": "pending",
    }
    assert points == 6.0


def test_the_game_master_sees_the_script_the_score_and_the_abort_switch(
    client: TestClient, runtime: Runtime, login: Login, seeded: dict[str, Drill]
) -> None:
    login()
    index = client.get("/gamedays")
    assert index.status_code == 200
    assert "Checkout of paid job posts fails after a deploy" in index.text and "OAuth tokens leaked" in index.text
    assert "Never practised" in index.text
    done = client.get(f"/gamedays/drills/{seeded['checkout-outage'].id}")
    assert done.status_code == 200 and "Score: 75.0%" in done.text and "Abort drill" not in done.text
    assert "Link the deploy log from the jobs-api alert" in done.text
    assert "<td>backend</td>" in done.text
    planned = client.get(f"/gamedays/drills/{seeded['vendor-oauth-leak'].id}")
    assert planned.status_code == 200 and "Abort drill" in planned.text and "scheduled for" in planned.text
    catalog = client.get("/services")
    assert "Last drill" in catalog.text


def test_the_abort_form_stops_a_scheduled_drill(
    client: TestClient, runtime: Runtime, login: Login, seeded: dict[str, Drill]
) -> None:
    csrf = login()
    drill_id = seeded["vendor-oauth-leak"].id
    posted = client.post(
        f"/gamedays/drills/{drill_id}/abort",
        data={"reason": "team offsite", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    page = client.get(f"/gamedays/drills/{drill_id}")
    assert "Aborted: team offsite" in page.text and "Start now" not in page.text


def test_the_start_now_button_starts_a_scheduled_drill(
    client: TestClient, runtime: Runtime, login: Login, seeded: dict[str, Drill]
) -> None:
    csrf = login()
    drill_id = seeded["vendor-oauth-leak"].id
    assert "Start now" in client.get(f"/gamedays/drills/{drill_id}").text
    posted = client.post(f"/gamedays/drills/{drill_id}/start", data={"csrf_token": csrf}, follow_redirects=False)
    assert posted.status_code == 303
    page = client.get(f"/gamedays/drills/{drill_id}")
    assert "running" in page.text and "Reveal" in page.text and "Abort drill" in page.text
    assert f'hx-get="/gamedays/drills/{drill_id}/timeline"' in page.text
    rows = client.get(f"/gamedays/drills/{drill_id}/timeline")
    assert rows.status_code == 200 and rows.text.lstrip().startswith("<ol") and "drill started" in rows.text


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    return database_url


def test_the_cli_lists_reports_and_aborts(env: str, seeded: dict[str, Drill]) -> None:
    listed = runner.invoke(app, ["gamedays", "list"])
    assert listed.exit_code == 0, listed.output
    assert sorted(d["status"] for d in json.loads(listed.stdout)) == ["finished", "scheduled"]
    report = runner.invoke(app, ["gamedays", "report", seeded["checkout-outage"].id])
    assert report.exit_code == 0 and "Team score: **75%**" in report.stdout
    assert "| comms (assign_role) | MISSED |" in report.stdout
    as_json = runner.invoke(app, ["gamedays", "report", seeded["checkout-outage"].id, "--format", "json"])
    score = json.loads(as_json.stdout)["score"]
    assert score["team_percent"] == 75.0
    assert {t["team"]: t["percent"] for t in score["teams"]} == {"backend": 75.0, "frontend": 0.0, "matching": 0.0}
    debrief = runner.invoke(
        app,
        [
            "gamedays",
            "debrief",
            seeded["checkout-outage"].id,
            "--notes",
            "ok",
            "--action-item",
            "a",
            "--action-item",
            "b",
        ],
    )
    assert debrief.exit_code == 0 and json.loads(debrief.stdout)["action_items"] == ["a", "b"]
    started = runner.invoke(app, ["gamedays", "start-scheduled", seeded["vendor-oauth-leak"].id])
    assert started.exit_code == 0 and json.loads(started.stdout)["status"] == "running"
    again = runner.invoke(app, ["gamedays", "start-scheduled", seeded["vendor-oauth-leak"].id])
    assert again.exit_code != 0 and "is running, not scheduled" in again.output
    aborted = runner.invoke(app, ["gamedays", "abort", seeded["vendor-oauth-leak"].id, "--reason", "moved"])
    assert aborted.exit_code == 0 and json.loads(aborted.stdout)["status"] == "aborted"
    missing = runner.invoke(app, ["gamedays", "start", "nope", "--now"])
    assert missing.exit_code == 4 and "no GameDay scenario 'nope'" in missing.output
    bad = runner.invoke(app, ["gamedays", "start", "checkout-outage", "--at", "tomorrow"])
    assert bad.exit_code != 0 and "not an ISO 8601 time" in bad.output
    trends = runner.invoke(app, ["gamedays", "trends"])
    assert json.loads(trends.stdout)["drills"][0]["time_to_acknowledge_seconds"] == 180.0
