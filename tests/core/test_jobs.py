"""Durable jobs in one process: delays, retries with backoff, failures kept, periodic ticks, fencing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import select, update

from mamori.core import jobs, timeline
from mamori.core.clock import FixedClock
from mamori.core.events import Event
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.core.models import Job, TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker


def note(ctx: JobContext, payload: dict[str, Any]) -> None:
    timeline.record(ctx.session, at=ctx.now, kind="note", source="test", title=str(payload["title"]))


def titles(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return [e.title for e in session.scalars(select(TimelineEvent).order_by(TimelineEvent.id))]


def test_backoff_doubles_and_is_capped() -> None:
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert jobs.backoff(30) == timedelta(hours=1)


def test_a_delayed_job_runs_only_when_due(runtime: Runtime, clock: FixedClock) -> None:
    runtime.jobs.register("test.note", note)
    with runtime.sessions.begin() as session:
        jobs.enqueue(session, kind="test.note", now=clock.now(), delay=timedelta(minutes=5), payload={"title": "later"})
    worker = Worker(runtime)
    worker.run_until_idle()
    assert titles(runtime) == []
    clock.advance(minutes=4, seconds=59)
    worker.run_until_idle()
    assert titles(runtime) == []
    clock.advance(seconds=1)
    worker.run_until_idle()
    assert titles(runtime) == ["later"]


def test_a_failing_job_retries_with_backoff_then_is_kept_as_failed(runtime: Runtime, clock: FixedClock) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(ctx.attempt)
        timeline.record(ctx.session, at=ctx.now, kind="note", source="test", title="must roll back")
        raise RuntimeError("upstream said 502")

    runtime.jobs.register("test.flaky", flaky)
    with runtime.sessions.begin() as session:
        job_id = jobs.enqueue(session, kind="test.flaky", now=clock.now(), max_attempts=3).id
    worker = Worker(runtime)
    worker.run_until_idle()
    assert calls == [1]
    clock.advance(seconds=4)
    worker.run_until_idle()
    assert calls == [1], "the retry waits for its backoff"
    clock.advance(seconds=1)
    worker.run_until_idle()
    clock.advance(seconds=10)
    worker.run_until_idle()
    assert calls == [1, 2, 3]
    with runtime.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "failed" and "upstream said 502" in (job.last_error or "")
    assert titles(runtime) == [], "a failed attempt's writes are rolled back"


def test_a_permanent_error_and_an_unknown_kind_fail_at_once(runtime: Runtime, clock: FixedClock) -> None:
    def hopeless(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise PermanentJobError("config is wrong")

    runtime.jobs.register("test.hopeless", hopeless)
    with runtime.sessions.begin() as session:
        a = jobs.enqueue(session, kind="test.hopeless", now=clock.now()).id
        b = jobs.enqueue(session, kind="test.nobody", now=clock.now()).id
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        assert [(j.status, j.attempts) for j in (session.get(Job, a), session.get(Job, b)) if j] == [
            ("failed", 1),
            ("failed", 1),
        ]
        failed = session.get(Job, b)
        assert failed is not None and "no handler registered for job kind 'test.nobody'" in (failed.last_error or "")


def test_dedupe_key_enqueues_once(runtime: Runtime, clock: FixedClock) -> None:
    with runtime.sessions.begin() as session:
        first = jobs.enqueue(session, kind="x", now=clock.now(), dedupe_key="ticket:slo-a:episode-1")
        second = jobs.enqueue(session, kind="x", now=clock.now(), dedupe_key="ticket:slo-a:episode-1")
        assert first.id == second.id
        assert len(session.scalars(select(Job)).all()) == 1


def test_periodic_jobs_tick_once_per_interval_and_skip_missed_ticks(runtime: Runtime, clock: FixedClock) -> None:
    runtime.jobs.register("test.note", note)
    with runtime.sessions.begin() as session:
        jobs.schedule_periodic(
            session,
            name="hourly-note",
            kind="test.note",
            interval=timedelta(hours=1),
            now=clock.now(),
            payload={"title": "tick"},
        )
    worker = Worker(runtime)
    worker.run_until_idle()
    worker.run_until_idle()
    assert titles(runtime) == ["tick"]
    clock.advance(hours=5, minutes=30)  # five ticks missed while down: one catch-up run, not five
    worker.run_until_idle()
    assert titles(runtime) == ["tick", "tick"]
    clock.advance(minutes=30)
    worker.run_until_idle()
    assert titles(runtime) == ["tick", "tick", "tick"]


def test_a_worker_that_lost_its_lease_does_not_commit(runtime: Runtime, clock: FixedClock) -> None:
    def stolen(ctx: JobContext, payload: dict[str, Any]) -> None:
        with runtime.sessions.begin() as other:  # another worker re-claims while this one is slow
            other.execute(update(Job).where(Job.id == ctx.job_id).values(locked_by="someone-else"))
        timeline.record(ctx.session, at=ctx.now, kind="note", source="test", title="stale worker")

    runtime.jobs.register("test.stolen", stolen)
    with runtime.sessions.begin() as session:
        jobs.enqueue(session, kind="test.stolen", now=clock.now())
    Worker(runtime).run_once()
    assert titles(runtime) == []


class Pinged(Event):
    type: ClassVar[str] = "test.pinged"
    service: str


def test_published_events_reach_subscribers_only_when_the_publisher_commits(
    runtime: Runtime, clock: FixedClock
) -> None:
    seen: list[str] = []
    runtime.bus.subscribe(Pinged, "test.remember", lambda ctx, event: seen.append(event.service))
    with runtime.sessions.begin() as session:
        runtime.bus.publish(session, Pinged(service="jobs-api"), now=clock.now())
    with pytest.raises(RuntimeError), runtime.sessions.begin() as session:
        runtime.bus.publish(session, Pinged(service="rolled-back"), now=clock.now())
        raise RuntimeError("publisher failed")
    Worker(runtime).run_until_idle()
    assert seen == ["jobs-api"]


class TitlePayload(jobs.Payload):
    title: str
    times: int = 1


def titled(ctx: JobContext, payload: TitlePayload) -> None:
    for _ in range(payload.times):
        timeline.record(ctx.session, at=ctx.now, kind="note", source="test", title=payload.title)


TITLED = jobs.JobKind("test.titled", TitlePayload, titled)


def test_a_typed_job_gets_its_payload_model_and_a_bad_payload_is_refused_when_enqueued(
    runtime: Runtime, clock: FixedClock
) -> None:
    runtime.jobs.add(TITLED)
    with runtime.sessions.begin() as session:
        jobs.enqueue(session, kind=TITLED.kind, now=clock.now(), payload=TitlePayload(title="typed", times=2))
        jobs.enqueue(session, kind=TITLED.kind, now=clock.now(), payload={"title": "from a dict"})
        with pytest.raises(ValueError, match=r"job 'test.titled': payload does not fit TitlePayload"):
            jobs.enqueue(session, kind=TITLED.kind, now=clock.now(), payload={"titel": "typo"})
        with pytest.raises(ValueError, match=r"takes a TitlePayload payload, not NoPayload"):
            jobs.enqueue(session, kind=TITLED.kind, now=clock.now(), payload=jobs.NoPayload())
    Worker(runtime).run_until_idle()
    assert titles(runtime) == ["typed", "typed", "from a dict"]


def test_a_stored_payload_that_no_longer_fits_fails_the_job_at_once_with_the_reason(
    runtime: Runtime, clock: FixedClock
) -> None:
    runtime.jobs.add(TITLED)
    with runtime.sessions.begin() as session:
        job_id = jobs.enqueue(session, kind=TITLED.kind, now=clock.now(), payload={"title": "ok"}).id
        session.execute(update(Job).where(Job.id == job_id).values(payload={"title": 3, "old_field": True}))
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "failed" and job.attempts == 1
        assert "stored payload does not fit TitlePayload" in (job.last_error or "")
    assert titles(runtime) == []
