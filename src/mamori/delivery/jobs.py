"""Durable jobs of the delivery domain: the minute-by-minute export to Datadog and OTLP (points are stamped when sent,
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
EXPORT_METRICS_JOB = "delivery.export_metrics"


def export_metrics(ctx: JobContext, payload: NoPayload) -> None:
    """Send every figure to the sinks the DeliveryPolicy names (Datadog, OTLP); nothing when it names none."""
    policy = kinds.policy(ctx.session)
    if policy.datadog is None and policy.otlp is None:
        return
    samples = export.collect(ctx.session, now=ctx.now, policy=policy)
    if policy.otlp is not None:
        headers = {**policy.otlp.headers, **{k: os.environ.get(v, "") for k, v in policy.otlp.headers_env.items()}}
        export.send_otlp(
            ctx.session,
            client=ctx.runtime.http_client(timeout=10.0),
            endpoint=policy.otlp.endpoint,
            samples=samples,
            now=ctx.now,
            headers=headers,
        )
    if policy.datadog is None:
        return
    api_key = os.environ.get(policy.datadog.api_key_env, "")
    if not api_key:
        log.warning("Datadog export: %s is not set; nothing sent", policy.datadog.api_key_env)
        return
    export.send_datadog(
        ctx.session,
        client=ctx.runtime.http_client(timeout=10.0),
        sink=policy.datadog,
        api_key=api_key,
        samples=samples,
        now=ctx.now,
    )


JOBS: list[JobKind[Any]] = [JobKind(EXPORT_METRICS_JOB, NoPayload, export_metrics)]
PERIODIC = [PeriodicSpec(name="delivery-export-metrics", kind=EXPORT_METRICS_JOB, interval=timedelta(minutes=1))]
