"""Durable jobs of the flags domain, each with its payload model: ramp steps, scheduled changes, count
flushes, the daily stale-flag mark, and telling a flag's owner that its ramp halted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from mamori.core.jobs import JobContext, JobKind, NoPayload, Payload
from mamori.core.runtime import PeriodicSpec
from mamori.flags import counts, notify, ramps, stale
from mamori.flags.payloads import RampHaltedNotice, RampStep, ScheduledChange

FLUSH_COUNTS_JOB = "flags.flush_counts"


class MarkStale(Payload):
    days: int = Field(default=stale.STALE_DAYS, ge=1)
    """A flag unchanged and unevaluated this many days is stale."""


def ramp_step(ctx: JobContext, payload: RampStep) -> None:
    """Move a running ramp to its next step (a paused or finished ramp ignores the job)."""
    ramps.advance_if_due(ctx.session, ramp_id=payload.ramp, step=payload.step, now=ctx.now)


def scheduled_change(ctx: JobContext, payload: ScheduledChange) -> None:
    ramps.apply_scheduled(
        ctx.session,
        environment=payload.environment,
        key=payload.flag,
        action=payload.action,
        percent=payload.percent,
        by=payload.by,
        reason=payload.reason,
        now=ctx.now,
    )


def flush_counts(ctx: JobContext, payload: NoPayload) -> None:
    """Store this process's OFREP tallies (those the interval flush has not written yet); on failure they are
    put back for the next run."""
    counter = counts.buffer_for(ctx.runtime).counter
    tally = counter.drain()
    try:
        counts.record(ctx.session, tally, now=ctx.now)
    except Exception:
        for (environment, key, variant), n in tally.items():
            counter.add(environment, key, variant, n)
        raise


def mark_stale(ctx: JobContext, payload: MarkStale) -> None:
    """The daily periodic job."""
    stale.mark_stale(ctx.session, days=payload.days, now=ctx.now)


def ramp_halted(ctx: JobContext, payload: RampHaltedNotice) -> None:
    """Slack message to the owning team's channel, else a timeline note."""
    notify.notify_ramp_halted(ctx, payload)


JOBS: list[JobKind[Any]] = [
    JobKind(ramps.RAMP_STEP_JOB, RampStep, ramp_step),
    JobKind(ramps.SCHEDULED_CHANGE_JOB, ScheduledChange, scheduled_change),
    JobKind(FLUSH_COUNTS_JOB, NoPayload, flush_counts),
    JobKind(stale.MARK_STALE_JOB, MarkStale, mark_stale),
    JobKind(notify.NOTIFY_RAMP_HALTED_JOB, RampHaltedNotice, ramp_halted),
]
PERIODIC = [
    PeriodicSpec(name="flags-flush-counts", kind=FLUSH_COUNTS_JOB, interval=timedelta(minutes=1)),
    PeriodicSpec(name="flags-mark-stale", kind=stale.MARK_STALE_JOB, interval=timedelta(days=1)),
]
