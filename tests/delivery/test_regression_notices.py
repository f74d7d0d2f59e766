"""A regression tells the service's owning team and, by the DeliveryPolicy, files one ticket; both name the
change that coincides with the first slow run (subscribed to RegressionFound in mamori.wiring)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import Delivery
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.delivery.events import RegressionFound
from mamori.delivery.models import DeliveryPullRequest
from mamori.delivery.schemas import BuildIn, StepIn
from mamori.delivery.service import effects, generic
from mamori.integrations.notify import InMemoryNotifier, Notifiers
from mamori.integrations.tickets import InMemoryTracker, Trackers
from tests.conftest import T0, RuntimeFactory

CONFIG = """\
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: platform}
spec: {slackChannel: C0PLATFORM, email: platform@example.com}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec: {owner: platform}
---
apiVersion: mamori.dev/v1
kind: DeliveryPolicy
metadata: {name: default}
spec:
  regressions: %s
"""


def _setup(
    make_runtime: RuntimeFactory, tmp_path: Path, regressions: str
) -> tuple[Runtime, dict[str, InMemoryNotifier], InMemoryTracker]:
    fakes = {c: InMemoryNotifier(c) for c in ("slack", "email", "webhook")}
    tracker = InMemoryTracker("jira")
    runtime = make_runtime(states=[Notifiers(dict(fakes)), Trackers({"jira": tracker})])
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "all.yaml").write_text(CONFIG % regressions)
    manifest.apply(runtime, manifest.load(tmp_path / "c", runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        for i in range(30):
            start = T0 - timedelta(hours=40 - i)
            seconds = 60 + (i % 3) if i < 25 else 150 + i
            build = {"id": f"b{i}", "service": "jobs-api", "status": "success", "started_at": start, "sha": f"c{i}",
                     "finished_at": start + timedelta(seconds=seconds + 10)}  # fmt: skip
            generic.record_build(session, bus=runtime.bus, body=BuildIn.model_validate(build), now=runtime.now())
            step = {"build": f"b{i}", "service": "jobs-api", "name": "docker build", "status": "success",
                    "started_at": start, "finished_at": start + timedelta(seconds=seconds)}  # fmt: skip
            generic.record_step(session, bus=runtime.bus, body=StepIn.model_validate(step), now=runtime.now())
        session.add(
            DeliveryPullRequest(
                repo="acme/jobs-api", number=7, service="jobs-api", title="Switch the base image to slim",
                state="merged", merge_sha="c25", created_at=T0 - timedelta(days=2), updated_at=T0 - timedelta(days=1),
                merged_at=T0 - timedelta(hours=16),
            )
        )  # fmt: skip
    return runtime, fakes, tracker


def _announce(runtime: Runtime) -> int:
    with runtime.sessions.begin() as session:
        found = effects.announce_regressions(
            session, bus=runtime.bus, services=["jobs-api"], since=T0 - timedelta(days=3), now=runtime.now()
        )
    Worker(runtime).run_until_idle()
    return found


def test_a_regression_tells_the_owning_team_and_files_one_ticket_naming_the_change(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    runtime, fakes, tracker = _setup(make_runtime, tmp_path, "{ticket: {tracker: jira, project: OPS}}")
    assert _announce(runtime) == 1
    (slack_target, message), = fakes["slack"].sent  # fmt: skip
    assert slack_target == "C0PLATFORM" and [t for t, _ in fakes["email"].sent] == ["platform@example.com"]
    assert message.title.startswith("jobs-api: step:build/docker build is slower (")
    assert "Coincides with: acme/jobs-api#7 Switch the base image to slim (c25)" in message.lines
    assert message.idempotency_key and message.idempotency_key.startswith("mamori-regression-")
    (project, request, _ticket), = tracker.filed  # fmt: skip
    assert project == "OPS" and request.marker == message.idempotency_key
    assert "Coincides with: acme/jobs-api#7 Switch the base image to slim (c25)" in request.body
    assert ("owner", "platform") in request.facts
    with runtime.sessions() as session:
        log = [(d.kind, d.channel, d.ok) for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert sorted(log) == [("notification", "email", True), ("notification", "slack", True), ("ticket", "jira", True)]
    # the hourly check finds nothing new; the same regression delivered again finds its ticket by the marker
    assert _announce(runtime) == 0
    event = RegressionFound(
        service="jobs-api", key="step:build/docker build", baseline_seconds=61, recent_seconds=177,
        since=T0 - timedelta(hours=15), since_sha="c25",
    )  # fmt: skip
    with runtime.sessions.begin() as session:
        runtime.bus.publish(session, event, now=runtime.now())
    Worker(runtime).run_until_idle()
    assert len(tracker.filed) == 1, "one ticket per regression"


def test_without_a_ticket_setting_only_the_notice_goes_and_a_slack_outage_is_retried(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    runtime, fakes, tracker = _setup(make_runtime, tmp_path, "{}")
    fakes["slack"].failures_left = 1  # a transient outage: the job retries later
    assert _announce(runtime) == 1
    assert tracker.filed == [] and fakes["slack"].sent == []
    runtime.clock.advance(minutes=10)  # type: ignore[attr-defined]
    Worker(runtime).run_until_idle()
    assert [t for t, _ in fakes["slack"].sent] == ["C0PLATFORM"]
    assert fakes["slack"].sent[0][1].resend is True, "a retry asks the channel to look for its first attempt"
    with runtime.sessions() as session:
        slack = [(d.ok, d.attempt) for d in session.scalars(select(Delivery).where(Delivery.channel == "slack"))]
    assert sorted(slack) == [(False, 1), (True, 2)]


def test_notices_can_be_switched_off(make_runtime: RuntimeFactory, tmp_path: Path) -> None:
    runtime, fakes, tracker = _setup(make_runtime, tmp_path, "{notify: false}")
    assert _announce(runtime) == 1
    assert fakes["slack"].sent == [] and fakes["email"].sent == [] and tracker.filed == []
