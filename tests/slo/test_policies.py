"""Error-budget policies act once per episode: tickets, notifications, freezes, annotations; none twice after a
restart; the deploy gate follows the freeze."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from mamori.core import deliveries, manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.jobs import JobContext
from mamori.core.models import Service, TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.slo import service
from mamori.slo.events import ReleaseFreezeEnded, ReleaseFreezeStarted
from mamori.slo.models import SloPolicyAction, SloPolicyEpisode
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory, issue_token
from tests.slo.fakes import JIRA, FakeTrackers
from tests.slo.helpers import CHECKOUT_SLO, write

POLICY = """
apiVersion: mamori.dev/v1
kind: ErrorBudgetPolicy
metadata: {name: jobs-api-budget}
spec:
  service: jobs-api
  rules:
    - name: low-budget
      when: {budgetRemainingBelow: 25}
      actions:
        - {type: jira, project: OPS, issueType: Bug, labels: [slo]}
        - {type: github, repository: acme/jobs, labels: [slo]}
        - {type: notify, url: "https://hooks.example.com/slo"}
        - {type: freeze}
        - {type: annotate}
"""


@pytest.fixture
def fake() -> FakeTrackers:
    return FakeTrackers()


def _runtime(make_runtime: RuntimeFactory, fake: FakeTrackers) -> Runtime:
    return make_runtime(
        http_transport=fake.transport(),
        jira_url=JIRA,
        jira_email="bot@jobs.example",
        jira_token=SecretStr("jira-token"),
        github_token=SecretStr("gh-token"),
    )


def _setup(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    write(tmp_path / "cfg", "policy.yaml", POLICY)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))


def _ingest(runtime: Runtime, *, good: int, bad: int) -> None:
    ts = (runtime.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 200}] * good
    lines += [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 500}] * bad
    with runtime.sessions.begin() as session:
        service.ingest(session, data=b"\n".join(orjson.dumps(x) for x in lines))


def _tick(runtime: Runtime, clock: FixedClock, minutes: float = 1) -> None:
    clock.advance(minutes=minutes)
    Worker(runtime).run_until_idle()


def _actions(runtime: Runtime) -> list[tuple[str, str, dict[str, object], str | None]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(SloPolicyAction).order_by(SloPolicyAction.id)).all()
        return [(r.type, r.status, r.outcome, r.error) for r in rows]


def test_exhausted_budget_files_tickets_notifies_freezes_and_annotates_once(
    make_runtime: RuntimeFactory,
    fake: FakeTrackers,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    runtime = _runtime(make_runtime, fake)
    freezes: list[object] = []

    def on_freeze(ctx: JobContext, event: ReleaseFreezeStarted | ReleaseFreezeEnded) -> None:
        freezes.append(event)

    runtime.bus.subscribe(ReleaseFreezeStarted, "test.freeze", on_freeze)
    runtime.bus.subscribe(ReleaseFreezeEnded, "test.unfreeze", on_freeze)
    _setup(runtime, tmp_path)
    _ingest(runtime, good=90, bad=10)
    _tick(runtime, clock)
    _tick(runtime, clock)  # the condition still holds: nothing runs again

    assert _actions(runtime) == [
        ("jira", "done", {"ticket": "OPS-1", "url": f"{JIRA}/browse/OPS-1", "existing": False}, None),
        (
            "github",
            "done",
            {"ticket": "acme/jobs#1", "url": "https://github.com/acme/jobs/issues/1", "existing": False},
            None,
        ),
        ("notify", "done", {"status_code": 204}, None),
        ("freeze", "done", {"frozen": True, "service": "jobs-api"}, None),
        ("annotate", "done", {"annotated": True}, None),
    ]
    [issue] = fake.jira_issues
    assert issue["fields"]["project"] == {"key": "OPS"} and issue["fields"]["issuetype"] == {"name": "Bug"}
    assert issue["fields"]["description"]["type"] == "doc" and issue["fields"]["description"]["version"] == 1
    assert issue["fields"]["labels"] == ["slo", "mamori-action-1"]
    assert "error budget remaining below 25%" in issue["fields"]["summary"]
    assert fake.github_issues[0]["labels"] == [{"name": "slo"}, {"name": "mamori-action-2"}]
    body = fake.github_issues[0]["body"]
    assert "SLI 90.00%, target " in body and not re.search(r"\d\.\d{5,}", body), body  # rounded for people
    [hook] = fake.webhooks
    assert hook["policy"] == "jobs-api-budget" and hook["slo"] == "apply-for-job"
    assert [type(e).__name__ for e in freezes] == ["ReleaseFreezeStarted"]
    with runtime.sessions() as session:
        kinds = session.scalars(select(TimelineEvent.title).where(TimelineEvent.kind == "slo_policy")).all()
        assert len(kinds) == 2  # the episode opening and the annotation


def test_no_duplicate_tickets_after_a_restart(
    make_runtime: RuntimeFactory,
    fake: FakeTrackers,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    first = _runtime(make_runtime, fake)
    _setup(first, tmp_path)
    _ingest(first, good=90, bad=10)
    _tick(first, clock)
    first.engine.dispose()
    second = _runtime(make_runtime, fake)  # a fresh process on the same database
    for _ in range(3):
        _tick(second, clock)
    assert len(fake.jira_issues) == 1 and len(fake.github_issues) == 1 and len(fake.webhooks) == 1


def test_a_lost_jira_response_is_retried_without_a_second_ticket(
    make_runtime: RuntimeFactory,
    fake: FakeTrackers,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    runtime = _runtime(make_runtime, fake)
    fake.lose_next_jira_response = True
    _setup(runtime, tmp_path)
    _ingest(runtime, good=90, bad=10)
    _tick(runtime, clock)
    jira = _actions(runtime)[0]
    assert jira[1] == "pending" and "HTTP 502" in str(jira[3])
    _tick(runtime, clock)  # after the backoff
    assert _actions(runtime)[0] == (
        "jira",
        "done",
        {"ticket": "OPS-1", "url": f"{JIRA}/browse/OPS-1", "existing": True},
        None,
    )
    assert len(fake.jira_issues) == 1


def test_a_refused_ticket_fails_at_once_with_the_error_recorded(
    make_runtime: RuntimeFactory,
    fake: FakeTrackers,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    runtime = make_runtime(
        http_transport=fake.transport(),
        jira_url=JIRA,
        jira_email="bot@jobs.example",
        jira_token=SecretStr("wrong"),
        github_token=SecretStr("gh-token"),
    )
    _setup(runtime, tmp_path)
    _ingest(runtime, good=90, bad=10)
    _tick(runtime, clock)
    jira_type, status, _outcome, error = _actions(runtime)[0]
    assert (jira_type, status) == ("jira", "failed")
    assert "HTTP 401" in str(error) and "Client must be authenticated" in str(error)


def test_deploy_gate_follows_the_freeze_and_the_rule_fires_again_in_a_new_episode(
    make_runtime: RuntimeFactory,
    fake: FakeTrackers,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    runtime = _runtime(make_runtime, fake)
    _setup(runtime, tmp_path)
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'read')}"}
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert client.get("/api/v1/gates/deploy?service=jobs-api", headers=headers).status_code == 200
        _ingest(runtime, good=90, bad=10)
        _tick(runtime, clock)
        denied = client.get("/api/v1/gates/deploy?service=jobs-api", headers=headers)
        assert denied.status_code == 423
        assert denied.headers["content-type"].startswith("application/problem+json")
        body = denied.json()
        assert body["since"] == "2026-11-28T12:01:00+00:00"
        assert "error budget remaining below 25%" in body["reasons"][0]["reason"]
        with runtime.sessions.begin() as session:  # another catalog service is not frozen with it
            session.add(Service(name="jobs-web", tier=2, links=[], created_at=runtime.now()))
        assert client.get("/api/v1/gates/deploy?service=jobs-web", headers=headers).status_code == 200
        unknown = client.get("/api/v1/gates/deploy?service=jobs-apii", headers=headers)  # a typo never passes
        assert (
            unknown.status_code == 404
            and "no service 'jobs-apii' in the catalog or in any SLO" in unknown.json()["detail"]
        )

        _ingest(runtime, good=5000, bad=0)  # the budget recovers above 25%: the episode clears
        _tick(runtime, clock)
        assert client.get("/api/v1/gates/deploy?service=jobs-api", headers=headers).json()["allowed"] is True

        _ingest(runtime, good=0, bad=100)
        _tick(runtime, clock)
        assert client.get("/api/v1/gates/deploy?service=jobs-api", headers=headers).status_code == 423
        actions = client.get("/api/v1/slo-policy-actions", headers=headers).json()
    assert len(fake.jira_issues) == 2
    with runtime.sessions() as session:
        episodes = session.scalars(select(SloPolicyEpisode).order_by(SloPolicyEpisode.id)).all()
        assert [e.status for e in episodes] == ["cleared", "active"]
    assert json.dumps(actions)  # the actions list is JSON
    assert {a["outcome"].get("ticket") for a in actions if a["type"] == "jira"} == {"OPS-1", "OPS-2"}


def test_every_outbound_attempt_of_a_policy_is_in_the_delivery_log(
    make_runtime: RuntimeFactory,
    fake: FakeTrackers,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    runtime = _runtime(make_runtime, fake)
    fake.jira_down = 2  # Jira answers 503 twice, then files the ticket
    _setup(runtime, tmp_path)
    _ingest(runtime, good=90, bad=10)
    for _ in range(3):
        _tick(runtime, clock, minutes=10)  # the Jira action again, after each backoff
    with runtime.sessions() as session:
        rows = deliveries.for_subject(session, "slo:slo:apply-for-job")
        logged = sorted((r.channel, r.kind, r.target, r.ok, r.attempt) for r in rows)
        failure = next(r.detail for r in rows if not r.ok)
    # freezes and timeline notes stay inside Mamori: not deliveries
    assert logged == [
        ("github", "ticket", "acme/jobs", True, 1),
        ("jira", "ticket", "OPS", False, 1),
        ("jira", "ticket", "OPS", False, 2),
        ("jira", "ticket", "OPS", True, 3),
        ("webhook", "webhook", "https://hooks.example.com/slo", True, 1),
    ]
    assert "HTTP 503" in failure
