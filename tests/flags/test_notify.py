"""A halted guarded ramp notifies its owner: Slack chat.postMessage to the team's channel, else a timeline note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from mamori.core.clock import FixedClock
from mamori.core.models import Job, Service, Team, TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.flags import notify, ramps
from tests.conftest import RuntimeFactory
from tests.flags.conftest import apply_config, write_config
from tests.flags.test_ramps import FakeBurnAlert, _guard, _start


def _org(runtime: Runtime, channel: str | None) -> None:
    with runtime.sessions.begin() as session:
        team = Team(name="frontend", slack_channel=channel, created_at=runtime.now())
        session.add(team)
        session.flush()
        session.add(Service(name="jobs-web", owner_team_id=team.id, created_at=runtime.now()))


class FakeSlack:
    """chat.postMessage as documented: 200 with {"ok": true, ...} or {"ok": false, "error": ...}; 429 when limited."""

    def __init__(self, answers: list[httpx.Response]) -> None:
        self.answers: list[httpx.Response] = answers
        self.posts: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/chat.postMessage"
        assert request.headers["authorization"] == "Bearer xoxb-test"
        self.posts.append(json.loads(request.content))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _runtime(make_runtime: RuntimeFactory, tmp_path: Path, slack: FakeSlack | None, channel: str | None) -> Runtime:
    overrides = {"http_transport": httpx.MockTransport(slack)} if slack else {}
    runtime = make_runtime(slack_token="xoxb-test" if slack else None, **overrides)
    _org(runtime, channel)
    apply_config(runtime, write_config(tmp_path / "config"))
    return runtime


def _notify_jobs(runtime: Runtime) -> list[Job]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Job).where(Job.kind == notify.NOTIFY_RAMP_HALTED_JOB)))


def test_halted_ramp_posts_to_the_owning_teams_slack_channel_retrying_rate_limits(
    make_runtime: RuntimeFactory, tmp_path: Path, clock: FixedClock
) -> None:
    slack = FakeSlack(
        [
            httpx.Response(429, headers={"Retry-After": "1"}, json={"ok": False, "error": "ratelimited"}),
            httpx.Response(200, json={"ok": True, "channel": "C123", "ts": "1700000000.000100"}),
        ]
    )
    runtime = _runtime(make_runtime, tmp_path, slack, "#frontend-alerts")
    _start(runtime)
    _guard(runtime, FakeBurnAlert("jobs-web", "page", "search-latency", clock.now()), ramps.on_burn_alert)
    Worker(runtime).run_until_idle()
    assert len(slack.posts) == 1, "the rate-limited attempt waits for its backoff"
    clock.advance(minutes=30)
    Worker(runtime).run_until_idle()
    assert len(slack.posts) == 2
    post = slack.posts[-1]
    assert post["channel"] == "#frontend-alerts"
    assert "new-search" in post["text"] and "paused" in post["text"] and "search-latency" in post["text"]
    assert [job.status for job in _notify_jobs(runtime)] == ["succeeded"]


def test_slack_refusal_that_no_retry_cures_fails_the_job_at_once(
    make_runtime: RuntimeFactory, tmp_path: Path, clock: FixedClock
) -> None:
    slack = FakeSlack([httpx.Response(200, json={"ok": False, "error": "channel_not_found"})])
    runtime = _runtime(make_runtime, tmp_path, slack, "#gone")
    _start(runtime)
    _guard(runtime, FakeBurnAlert("jobs-web", "page", "search-latency", clock.now()), ramps.on_burn_alert)
    Worker(runtime).run_until_idle()
    job = _notify_jobs(runtime)[0]
    assert job.status == "failed" and "channel_not_found" in (job.last_error or "")
    assert len(slack.posts) == 1


def test_without_a_slack_token_the_owner_gets_a_timeline_note(
    make_runtime: RuntimeFactory, tmp_path: Path, clock: FixedClock
) -> None:
    runtime = _runtime(make_runtime, tmp_path, None, "#frontend-alerts")
    _start(runtime, guard="revert")
    _guard(runtime, FakeBurnAlert("jobs-web", "ticket", "search-errors", clock.now()), ramps.on_burn_alert)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        notes = session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "note")).all()
    assert len(notes) == 1
    assert (notes[0].team, notes[0].service) == ("frontend", "jobs-web")
    assert "no Slack token" in notes[0].title and "reverted" in notes[0].title and "search-errors" in notes[0].title
