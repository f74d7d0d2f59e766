"""GitHub webhooks: signed deliveries of every event Mamori reads are stored once; bad ones get a clear 4xx
and change nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core.runtime import Runtime
from mamori.delivery.models import (
    DeliveryCommit,
    DeliveryDeploy,
    DeliveryJob,
    DeliveryPullRequest,
    DeliveryRun,
    DeliveryStep,
    DeliveryWebhook,
)
from mamori.delivery.parsers import github
from tests.delivery.helpers import post, sample, secret

ALL_SAMPLES = [
    ("push", "payload"),
    ("push", "with-new-branch"),
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request", "review_requested"),
    ("pull_request", "closed"),
    ("pull_request", "closed.with-organization"),
    ("pull_request_review", "submitted"),
    ("workflow_run", "requested"),
    ("workflow_run", "requested.with-conclusion"),
    ("workflow_run", "completed"),
    ("workflow_run", "completed.with-pull-requests"),
    ("workflow_job", "queued"),
    ("workflow_job", "queued.with-deployment"),
    ("workflow_job", "waiting"),
    ("workflow_job", "in_progress"),
    ("workflow_job", "in_progress.with-queued-steps"),
    ("workflow_job", "completed.success.with-organization"),
    ("workflow_job", "completed.failure.with-organization"),
    ("deployment", "payload"),
    ("deployment", "gh-pages"),
    ("deployment", "with-installation"),
    ("deployment_status", "payload"),
    ("deployment_status", "gh-pages"),
    ("deployment_status", "with-installation"),
    ("check_run", "completed"),
]


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("event", "name"), ALL_SAMPLES)
def test_every_documented_sample_parses(event: str, name: str) -> None:
    payload = json.loads(sample(event, name))
    parsed = github.parse(event, payload)
    assert parsed.repo == payload["repository"]["full_name"]
    if event == "push":
        assert len(parsed.records) == len(payload.get("commits") or [])
    elif event == "deployment_status":
        assert len(parsed.records) == 2
    else:
        assert parsed.records


def test_all_samples_are_stored_and_counted(client: TestClient, runtime: Runtime) -> None:
    for event, name in ALL_SAMPLES:
        response = post(client, runtime, event, sample(event, name))
        assert response.status_code == 202, (event, name, response.text)
        assert response.json()["status"] == "stored"
    assert _count(runtime, DeliveryWebhook) == len(ALL_SAMPLES)
    pushed = {
        c["id"] for n in ("payload", "with-new-branch") for c in json.loads(sample("push", n)).get("commits") or []
    }
    assert pushed and _count(runtime, DeliveryCommit) == len(pushed)
    with runtime.sessions() as session:
        prs = session.scalars(select(DeliveryPullRequest)).all()
        assert {(p.repo, p.number) for p in prs} == {
            (
                json.loads(sample("pull_request", n))["repository"]["full_name"],
                json.loads(sample("pull_request", n))["number"],
            )
            for n in ("opened", "synchronize", "review_requested", "closed", "closed.with-organization")
        } | {
            (
                json.loads(sample("pull_request_review", "submitted"))["repository"]["full_name"],
                json.loads(sample("pull_request_review", "submitted"))["pull_request"]["number"],
            )
        }
        deploys = session.scalars(select(DeliveryDeploy)).all()
        status = json.loads(sample("deployment_status", "payload"))
        stored = next(d for d in deploys if d.external_id.endswith(f"/deployments/{status['deployment']['id']}"))
        assert stored.status == status["deployment_status"]["state"] == "success"
        assert stored.production and stored.environment == "production"
        # the success and failure samples are the same job (id and run); the last completed one posted wins
        job = json.loads(sample("workflow_job", "completed.failure.with-organization"))["workflow_job"]
        row = session.scalar(select(DeliveryJob).where(DeliveryJob.external_id.endswith(f"/jobs/{job['id']}")))
        assert row is not None and row.conclusion == "failure"
        steps = session.scalars(
            select(DeliveryStep).where(DeliveryStep.job_id == row.id).order_by(DeliveryStep.number)
        ).all()
        assert [(s.number, s.name, s.conclusion) for s in steps] == [
            (s["number"], s["name"], s["conclusion"]) for s in job["steps"]
        ]
        assert session.scalar(select(func.count()).select_from(DeliveryRun).where(DeliveryRun.kind == "check")) == 1


def test_a_replayed_delivery_is_counted_once(client: TestClient, runtime: Runtime) -> None:
    body = sample("push", "with-new-branch")
    first = post(client, runtime, "push", body, delivery="d-1")
    again = post(client, runtime, "push", body, delivery="d-1")
    assert first.status_code == 202 and first.json()["records"]["commits"] >= 1
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert _count(runtime, DeliveryWebhook) == 1
    assert _count(runtime, DeliveryCommit) == len(json.loads(body)["commits"])


def test_unsigned_and_badly_signed_deliveries_are_refused_and_store_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = sample("push", "payload")
    unsigned = post(client, runtime, "push", body, signature=None)
    assert unsigned.status_code == 401 and "X-Hub-Signature-256" in unsigned.json()["detail"]
    wrong = post(client, runtime, "push", body, signature="sha256=" + "0" * 64)
    assert wrong.status_code == 403 and "does not match" in wrong.json()["detail"]
    malformed = post(client, runtime, "push", body, signature="md5=abc")
    assert malformed.status_code == 403 and "sha256=" in malformed.json()["detail"]
    other = post(client, runtime, "push", body, integration="other", signature=github.sign(b"not-the-secret", body))
    assert other.status_code == 403
    assert _count(runtime, DeliveryWebhook) == 0
    assert _count(runtime, DeliveryCommit) == 0


def test_a_body_signed_for_another_integration_is_refused(client: TestClient, runtime: Runtime) -> None:
    body = sample("push", "payload")
    response = post(
        client, runtime, "push", body, integration="team-b", signature=github.sign(secret(runtime, "default"), body)
    )
    assert response.status_code == 403


def test_malformed_payloads_get_a_4xx_naming_what_is_wrong(client: TestClient, runtime: Runtime) -> None:
    not_json = post(client, runtime, "push", b"{not json")
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]
    job = json.loads(sample("workflow_job", "completed.success.with-organization"))
    job["workflow_job"]["steps"][2]["started_at"] = "yesterday"
    bad_step = post(client, runtime, "workflow_job", job)
    assert bad_step.status_code == 422
    assert bad_step.json()["errors"][0]["loc"] == "workflow_job.steps[2].started_at"
    no_repo = post(client, runtime, "push", {"ref": "refs/heads/main"})
    assert no_repo.status_code == 422 and no_repo.json()["errors"][0]["loc"] == "repository"
    no_event = client.post(
        "/hooks/github/default", content=b"{}", headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert no_event.status_code == 403  # the signature is checked before anything else is read
    assert _count(runtime, DeliveryWebhook) == 0 and _count(runtime, DeliveryRun) == 0


def test_ping_and_unread_events_are_acknowledged(client: TestClient, runtime: Runtime) -> None:
    assert post(client, runtime, "ping", {"zen": "Keep it logically awesome."}).json()["status"] == "pong"
    issues = post(client, runtime, "issues", sample("issues", "opened"), delivery="i-1")
    assert issues.status_code == 202 and issues.json()["status"] == "ignored"
    assert post(client, runtime, "issues", sample("issues", "opened"), delivery="i-1").json()["status"] == "duplicate"


def test_an_older_pull_request_state_arriving_late_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    closed = json.loads(sample("pull_request", "closed"))
    opened = json.loads(sample("pull_request", "closed"))
    opened["pull_request"].update(state="open", merged_at=None, closed_at=None, updated_at="2000-01-01T00:00:00Z")
    post(client, runtime, "pull_request", closed)
    post(client, runtime, "pull_request", opened)
    with runtime.sessions() as session:
        row = session.scalar(select(DeliveryPullRequest))
        assert row is not None
        assert row.state == ("merged" if closed["pull_request"]["merged_at"] else "closed")


def test_a_job_keeps_its_steps_with_start_and_end(client: TestClient, runtime: Runtime) -> None:
    job = json.loads(sample("workflow_job", "completed.success.with-organization"))["workflow_job"]
    assert (
        post(client, runtime, "workflow_job", sample("workflow_job", "completed.success.with-organization")).status_code
        == 202
    )
    assert (
        post(client, runtime, "workflow_job", sample("workflow_job", "in_progress")).status_code == 202
    )  # late, older
    with runtime.sessions() as session:
        row = session.scalar(select(DeliveryJob))
        assert row is not None and row.status == "completed" and row.conclusion == "success"
        steps = session.scalars(
            select(DeliveryStep).where(DeliveryStep.job_id == row.id).order_by(DeliveryStep.number)
        ).all()
        assert len(steps) == len(job["steps"]) == 8
        install = next(s for s in steps if s.name == "Install Ruby")
        assert (install.finished_at - install.started_at).total_seconds() == 4  # 10:26:11 -> 10:26:15
        run = session.get(DeliveryRun, row.run_id)
        assert run is not None and run.external_id.endswith(f"/runs/{job['run_id']}")
