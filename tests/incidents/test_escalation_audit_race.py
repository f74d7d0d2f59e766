"""The escalation auditor never reschedules a group that an acknowledgement (or a step) is changing right now."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select, update

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.jobs import JobContext
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from mamori.incidents.models import AlertGroup
from mamori.incidents.oncall import service as paging
from tests.core.concurrency import until_blocked_or_done
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import fire


def test_an_ack_committing_during_an_audit_leaves_no_escalation_behind(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    group_id = fire(runtime)
    with runtime.sessions.begin() as s:  # lose the step-2 timer, so that the auditor has a stall to find
        s.execute(update(Job).where(Job.kind == paging.ESCALATE_JOB, Job.status == "queued").values(status="failed"))
    clock.advance(minutes=8)
    errors: list[BaseException] = []

    def audit() -> None:
        try:
            with runtime.sessions.begin() as s:
                ctx = JobContext(session=s, job_id=0, attempt=1, now=runtime.now(), runtime=runtime)
                paging.audit_escalations(ctx, grace_seconds=120)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    with runtime.sessions.begin() as s:
        service.acknowledge(s, runtime, group_id=group_id, actor=Actor(name="bob", source="api"), now=runtime.now())
        thread = threading.Thread(target=audit)
        thread.start()
        until_blocked_or_done(runtime, thread)
    thread.join(timeout=30)
    assert not thread.is_alive() and not errors, errors

    with runtime.sessions() as s:
        group = s.get(AlertGroup, group_id)
        assert group is not None and group.status == "acknowledged"
        assert group.next_escalation_at is None, "the auditor rescheduled a step of an acknowledged group"
        queued = s.scalars(select(Job).where(Job.kind == paging.ESCALATE_JOB, Job.status == "queued")).all()
        assert queued == []
