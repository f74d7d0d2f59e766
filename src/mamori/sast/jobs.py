"""Durable jobs of the sast domain: reopening accepted risks whose expiry has passed (hourly)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mamori.core.jobs import JobContext, JobKind, NoPayload
from mamori.core.runtime import PeriodicSpec
from mamori.sast.service import triage

EXPIRE_JOB = "sast.expire_accepted_risks"


def expire_job(ctx: JobContext, payload: NoPayload) -> None:
    triage.expire_accepted_risks(ctx.session, now=ctx.now, bus=ctx.runtime.bus)


JOBS: list[JobKind[Any]] = [JobKind(EXPIRE_JOB, NoPayload, expire_job)]
PERIODIC = [PeriodicSpec(name=EXPIRE_JOB, kind=EXPIRE_JOB, interval=timedelta(hours=1))]
