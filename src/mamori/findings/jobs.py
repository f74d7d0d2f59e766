"""Durable jobs of the findings domain: the hourly re-evaluation of suppression rules (an expired rule
reopens what it hid) and of SLA breaches (each breach noted once on the timeline), the hourly pull from
Security Hub, GitHub and Snyk, and filing tickets."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

import httpx

from mamori.core import deliveries
from mamori.core.errors import MamoriError
from mamori.core.jobs import JobContext, JobKind, NoPayload, Payload, PermanentJobError
from mamori.core.runtime import PeriodicSpec
from mamori.findings import kinds
from mamori.findings.service import digest, pull, tickets, triage, writeback
from mamori.findings.service.tickets import TICKET_JOB, TicketPayload
from mamori.findings.service.writeback import WRITE_BACK_JOB, WriteBackPayload
from mamori.findings.sigv4 import Credentials
from mamori.integrations.errors import DeliveryError

log = logging.getLogger(__name__)
SUPPRESSIONS_JOB = "findings.suppressions"
PULL_JOB = "findings.pull"
DIGEST_JOB = "findings.digest"


def suppressions_job(ctx: JobContext, payload: NoPayload) -> None:
    triage.apply_suppressions(ctx.session, now=ctx.now)
    triage.note_breaches(ctx.session, now=ctx.now)


def secrets(ctx: JobContext) -> pull.Secrets:
    """Credentials of the pull sources: GitHub from the settings, Snyk and AWS from the environment."""
    settings = ctx.runtime.settings
    aws = None
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        aws = Credentials(
            os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_SESSION_TOKEN")
        )
    return pull.Secrets(
        github_token=settings.github_token.get_secret_value() if settings.github_token else None,
        github_api_url=settings.github_api_url,
        snyk_token=os.environ.get("MAMORI_SNYK_TOKEN"),
        snyk_api_url=os.environ.get("MAMORI_SNYK_API_URL", "https://api.snyk.io"),
        aws=aws,
    )


class PullPayload(Payload):
    sources: list[str] = []
    """Names of the FindingsPolicy pull sources to read; empty means all."""


def pull_job(ctx: JobContext, payload: PullPayload) -> None:
    """Each source in its own savepoint: a failing source is logged and the others are still imported; the
    job fails (and retries) only when every source failed."""
    sources = [s for s in kinds.policy(ctx.session).pull if not payload.sources or s.name in payload.sources]
    failed: list[str] = []
    keys = secrets(ctx)
    for source in sources:
        try:
            with ctx.session.begin_nested(), ctx.runtime.http_client(timeout=30.0) as client:
                pull.pull(ctx.session, client, source=source, secrets=keys, now=ctx.now, bus=ctx.runtime.bus)
        except (MamoriError, httpx.HTTPError) as exc:
            log.warning("findings pull %s failed: %s", source.name, exc)
            failed.append(f"{source.name}: {exc}")
    if sources and len(failed) == len(sources):
        raise RuntimeError("every pull source failed: " + "; ".join(failed))


def ticket_job(ctx: JobContext, payload: TicketPayload) -> None:
    """File the finding's ticket; each attempt is in the delivery log, a permanent refusal is not retried."""
    rules = kinds.policy(ctx.session).tickets
    if payload.rule >= len(rules):
        raise PermanentJobError(f"ticket rule {payload.rule} is no longer in the FindingsPolicy")
    rule = rules[payload.rule]
    subject = f"findings:{payload.finding_id}"
    try:
        ticket = tickets.file(
            ctx.session, ctx.runtime, finding_id=payload.finding_id, rule_index=payload.rule, rule=rule, now=ctx.now
        )
    except DeliveryError as exc:
        deliveries.attempt(
            ctx,
            source="findings",
            kind="ticket",
            channel=rule.type,
            target=rule.project or rule.repository or "",
            subject=subject,
            ok=False,
            detail=str(exc),
        )
        if exc.permanent:
            raise PermanentJobError(str(exc)) from None
        raise
    deliveries.attempt(
        ctx,
        source="findings",
        kind="ticket",
        channel=rule.type,
        target=rule.project or rule.repository or "",
        subject=subject,
        ok=True,
        detail=ticket.url,
    )


def write_back_job(ctx: JobContext, payload: WriteBackPayload) -> None:
    """Send the decision to Security Hub; every attempt is in the delivery log."""
    keys = secrets(ctx).aws
    if keys is None:
        raise PermanentJobError("AWS credentials are not configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    subject = f"findings:{payload.finding_id}"
    try:
        with ctx.runtime.http_client(timeout=30.0) as client:
            answers = writeback.send(ctx.session, client, payload=payload, credentials=keys, now=ctx.now)
    except (MamoriError, httpx.HTTPError) as exc:
        deliveries.attempt(
            ctx,
            source="findings",
            kind="webhook",
            channel="securityhub",
            target="BatchUpdateFindings",
            subject=subject,
            ok=False,
            detail=str(exc),
        )
        raise
    processed = sum(len(a.get("ProcessedFindings") or []) for a in answers)
    deliveries.attempt(
        ctx,
        source="findings",
        kind="webhook",
        channel="securityhub",
        target="BatchUpdateFindings",
        subject=subject,
        ok=True,
        detail=f"{processed} finding(s) set to {payload.status}",
    )


def digest_job(ctx: JobContext, payload: NoPayload) -> None:
    """The weekly digest to every target; retried only when every target failed."""
    targets = kinds.policy(ctx.session).digest
    results = digest.deliver(ctx.runtime, digest.compose(ctx.session, now=ctx.now), targets=targets)
    for channel, target, ok, detail in results:
        deliveries.attempt(
            ctx,
            source="findings",
            kind="digest",
            channel=channel,
            target=target,
            subject="findings:digest",
            ok=ok,
            detail=detail,
        )
    if results and not any(ok for _, _, ok, _ in results):
        raise RuntimeError("the security digest reached no target: " + "; ".join(d for *_, d in results))


JOBS: list[JobKind[Any]] = [
    JobKind(SUPPRESSIONS_JOB, NoPayload, suppressions_job),
    JobKind(TICKET_JOB, TicketPayload, ticket_job),
    JobKind(PULL_JOB, PullPayload, pull_job),
    JobKind(WRITE_BACK_JOB, WriteBackPayload, write_back_job),
    JobKind(DIGEST_JOB, NoPayload, digest_job),
]
PERIODIC = [
    PeriodicSpec(name="findings.suppressions", kind=SUPPRESSIONS_JOB, interval=timedelta(hours=1)),
    PeriodicSpec(name="findings.pull", kind=PULL_JOB, interval=timedelta(hours=1)),
    PeriodicSpec(name="findings.digest", kind=DIGEST_JOB, interval=timedelta(days=7)),
]
