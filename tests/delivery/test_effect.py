"""Before/after reports of a marked change (medians, rank test, bootstrap interval, sample sizes, "too few
data"), regressions of steps with the commit where they started, and their API, CLI and page."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import timeline
from mamori.core.runtime import Runtime
from mamori.delivery import effect, regressions
from mamori.delivery.models import DeliveryImprovement
from mamori.delivery.schemas import BuildIn, StepIn
from mamori.delivery.service import effects, generic
from tests.conftest import T0, issue_token
from tests.delivery.helpers import post, sample
from tests.delivery.test_demo_and_pages import seed_demo
from tests.web.conftest import Login

T = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_rank_test_matches_the_reference_values() -> None:
    # SciPy's mannwhitneyu(..., method="asymptotic", use_continuity=True) gives U = 0, p = 0.000939105699117
    u, p = effect.mann_whitney([1, 2, 3, 4, 5, 6, 7, 8], [11, 12, 13, 14, 15, 16, 17, 18])
    assert u == 0 and p == pytest.approx(0.000939105699117, rel=1e-9)
    u, p = effect.mann_whitney([5, 5, 5, 5], [5, 5, 5, 5])
    assert p == 1.0, "all ties: no evidence either way"
    u_ab, p_ab = effect.mann_whitney([3, 9, 4, 7, 1], [8, 2, 6, 10, 5])
    u_ba, p_ba = effect.mann_whitney([8, 2, 6, 10, 5], [3, 9, 4, 7, 1])
    assert u_ab + u_ba == 25 and p_ab == pytest.approx(p_ba)


def test_a_clear_speed_up_is_improved_and_an_unchanged_one_is_not() -> None:
    rnd = random.Random(1)
    before = [170 + rnd.uniform(-15, 15) for _ in range(30)]
    after = [25 + rnd.uniform(-5, 5) for _ in range(30)]
    faster = effect.compare(before, after, rnd=random.Random(2))
    assert faster.verdict == "improved" and faster.ci_high is not None and faster.ci_high < 0
    assert faster.change_pct is not None and -0.9 < faster.change_pct < -0.8
    same = effect.compare(before, [v + rnd.uniform(-1, 1) for v in before], rnd=random.Random(2))
    assert same.verdict == "no clear change"
    slower = effect.compare(after, before, rnd=random.Random(2))
    assert slower.verdict == "worse"


def test_too_few_data_is_said_rather_than_guessed() -> None:
    report = effect.compare([10.0, 11.0, 12.0], [1.0, 2.0], rnd=random.Random(0))
    assert report.verdict == "too few data" and report.p_value is None and (report.n_before, report.n_after) == (3, 2)


def test_a_step_that_got_slower_is_flagged_with_the_commit_where_it_started() -> None:
    points = [regressions.Point(T + timedelta(hours=i), 60 + (i % 3), f"c{i}") for i in range(25)]
    points += [regressions.Point(T + timedelta(hours=25 + i), 150 + i, f"slow{i}") for i in range(5)]
    found = regressions.find("step:build/docker build", points)
    assert found is not None and found.since_ref == "slow0" and found.ratio > 2
    steady = [regressions.Point(T + timedelta(hours=i), 60 + (i % 4), None) for i in range(30)]
    assert regressions.find("step:build/x", steady) is None
    tiny = [regressions.Point(T + timedelta(hours=i), 1.0 + (i >= 25) * 1.0, None) for i in range(30)]
    assert regressions.find("step:build/y", tiny) is None, "doubling 1 s is below min_delta"


def test_the_demo_cache_change_is_measured_on_the_page_api_and_cli(
    client: TestClient, runtime: Runtime, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_demo(runtime)
    token = issue_token(runtime, "read", "write")
    headers = {"Authorization": f"Bearer {token}"}
    marked = client.post(
        "/api/v1/delivery/improvements",
        json={
            "service": "jobs-web",
            "title": "Cache yarn",
            "measure": "step:build/yarn install",
            "at": (T0 - timedelta(days=60)).isoformat(),
        },
        headers=headers,
    )
    assert marked.status_code == 201, marked.text
    body = marked.json()
    assert body["verdict"] == "improved" and body["n_before"] >= 8 and body["n_after"] >= 8
    assert body["median_after"] < body["median_before"]
    bad = client.post(
        "/api/v1/delivery/improvements",
        json={"service": "jobs-web", "title": "x", "measure": "speed", "at": T0.isoformat()},
        headers=headers,
    )
    assert bad.status_code == 422 and "step:<job>/<step>" in bad.json()["detail"]
    again = client.get(f"/api/v1/delivery/improvements/{body['improvement']}/effect?days=7", headers=headers)
    assert again.status_code == 200 and again.json()["n_before"] < body["n_before"]
    login()
    page = client.get("/delivery/services/jobs-web")
    assert "Enabled BuildKit cache mounts" in page.text and 'class="verdict">improved' in page.text
    regress = client.get("/api/v1/delivery/services/jobs-web/regressions", headers=headers)
    assert regress.status_code == 200 and isinstance(regress.json(), list)


def test_cli_marks_an_improvement_and_reports_too_few_data(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "delivery",
            "improvement",
            "--service",
            "jobs-api",
            "--title",
            "Bigger runners",
            "--measure",
            "build",
            "--at",
            "2026-11-20T00:00:00Z",
        ],
    )
    assert made.exit_code == 0, made.output
    shown = json.loads(made.stdout)
    assert shown["verdict"] == "too few data" and shown["n_before"] == 0
    again = runner.invoke(app, ["delivery", "effect", shown["improvement"]])
    assert again.exit_code == 0 and json.loads(again.stdout)["improvement"] == shown["improvement"]
    missing = runner.invoke(app, ["delivery", "effect", "nope"])
    assert missing.exit_code == 4 and "no improvement" in missing.output
    bad_at = runner.invoke(
        app, ["delivery", "improvement", "--service", "x", "--title", "t", "--measure", "build", "--at", "soon"]
    )
    assert bad_at.exit_code == 2 and "--at" in bad_at.output


def test_a_deploy_or_a_labelled_pr_brings_its_own_improvement(client: TestClient, runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest', 'read')}"}
    deploy = {
        "service": "jobs-api",
        "environment": "production",
        "status": "success",
        "finished_at": T0.isoformat(),
        "improvement": {"title": "Bigger runners", "measure": "build"},
    }
    assert client.post("/api/v1/delivery/deploys", json=deploy, headers=headers).status_code == 201
    bad = {
        **deploy,
        "finished_at": (T0 - timedelta(hours=1)).isoformat(),
        "improvement": {"title": "x", "measure": "speed"},
    }
    refused = client.post("/api/v1/delivery/deploys", json=bad, headers=headers)
    assert refused.status_code == 422 and "unknown measure" in json.dumps(refused.json())
    pr = json.loads(sample("pull_request", "closed"))
    pr["pull_request"]["labels"] = [{"name": "improvement"}]
    pr["pull_request"]["merged_at"] = pr["pull_request"]["merged_at"] or pr["pull_request"]["closed_at"]
    assert post(client, runtime, "pull_request", pr).status_code == 202
    assert post(client, runtime, "pull_request", pr).status_code == 202  # a second delivery of the merge
    with runtime.sessions() as session:
        rows = session.scalars(select(DeliveryImprovement).order_by(DeliveryImprovement.source)).all()
        assert [(r.source, r.measure) for r in rows] == [("deploy", "build"), ("pr", "build")]
        assert rows[1].ref == f"{pr['repository']['full_name']}#{pr['number']}"


def test_a_new_regression_goes_on_the_timeline_once(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        for i in range(30):
            start = T0 - timedelta(hours=40 - i)
            seconds = 60 + (i % 3) if i < 25 else 150 + i
            body = {
                "id": f"b{i}",
                "service": "jobs-api",
                "status": "success",
                "started_at": start,
                "sha": f"c{i}",
                "finished_at": start + timedelta(seconds=seconds + 10),
            }
            generic.record_build(session, bus=runtime.bus, body=BuildIn.model_validate(body), now=runtime.now())
            step = {
                "build": f"b{i}",
                "service": "jobs-api",
                "name": "docker build",
                "status": "success",
                "started_at": start,
                "finished_at": start + timedelta(seconds=seconds),
            }
            generic.record_step(session, bus=runtime.bus, body=StepIn.model_validate(step), now=runtime.now())
    with runtime.sessions.begin() as session:
        first = effects.announce_regressions(
            session, bus=runtime.bus, services=["jobs-api"], since=T0 - timedelta(days=3), now=runtime.now()
        )
    with runtime.sessions.begin() as session:
        again = effects.announce_regressions(
            session, bus=runtime.bus, services=["jobs-api"], since=T0 - timedelta(days=3), now=runtime.now()
        )
        notes = timeline.list_events(session, services=["jobs-api"], kinds=["note"])
    assert (first, again) == (1, 0)
    assert [n.data["sha"] for n in notes] == ["c25"] and "step:build/docker build slower" in notes[0].title
