"""Durable jobs of the slo domain: the periodic evaluation of every SLO, and each error-budget policy action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mamori.core.jobs import JobContext, JobKind, NoPayload, Payload
from mamori.core.runtime import PeriodicSpec
from mamori.slo.service import actions, enforcement, evaluation

EVALUATE_JOB = "slo.evaluate"
ACTION_JOB = "slo.policy_action"


class ActionPayload(Payload):
    """One action of an error-budget policy episode, carried out by its own job (retried on failure)."""

    action_id: int


def evaluate_job(ctx: JobContext, payload: NoPayload) -> None:
    """The periodic job: evaluate every SLO at the job's time, then error-budget policies."""
    evaluation.evaluate_all(ctx.session, ctx.runtime, now=ctx.now)
    enforcement.enforce(ctx.session, ctx.runtime, now=ctx.now)


def action_job(ctx: JobContext, payload: ActionPayload) -> None:
    """Carry out one policy action (a ticket, a webhook, a freeze, an annotation)."""
    actions.run_action(ctx, action_id=payload.action_id)


JOBS: list[JobKind[Any]] = [
    JobKind(EVALUATE_JOB, NoPayload, evaluate_job),
    JobKind(ACTION_JOB, ActionPayload, action_job),
]
PERIODIC = [PeriodicSpec(name="slo.evaluate", kind=EVALUATE_JOB, interval=timedelta(minutes=1))]
