"""Durable jobs of the delivery domain: the minute-by-minute Datadog export (points are stamped when sent,
since Datadog drops points more than an hour old)."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from mamori.core.jobs import JobContext, JobKind, NoPayload
from mamori.core.runtime import PeriodicSpec
from mamori.delivery import kinds
from mamori.delivery.service import export

log = logging.getLogger(__name__)
EXPORT_DATADOG_JOB = "delivery.export_datadog"


def export_datadog(ctx: JobContext, payload: NoPayload) -> None:
    """Nothing to do until a DeliveryPolicy names a Datadog sink and its API key is in the environment."""
    policy = kinds.policy(ctx.session)
    if policy.datadog is None:
        return
    api_key = os.environ.get(policy.datadog.api_key_env, "")
    if not api_key:
        log.warning("Datadog export: %s is not set; nothing sent", policy.datadog.api_key_env)
        return
    samples = export.collect(ctx.session, now=ctx.now, policy=policy)
    export.send_datadog(
        ctx.session,
        client=ctx.runtime.http_client(timeout=10.0),
        sink=policy.datadog,
        api_key=api_key,
        samples=samples,
        now=ctx.now,
    )


JOBS: list[JobKind[Any]] = [JobKind(EXPORT_DATADOG_JOB, NoPayload, export_datadog)]
PERIODIC = [PeriodicSpec(name="delivery-export-datadog", kind=EXPORT_DATADOG_JOB, interval=timedelta(minutes=1))]
