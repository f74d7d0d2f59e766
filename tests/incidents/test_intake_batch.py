"""A burst of payloads is processed in one batched job; a payload that fails is left to its own job."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from mamori.core import jobs
from mamori.core.clock import FixedClock
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.incidents.models import Alert, AlertGroup, Intake
from tests.incidents.fakes import am_payload, apply_config, install_fakes


def test_a_burst_is_processed_in_one_batch_and_a_bad_row_is_left_to_its_own_job(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    with runtime.sessions.begin() as s:
        for n in range(5):
            body = am_payload({"labels": {"alertname": f"Burst{n % 2}", "service": "jobs-api"}})
            service.accept(
                s,
                integration="prod-am",
                source="alertmanager",
                body=json.dumps(body).encode(),
                content_type="application/json",
                now=runtime.now(),
            )
        # a stored payload whose integration was removed since: processing it fails
        orphan = Intake(
            integration="gone", source="alertmanager", received_at=runtime.now(), body="{}", status="accepted"
        )
        s.add(orphan)
        s.flush()
        jobs.enqueue(s, kind=service.PROCESS_JOB, now=runtime.now(), payload={"intake_id": orphan.id}, dedupe_key="x")
        orphan_id = orphan.id
    worker = Worker(runtime)
    assert worker.run_once(limit=1) == 1  # the first payload's job takes the whole burst
    with runtime.sessions() as s:
        statuses = {i.id: i.status for i in s.scalars(select(Intake))}
        process_jobs = s.scalars(select(Job).where(Job.kind == service.PROCESS_JOB).order_by(Job.id)).all()
        alerts = s.scalars(select(Alert)).all()
    assert statuses.pop(orphan_id) == "accepted"
    assert set(statuses.values()) == {"processed"}
    assert [j.status for j in process_jobs] == [
        "succeeded",
        "cancelled",
        "cancelled",
        "cancelled",
        "cancelled",
        "queued",
    ]
    assert sorted((a.labels["alertname"], a.occurrences) for a in alerts) == [("Burst0", 3), ("Burst1", 2)]
    worker.run_until_idle()
    with runtime.sessions() as s:
        orphan_job = s.scalars(select(Job).where(Job.dedupe_key == "x")).one()
        assert orphan_job.attempts == 1 and "no Integration named 'gone'" in (orphan_job.last_error or "")
        assert s.scalar(select(Intake.status).where(Intake.id == orphan_id)) == "accepted"
        assert len(s.scalars(select(AlertGroup)).all()) == 2
