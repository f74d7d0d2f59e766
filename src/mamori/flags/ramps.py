"""Scheduled flag changes, percentage ramps (5 -> 25 -> 50 -> 100) as durable jobs, and guards that halt them.

Guards are plain service functions that the composition root subscribes to other domains' events
(an SLO burn alert, a release freeze); they accept any object with the named attributes.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit, catalog, jobs, timeline
from mamori.core.audit import Actor
from mamori.core.clock import parse_instant
from mamori.core.duration import parse_duration
from mamori.core.errors import Conflict, NotFound, ValidationFailed
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.flags import notify, rollouts, service, serving
from mamori.flags.events import RampHalted
from mamori.flags.models import FlagChange, FlagRamp
from mamori.flags.payloads import RampStep, ScheduledChange

logger = logging.getLogger(__name__)
RAMP_STEP_JOB = "flags.ramp_step"
SCHEDULED_CHANGE_JOB = "flags.scheduled_change"
GUARDS = ("pause", "revert", "none")
SCHEDULE_ACTIONS = ("enable", "disable", "rollout")


class BurnAlert(Protocol):
    """What an SLO burn event carries (read-only, as published events are frozen)."""

    @property
    def service(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def slo(self) -> str: ...

    @property
    def at(self) -> datetime: ...


class ReleaseFreeze(Protocol):
    @property
    def service(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def since(self) -> datetime: ...


def _ramp_actor(ramp: FlagRamp) -> Actor:
    return Actor(name=f"ramp {ramp.id[:8]} (started by {ramp.created_by})", source="system")


def start_ramp(
    session: Session,
    *,
    environment: str,
    key: str,
    steps: list[int],
    interval: str,
    service_name: str | None,
    guard: str,
    actor: Actor,
    reason: str | None,
    now: datetime,
) -> FlagRamp:
    if not steps or any(not 0 < s <= 100 for s in steps) or steps != sorted(set(steps)):
        raise ValidationFailed(f"ramp steps must rise strictly within 1..100, e.g. 5 25 50 100; got {steps}")
    if guard not in GUARDS:
        raise ValidationFailed(f"guard must be one of {', '.join(GUARDS)}, not {guard!r}")
    try:
        seconds = int(parse_duration(interval).total_seconds())
    except ValueError as exc:
        raise ValidationFailed(f"interval: {exc}") from None
    if seconds < 60:
        raise ValidationFailed("a ramp interval is at least 1m")
    flag = service.get_flag(session, environment=environment, key=key, for_update=True)
    running = session.scalar(
        select(FlagRamp).where(
            FlagRamp.environment == environment,
            FlagRamp.flag_key == key,
            FlagRamp.status.in_(("running", "paused", "awaiting")),
        )
    )
    if running is not None:
        raise Conflict(f"flag {key!r} already has a {running.status} ramp ({running.id}); cancel it first")
    env = serving.get_environment(session, environment=environment)
    ramp = FlagRamp(
        environment=environment,
        flag_key=key,
        steps=steps,
        interval_seconds=seconds,
        step_index=0,
        status="running",
        service=service_name or env.service,
        guard=guard,
        before=flag,
        created_by=actor.name,
        created_at=now,
        updated_at=now,
        note=reason,
    )
    session.add(ramp)
    session.flush()
    first = service.change_flag(
        session,
        environment=environment,
        key=key,
        flag=rollouts.rollout_flag(flag, steps[0]),
        action=f"ramp started at {steps[0]}%",
        actor=actor,
        reason=reason,
        now=now,
    )
    if first.status == "pending":
        # Approving the first step approves the ramp; its later steps then run by themselves.
        ramp.status = "awaiting"
    else:
        _enqueue_next(session, ramp, now=now)
    return ramp


def decide_change(
    session: Session, *, change_id: str, approve: bool, actor: Actor, now: datetime, reason: str | None = None
) -> FlagChange:
    """Approve or reject a pending change; a ramp waiting on it starts or is cancelled."""
    change = service.decide_change(session, change_id=change_id, approve=approve, actor=actor, now=now, reason=reason)
    ramp = session.scalar(
        select(FlagRamp)
        .where(
            FlagRamp.environment == change.environment,
            FlagRamp.flag_key == change.flag_key,
            FlagRamp.status == "awaiting",
        )
        .with_for_update()
    )
    if ramp is not None:
        ramp.updated_at = now
        if change.status == "applied":
            ramp.status = "running"
            _enqueue_next(session, ramp, now=now)
        else:
            ramp.status = "cancelled"
    return change


def _enqueue_next(session: Session, ramp: FlagRamp, *, now: datetime) -> None:
    if ramp.step_index + 1 < len(ramp.steps):
        jobs.enqueue(
            session,
            kind=RAMP_STEP_JOB,
            now=now,
            delay=timedelta(seconds=ramp.interval_seconds),
            payload=RampStep(ramp=ramp.id, step=ramp.step_index + 1),
        )
    else:
        ramp.status = "done"


def advance_if_due(session: Session, *, ramp_id: str, step: int, now: datetime) -> None:
    """Move a running ramp to step `step` if that is its next one (a paused or finished ramp is left alone)."""
    ramp = session.get(FlagRamp, ramp_id, with_for_update=True, populate_existing=True)
    if ramp is None:
        raise PermanentJobError(f"no ramp {ramp_id!r}")
    if ramp.status != "running" or step != ramp.step_index + 1:
        return
    advance(session, ramp, step=step, now=now)


def advance(session: Session, ramp: FlagRamp, *, step: int, now: datetime) -> None:
    """Apply step `step` of a ramp now and schedule the one after it."""
    percent = ramp.steps[step]
    flag = service.get_flag(session, environment=ramp.environment, key=ramp.flag_key, for_update=True)
    service.change_flag(
        session,
        environment=ramp.environment,
        key=ramp.flag_key,
        flag=rollouts.rollout_flag(flag, percent),
        action=f"ramp to {percent}%",
        actor=_ramp_actor(ramp),
        reason=f"ramp step {step + 1} of {len(ramp.steps)}",
        now=now,
    )
    ramp.step_index, ramp.updated_at = step, now
    _enqueue_next(session, ramp, now=now)


def list_ramps(session: Session, *, environment: str | None = None) -> list[FlagRamp]:
    query = select(FlagRamp).order_by(FlagRamp.created_at.desc())
    if environment:
        query = query.where(FlagRamp.environment == environment)
    return list(session.scalars(query))


def resume_ramp(session: Session, *, ramp_id: str, actor: Actor, now: datetime) -> FlagRamp:
    ramp = session.get(FlagRamp, ramp_id, with_for_update=True, populate_existing=True)
    if ramp is None:
        raise NotFound(f"no ramp {ramp_id!r}")
    if ramp.status != "paused":
        raise Conflict(f"ramp {ramp_id} is {ramp.status}, not paused")
    ramp.status, ramp.updated_at = "running", now
    audit.record(session, actor=actor, action="resume_ramp", object_type="FlagRamp", object_id=ramp.id, at=now)
    _enqueue_next(session, ramp, now=now)
    return ramp


def halt_ramps(ctx: JobContext, *, service_name: str, why: str) -> list[FlagRamp]:
    """Pause (or revert, per the ramp's guard) every running ramp guarded by this service's health."""
    halted = []
    # Locked (in one order, so two halts cannot deadlock): a ramp step running now either finishes first
    # or then sees the ramp paused.
    ramps = ctx.session.scalars(
        select(FlagRamp)
        .where(FlagRamp.status == "running", FlagRamp.service == service_name)
        .order_by(FlagRamp.environment, FlagRamp.id)
        .with_for_update()
    ).all()
    for ramp in ramps:
        if ramp.guard == "none":
            continue
        actor = Actor.system("flags-guard")
        if ramp.guard == "revert":
            service.change_flag(
                ctx.session,
                environment=ramp.environment,
                key=ramp.flag_key,
                flag=copy.deepcopy(ramp.before),
                action="ramp reverted",
                actor=actor,
                reason=why,
                now=ctx.now,
            )
            ramp.status = "reverted"
        else:
            ramp.status = "paused"
            audit.record(
                ctx.session,
                actor=actor,
                action="pause_ramp",
                object_type="FlagRamp",
                object_id=ramp.id,
                at=ctx.now,
                reason=why,
            )
        ramp.note, ramp.updated_at = why, ctx.now
        team = catalog.service_team(ctx.session, service_name)
        timeline.record(
            ctx.session,
            at=ctx.now,
            kind="flag_change",
            source="flags",
            service=service_name,
            team=team,
            title=f"ramp of {ramp.flag_key} in {ramp.environment} {ramp.status}: {why}",
            data={"ramp": ramp.id, "flag": ramp.flag_key, "environment": ramp.environment},
            ref=f"flag_ramp:{ramp.id}",
        )
        notify.enqueue_ramp_halted(
            ctx.session,
            ramp_id=ramp.id,
            environment=ramp.environment,
            flag_key=ramp.flag_key,
            service=service_name,
            team=team,
            action=ramp.status,
            why=why,
            now=ctx.now,
        )
        ctx.runtime.bus.publish(
            ctx.session,
            RampHalted(
                environment=ramp.environment,
                flag_key=ramp.flag_key,
                service=service_name,
                team=team,
                action=ramp.status,
                why=why,
            ),
            now=ctx.now,
        )
        halted.append(ramp)
    return halted


def on_burn_alert(ctx: JobContext, event: BurnAlert) -> None:
    """Subscriber: an SLO of `event.service` burns its error budget."""
    halt_ramps(
        ctx, service_name=event.service, why=f"{event.severity} burn alert on SLO {event.slo} at {event.at.isoformat()}"
    )


def on_release_freeze(ctx: JobContext, event: ReleaseFreeze) -> None:
    """Subscriber: a release freeze starts for `event.service`."""
    halt_ramps(ctx, service_name=event.service, why=f"release freeze since {event.since.isoformat()}: {event.reason}")


# --- scheduled changes ---------------------------------------------------------------------------------


def schedule_change(
    session: Session,
    *,
    environment: str,
    key: str,
    at: str,
    action: str,
    percent: int | None,
    actor: Actor,
    reason: str | None,
    now: datetime,
) -> int:
    """Enqueue a change for later ("at 2026-12-01T10:00+09:00 enable", "set 20%"); returns the job id."""
    if action not in SCHEDULE_ACTIONS:
        raise ValidationFailed(f"action must be one of {', '.join(SCHEDULE_ACTIONS)}, not {action!r}")
    if action == "rollout" and percent is None:
        raise ValidationFailed("a scheduled rollout needs a percent")
    when = parse_instant(at)  # InvalidInput (400) names what is wrong with `at`
    if when <= now:
        raise ValidationFailed(f"at {when.isoformat()} is not in the future")
    env = serving.get_environment(session, environment=environment)
    service.get_flag(session, environment=environment, key=key)
    if env.require_reason and not (reason or "").strip():
        raise ValidationFailed(f"a reason is required for changes in {environment}")
    job = jobs.enqueue(
        session,
        kind=SCHEDULED_CHANGE_JOB,
        now=now,
        run_at=when,
        payload=ScheduledChange(
            environment=environment,
            flag=key,
            action=action,
            percent=percent,
            by=actor.name,
            reason=reason,
        ),
    )
    what = f"rollout {percent}%" if action == "rollout" else action
    timeline.record(
        session,
        at=now,
        kind="flag_change",
        source="flags",
        service=env.service,
        title=f"{key} in {environment}: {what} scheduled for {when.isoformat()} by {actor.name}",
        data={"environment": environment, "flag": key, "at": when.isoformat()},
    )
    audit.record(
        session,
        actor=actor,
        action="schedule_change",
        object_type="Flag",
        object_id=f"{environment}/{key}",
        at=now,
        after={"action": action, "percent": percent, "at": when.isoformat()},
        reason=reason,
    )
    return job.id


def apply_scheduled(
    session: Session,
    *,
    environment: str,
    key: str,
    action: str,
    percent: int | None,
    by: str,
    reason: str | None,
    now: datetime,
) -> None:
    """Carry out a change scheduled earlier, in the name of whoever scheduled it."""
    actor = Actor(name=f"schedule by {by}", source="system")
    flag = service.get_flag(session, environment=environment, key=key, for_update=True)
    if action == "rollout":
        if percent is None:
            raise PermanentJobError("a scheduled rollout without a percent")
        flag = rollouts.rollout_flag(flag, percent)
    else:
        flag["state"] = "ENABLED" if action == "enable" else "DISABLED"
    service.change_flag(
        session,
        environment=environment,
        key=key,
        flag=flag,
        action=f"scheduled {action}",
        actor=actor,
        reason=reason,
        now=now,
    )
