"""Durable jobs of the delivery domain: the GitHub REST backfill per repository, and the minute-by-minute export
to Datadog and OTLP (points are stamped when sent,
since Datadog drops points more than an hour old)."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from pydantic import Field

from mamori.core import jobs
from mamori.core.jobs import JobContext, JobKind, NoPayload, Payload
from mamori.core.runtime import PeriodicSpec
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryDeploy
from mamori.delivery.service import backfill, effects, export, store
from mamori.delivery.service import inquiries as inquiry_service
from mamori.delivery.sinks import datadog

log = logging.getLogger(__name__)
EXPORT_METRICS_JOB = "delivery.export_metrics"
BACKFILL_JOB = "delivery.github_backfill"
SCHEDULE_BACKFILLS_JOB = "delivery.schedule_backfills"


class Backfill(Payload):
    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def github_api(ctx: JobContext) -> backfill.GitHubApi:
    settings = ctx.runtime.settings
    token = settings.github_token.get_secret_value() if settings.github_token else None
    return backfill.GitHubApi(
        client=ctx.runtime.http_client(timeout=20.0),
        base_url=settings.github_api_url,
        token=token,
        allow_private=settings.allow_private_webhooks,
    )


def github_backfill(ctx: JobContext, payload: Backfill) -> None:
    """Up to ten pages of one repository's lists; runs itself again for the rest, or at the rate limit's reset."""
    outcome = backfill.sync_repo(ctx.session, api=github_api(ctx), bus=ctx.runtime.bus, repo=payload.repo, now=ctx.now)
    if outcome.more or outcome.wait_until is not None:
        jobs.enqueue(
            ctx.session,
            kind=BACKFILL_JOB,
            now=ctx.now,
            payload=Backfill(repo=payload.repo),
            run_at=outcome.wait_until or ctx.now,
            dedupe_key=f"delivery-backfill:{payload.repo}:after:{ctx.job_id}",
        )


def schedule_backfills(ctx: JobContext, payload: NoPayload) -> None:
    """Every quarter hour: a backfill run for each repository the policy marks `backfill: true`."""
    slot = int(ctx.now.timestamp()) // 900
    for mapping in kinds.policy(ctx.session).repositories:
        if mapping.backfill:
            jobs.enqueue(
                ctx.session,
                kind=BACKFILL_JOB,
                now=ctx.now,
                payload=Backfill(repo=mapping.repo),
                dedupe_key=f"delivery-backfill:{mapping.repo}:{slot}",
            )


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
            allow_private=ctx.runtime.settings.allow_private_webhooks,
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
        allow_private=ctx.runtime.settings.allow_private_webhooks,
    )


DATADOG_EVENT_JOB = store.DATADOG_EVENT_JOB


class DeployEvent(Payload):
    deploy_id: str


def datadog_deploy_event(ctx: JobContext, payload: DeployEvent) -> None:
    """A finished production deploy as a Datadog event, when the policy names a Datadog sink."""
    policy = kinds.policy(ctx.session)
    deploy = ctx.session.get(DeliveryDeploy, payload.deploy_id)
    if policy.datadog is None or deploy is None or deploy.finished_at is None:
        return
    api_key = os.environ.get(policy.datadog.api_key_env, "")
    if not api_key:
        log.warning("Datadog event: %s is not set; nothing sent", policy.datadog.api_key_env)
        return
    event = datadog.deploy_event(
        service=deploy.service,
        environment=deploy.environment,
        status=deploy.status,
        version=deploy.version or deploy.sha,
        rollback=deploy.rollback,
        at=int(deploy.finished_at.timestamp()),
        tags=policy.datadog.tags,
    )
    export.send_deploy_event(
        ctx.session,
        client=ctx.runtime.http_client(timeout=10.0),
        sink=policy.datadog,
        api_key=api_key,
        event=event,
        now=ctx.now,
        allow_private=ctx.runtime.settings.allow_private_webhooks,
    )


CHECK_REGRESSIONS_JOB = "delivery.check_regressions"


def check_regressions(ctx: JobContext, payload: NoPayload) -> None:
    """Hourly: new regressions of every service go on the timeline and out as RegressionFound."""
    policy = kinds.policy(ctx.session)
    effects.announce_regressions(
        ctx.session,
        bus=ctx.runtime.bus,
        services=export.services(ctx.session),
        since=ctx.now - timedelta(days=policy.window_days),
        now=ctx.now,
    )


SYNC_JIRA_JOB = "delivery.sync_jira_inquiries"


def sync_jira(ctx: JobContext, payload: NoPayload) -> None:
    """Every quarter hour, when the policy has a JQL and Jira is configured (MAMORI_JIRA_URL, _EMAIL, _TOKEN)."""
    settings = ctx.runtime.settings
    config = kinds.policy(ctx.session).inquiries
    if not config.jira_jql or not (settings.jira_url and settings.jira_email and settings.jira_token):
        return
    inquiry_service.sync_jira(
        ctx.session,
        client=ctx.runtime.http_client(timeout=20.0),
        base_url=settings.jira_url,
        email=settings.jira_email,
        token=settings.jira_token.get_secret_value(),
        config=config,
        allow_private=settings.allow_private_webhooks,
    )


JOBS: list[JobKind[Any]] = [
    JobKind(EXPORT_METRICS_JOB, NoPayload, export_metrics),
    JobKind(BACKFILL_JOB, Backfill, github_backfill),
    JobKind(SCHEDULE_BACKFILLS_JOB, NoPayload, schedule_backfills),
    JobKind(SYNC_JIRA_JOB, NoPayload, sync_jira),
    JobKind(DATADOG_EVENT_JOB, DeployEvent, datadog_deploy_event),
    JobKind(CHECK_REGRESSIONS_JOB, NoPayload, check_regressions),
]
PERIODIC = [
    PeriodicSpec(name="delivery-export-metrics", kind=EXPORT_METRICS_JOB, interval=timedelta(minutes=1)),
    PeriodicSpec(name="delivery-schedule-backfills", kind=SCHEDULE_BACKFILLS_JOB, interval=timedelta(minutes=15)),
    PeriodicSpec(name="delivery-sync-jira-inquiries", kind=SYNC_JIRA_JOB, interval=timedelta(minutes=15)),
    PeriodicSpec(name="delivery-check-regressions", kind=CHECK_REGRESSIONS_JOB, interval=timedelta(hours=1)),
]
