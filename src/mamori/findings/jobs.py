"""Durable jobs of the findings domain: the hourly re-evaluation of suppression rules (an expired rule
reopens what it hid) and of SLA breaches (each breach noted once on the timeline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mamori.core.jobs import JobContext, JobKind, NoPayload
from mamori.core.runtime import PeriodicSpec
from mamori.findings.service import triage

SUPPRESSIONS_JOB = "findings.suppressions"


def suppressions_job(ctx: JobContext, payload: NoPayload) -> None:
    triage.apply_suppressions(ctx.session, now=ctx.now)
    triage.note_breaches(ctx.session, now=ctx.now)


JOBS: list[JobKind[Any]] = [JobKind(SUPPRESSIONS_JOB, NoPayload, suppressions_job)]
PERIODIC = [PeriodicSpec(name="findings.suppressions", kind=SUPPRESSIONS_JOB, interval=timedelta(hours=1))]
