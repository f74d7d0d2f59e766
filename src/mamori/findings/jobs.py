"""Durable jobs of the findings domain: the hourly re-evaluation of suppression rules (an expired rule
reopens what it hid) and of SLA breaches (each breach noted once on the timeline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mamori.core import deliveries
from mamori.core.jobs import JobContext, JobKind, NoPayload, PermanentJobError
from mamori.core.runtime import PeriodicSpec
from mamori.findings import kinds
from mamori.findings.service import tickets, triage
from mamori.findings.service.tickets import TICKET_JOB, TicketPayload
from mamori.integrations.errors import DeliveryError

SUPPRESSIONS_JOB = "findings.suppressions"


def suppressions_job(ctx: JobContext, payload: NoPayload) -> None:
    triage.apply_suppressions(ctx.session, now=ctx.now)
    triage.note_breaches(ctx.session, now=ctx.now)


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


JOBS: list[JobKind[Any]] = [
    JobKind(SUPPRESSIONS_JOB, NoPayload, suppressions_job),
    JobKind(TICKET_JOB, TicketPayload, ticket_job),
]
PERIODIC = [PeriodicSpec(name="findings.suppressions", kind=SUPPRESSIONS_JOB, interval=timedelta(hours=1))]
