from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service, silences
from mamori.incidents.models import AlertGroup, Intake, Notification, NotificationAttempt
from mamori.incidents.oncall import service as paging
from mamori.integrations.notify import Notifiers
from tests.conftest import RuntimeFactory
from tests.incidents.fakes import RecordingNotifier, am_payload, apply_config, install_fakes

LATENCY = {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical"}


def fire(runtime: Runtime, labels: dict[str, str] = LATENCY) -> str:
    """Accept an Alertmanager payload as the webhook would, process it, return the group id."""
    import json

    with runtime.sessions.begin() as s:
        service.accept(
            s,
            integration="prod-am",
            source="alertmanager",
            body=json.dumps(am_payload({"labels": labels})).encode(),
            content_type="application/json",
            now=runtime.now(),
        )
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        return str(s.scalars(select(AlertGroup.id).order_by(AlertGroup.opened_at.desc())).first())


def emailed(fakes: dict[str, RecordingNotifier]) -> list[str]:
    return [target for target, _ in fakes["email"].sent]


def step(runtime: Runtime, clock: FixedClock, **delta: float) -> None:
    clock.advance(**delta)
    Worker(runtime).run_until_idle()


def test_steps_fire_on_time_and_repeat_once(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    fire(runtime)
    # Saturday 28 Nov 2026: the weekly layer has bob (week 46 of the rotation); weekdays-only layer is off.
    assert emailed(fakes) == ["bob@example.com"]
    assert [t for t, _ in fakes["webhook"].sent] == ["https://hooks.example.com/bob"]
    step(runtime, clock, minutes=4, seconds=59)
    assert emailed(fakes) == ["bob@example.com"]
    step(runtime, clock, seconds=1)
    assert emailed(fakes) == ["bob@example.com", "carol@example.com"]
    step(runtime, clock, minutes=10)
    assert emailed(fakes)[-1] == "bob@example.com"  # repeat: 1 starts the policy over once
    step(runtime, clock, minutes=5)
    step(runtime, clock, hours=2)
    assert emailed(fakes) == ["bob@example.com", "carol@example.com", "bob@example.com", "carol@example.com"]


def test_acknowledge_stops_escalation(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    group_id = fire(runtime)
    step(runtime, clock, minutes=2)
    with runtime.sessions.begin() as s:
        service.acknowledge(s, runtime, group_id=group_id, actor=Actor("bob@example.com", "api"), now=runtime.now())
    step(runtime, clock, hours=1)
    assert emailed(fakes) == ["bob@example.com"]
    with runtime.sessions() as s:
        group = s.get(AlertGroup, group_id)
        assert group is not None and group.status == "acknowledged" and group.acknowledged_by == "bob@example.com"


def test_escalation_continues_in_a_new_runtime_after_restart(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    first = make_runtime()
    apply_config(first, tmp_path / "c")
    install_fakes(first)
    fire(first)
    first.engine.dispose()
    second = make_runtime()
    fakes = install_fakes(second)
    step(second, clock, minutes=5)
    assert emailed(fakes) == ["carol@example.com"]


def test_failed_sends_are_retried_with_backoff_and_every_attempt_recorded(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    fakes["email"].failures_left = 2
    fire(runtime)
    assert emailed(fakes) == []
    step(runtime, clock, seconds=5)  # first retry after 5 s fails again
    assert emailed(fakes) == []
    step(runtime, clock, seconds=10)  # second retry after 10 s succeeds
    assert emailed(fakes) == ["bob@example.com"]
    with runtime.sessions() as s:
        note = s.scalars(select(Notification).where(Notification.channel == "email")).one()
        attempts = s.scalars(
            select(NotificationAttempt)
            .where(NotificationAttempt.notification_id == note.id)
            .order_by(NotificationAttempt.id)
        ).all()
        assert (note.status, note.attempts) == ("sent", 3)
        assert [a.ok for a in attempts] == [False, False, True]
        assert "email is down" in attempts[0].detail


def test_auditor_finds_a_stalled_escalation_and_restarts_it(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    group_id = fire(runtime)
    with runtime.sessions.begin() as s:  # lose the step-2 timer, as a broken deploy might
        s.execute(update(Job).where(Job.kind == paging.ESCALATE_JOB, Job.status == "queued").values(status="failed"))
    clock.advance(minutes=8)
    with runtime.sessions() as s:
        assert [g.id for g in paging.find_stalled(s, now=runtime.now())] == [group_id]
    Worker(runtime).run_until_idle()  # the periodic auditor runs and reschedules the step
    assert emailed(fakes) == ["bob@example.com", "carol@example.com"]
    with runtime.sessions() as s:
        assert paging.find_stalled(s, now=runtime.now()) == []


def test_unknown_user_and_missing_notifier_are_recorded_not_lost(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = make_runtime(states=[Notifiers({"email": RecordingNotifier("email")})])
    policy = """\
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: ghosts}
spec:
  steps: [{notify: {users: [ghost@example.com, alice@example.com]}, escalateAfter: 30s}]
"""
    route = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: ghosts}
spec: {default: {escalationPolicy: ghosts}}
"""
    integration = """\
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: ghosts}
spec: {type: generic, route: ghosts}
"""
    apply_config(runtime, tmp_path / "c", policy, route, integration)
    with runtime.sessions.begin() as s:
        service.accept(
            s,
            integration="ghosts",
            source="generic",
            body=b'{"id": "1", "title": "t"}',
            content_type="application/json",
            now=runtime.now(),
        )
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        notes = {(n.user_email, n.channel): n for n in s.scalars(select(Notification))}
        assert notes[("ghost@example.com", "none")].status == "failed"
        assert "no user" in str(notes[("ghost@example.com", "none")].last_error)
        assert notes[("alice@example.com", "email")].status == "sent"
        assert notes[("alice@example.com", "webhook")].last_error == "no notifier configured for webhook"
        assert s.scalar(select(Intake.status)) == "processed"


def test_silence_and_maintenance_window_suppress_paging(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    now = runtime.now()
    from datetime import timedelta

    with runtime.sessions.begin() as s:
        silence = silences.create_silence(
            s,
            matchers=['alertname="HighLatency"'],
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            comment="deploy",
            actor=Actor("t", "api"),
            now=now,
        )
        silences.create_maintenance(
            s,
            services=["jobs-web"],
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            reason="db migration",
            actor=Actor("t", "api"),
            now=now,
        )
        silence_id = silence.id
    with runtime.sessions.begin() as s:
        for labels in (LATENCY, {"alertname": "Other", "service": "jobs-web"}):
            service.accept(
                s,
                integration="prod-am",
                source="alertmanager",
                body=__import__("json").dumps(am_payload({"labels": labels})).encode(),
                content_type="application/json",
                now=now,
            )
    Worker(runtime).run_until_idle()
    assert fakes["email"].sent == []
    with runtime.sessions.begin() as s:
        silences.expire_silence(s, silence_id=silence_id, actor=Actor("t", "api"), now=runtime.now())
    clock.advance(minutes=1)
    fire(runtime)
    assert emailed(fakes) == ["bob@example.com"]


def test_a_user_whose_email_has_capitals_is_still_paged(runtime: Runtime, tmp_path: Path) -> None:
    from mamori.core.models import User

    apply_config(runtime, tmp_path / "c")
    with runtime.sessions.begin() as s:  # as a User document may spell it; schedules hold it lowercased
        s.execute(update(User).where(User.email == "bob@example.com").values(email="Bob@Example.com"))
    fakes = install_fakes(runtime)
    fire(runtime)
    assert [e.lower() for e in emailed(fakes)] == ["bob@example.com"]
    with runtime.sessions() as s:
        assert not s.scalars(select(Notification).where(Notification.status == "failed")).all()


def test_a_step_whose_pages_all_fail_for_good_escalates_to_the_next_step_at_once(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    """bob's address and webhook are refused for good: carol (step 2) is paged now, not after 5 minutes."""
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    for channel in ("email", "webhook"):
        fakes[channel].failures_left, fakes[channel].permanent = 1, True
    group_id = fire(runtime)
    assert emailed(fakes) == ["carol@example.com"], "the next step ran without waiting"
    with runtime.sessions() as s:
        failed = s.scalars(select(Notification).where(Notification.group_id == group_id, Notification.step == 0)).all()
        assert {(n.channel, n.status) for n in failed} == {("email", "failed"), ("webhook", "failed")}
    step(runtime, clock, minutes=5)
    assert emailed(fakes) == ["carol@example.com"], "the original step-2 job is stale and pages nobody twice"


def test_a_transient_failure_is_retried_and_does_not_skip_the_step(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    fakes["email"].failures_left = 1  # a network error: retried with backoff
    fire(runtime)
    assert emailed(fakes) == []
    step(runtime, clock, seconds=30)
    assert emailed(fakes) == ["bob@example.com"]
    step(runtime, clock, minutes=5)
    assert emailed(fakes) == ["bob@example.com", "carol@example.com"]
