"""Durable jobs of the gamedays domain: start a scheduled drill, fire one inject, end a drill at its duration.
Each is keyed by the drill (and inject), so it is enqueued once; the handler locks the drill and changes
nothing when the drill is no longer in the state the job expects, so it runs once with several workers."""

from __future__ import annotations

from typing import Any

from mamori.core.audit import Actor
from mamori.core.jobs import JobContext, JobKind, Payload
from mamori.core.runtime import PeriodicSpec
from mamori.gamedays.service import drills, rollbacks


class DrillJob(Payload):
    drill: str


class InjectJob(Payload):
    drill: str
    inject: str


SCRIPT = Actor.system("gamedays")


def run_rollbacks(ctx: JobContext, payload: InjectJob) -> None:
    """The abort switch's rollbacks of one fired chaos inject (enqueued once per drill and inject)."""
    rollbacks.run(ctx.session, ctx.runtime, drill_id=payload.drill, inject_id=payload.inject, now=ctx.now)


def start_drill(ctx: JobContext, payload: DrillJob) -> None:
    drill = drills.get(ctx.session, payload.drill, lock=True)
    if drill.status == "scheduled":
        drills.start(ctx.session, ctx.runtime, drill=drill, actor=SCRIPT, now=ctx.now)


def run_inject(ctx: JobContext, payload: InjectJob) -> None:
    drills.fire(ctx.session, ctx.runtime, drill_id=payload.drill, inject_id=payload.inject, actor=SCRIPT, now=ctx.now)


def end_drill(ctx: JobContext, payload: DrillJob) -> None:
    drill = drills.get(ctx.session, payload.drill, lock=True)
    if drill.status == "running":
        drills.finish(ctx.session, ctx.runtime, drill_id=drill.id, actor=SCRIPT, now=ctx.now)


JOBS: list[JobKind[Any]] = [
    JobKind(drills.START_JOB, DrillJob, start_drill),
    JobKind(drills.INJECT_JOB, InjectJob, run_inject),
    JobKind(drills.END_JOB, DrillJob, end_drill),
    JobKind(rollbacks.ROLLBACK_JOB, InjectJob, run_rollbacks),
]
PERIODIC: list[PeriodicSpec] = []
