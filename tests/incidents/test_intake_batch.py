"""The intake log's group commit: one transaction and one processing job per batch of payloads; a payload
that fails in its batch is rolled back alone and gets a job of its own; page jobs are claimed first."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mamori.core import jobs
from mamori.core.clock import FixedClock
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.incidents.alerts.log import IntakeLog
from mamori.incidents.models import Alert, AlertGroup, Intake
from tests.incidents.fakes import am_payload, apply_config, install_fakes


def _row(runtime: Runtime, integration: str, alertname: str) -> dict[str, object]:
    body = json.dumps(am_payload({"labels": {"alertname": alertname, "service": "jobs-api"}})).encode()
    log = runtime.state(IntakeLog)
    spec = log.cached_spec("prod-am") or log.load_spec("prod-am")
    checked = service.check(
        spec, integration=integration, source="alertmanager", body=body, content_type="", now=runtime.now()
    )
    return checked.row


def test_a_batch_is_one_job_and_a_bad_payload_does_not_lose_the_good_ones(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    rows = [_row(runtime, "prod-am", f"Burst{n % 2}") for n in range(5)]
    rows.insert(2, {**rows[0], "integration": "gone"})  # its Integration was removed since: processing fails
    ids = runtime.state(IntakeLog).write(rows)
    assert ids == sorted(ids) and len(ids) == 6
    with runtime.sessions() as s:
        process_jobs = s.scalars(select(Job).where(Job.kind == service.PROCESS_JOB)).all()
        assert [(j.payload, j.priority) for j in process_jobs] == [
            ({"intake_id": ids[0], "last_id": ids[-1]}, jobs.PRIORITY_INTAKE)
        ]
    worker = Worker(runtime)
    assert worker.run_once(limit=1) == 1  # the batch's one job takes all six
    with runtime.sessions() as s:
        statuses = {i.id: i.status for i in s.scalars(select(Intake))}
        alerts = s.scalars(select(Alert)).all()
        retry = s.scalars(select(Job).where(Job.dedupe_key == f"intake:{ids[2]}")).one()
    assert statuses.pop(ids[2]) == "accepted"
    assert set(statuses.values()) == {"processed"}
    assert sorted((a.labels["alertname"], a.occurrences) for a in alerts) == [("Burst0", 3), ("Burst1", 2)]
    assert retry.status == "queued" and retry.payload["intake_id"] == ids[2] and retry.payload.get("last_id") is None
    clock.advance(timedelta(minutes=1))
    worker.run_until_idle()
    with runtime.sessions() as s:
        retry = s.scalars(select(Job).where(Job.dedupe_key == f"intake:{ids[2]}")).one()
        assert retry.attempts >= 1 and "no Integration named 'gone'" in (retry.last_error or "")
        assert s.scalar(select(Intake.status).where(Intake.id == ids[2])) == "accepted"
        assert len(s.scalars(select(AlertGroup)).all()) == 2


def test_a_rejected_row_is_kept_and_gets_no_job(runtime: Runtime, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    bad = {**_row(runtime, "prod-am", "X"), "status": "rejected", "error": "alerts[0].labels is missing or empty"}
    [ident] = runtime.state(IntakeLog).write([bad])
    with runtime.sessions() as s:
        assert s.get(Intake, ident).status == "rejected"  # type: ignore[union-attr]
        assert s.scalars(select(Job).where(Job.kind == service.PROCESS_JOB)).all() == []


def test_page_jobs_are_claimed_before_intake_work_and_other_jobs(runtime: Runtime, clock: FixedClock) -> None:
    """Older intake and default jobs are due, yet a newer page job runs first; then intake, then the rest."""
    ran: list[str] = []
    for kind in ("t.default", "t.intake", "t.page"):
        runtime.jobs.register(kind, lambda ctx, payload, kind=kind: ran.append(kind))
    with runtime.sessions.begin() as s:
        jobs.enqueue(s, kind="t.default", now=clock.now() - timedelta(seconds=3))
        jobs.enqueue(s, kind="t.intake", now=clock.now() - timedelta(seconds=2), priority=jobs.PRIORITY_INTAKE)
        jobs.enqueue(s, kind="t.page", now=clock.now(), priority=jobs.PRIORITY_PAGE)
    Worker(runtime).run_until_idle()
    assert ran == ["t.page", "t.intake", "t.default"]


def test_escalation_and_notify_kinds_carry_the_page_priority() -> None:
    from mamori.incidents.oncall import service as paging

    assert jobs.priority_of(paging.ESCALATE_JOB) == jobs.PRIORITY_PAGE
    assert jobs.priority_of(paging.NOTIFY_JOB) == jobs.PRIORITY_PAGE
    assert jobs.priority_of(service.PROCESS_JOB) == jobs.PRIORITY_INTAKE
    assert jobs.priority_of("anything.else") == jobs.PRIORITY_DEFAULT
