"""Telling a flag's owner that a guarded ramp halted, through the shared notifiers.

A durable job posts to the owning team's Slack channel (the runtime's Slack notifier) when Slack is
configured and the team has a channel; otherwise it leaves a note on the timeline. Transient Slack
failures (network, HTTP 5xx, rate limits) are retried with the job's backoff.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import deliveries, jobs, timeline
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.core.models import Team
from mamori.flags.payloads import RampHaltedNotice
from mamori.integrations import DeliveryError
from mamori.integrations.notify import Message, Notifier, Notifiers

NOTIFY_RAMP_HALTED_JOB = "flags.notify_ramp_halted"
MAX_ATTEMPTS = 8


def enqueue_ramp_halted(
    session: Session,
    *,
    ramp_id: str,
    environment: str,
    flag_key: str,
    service: str | None,
    team: str | None,
    action: str,
    why: str,
    now: datetime,
) -> None:
    jobs.enqueue(
        session,
        kind=NOTIFY_RAMP_HALTED_JOB,
        now=now,
        max_attempts=MAX_ATTEMPTS,
        dedupe_key=f"flags:ramp-halted:{ramp_id}:{now.isoformat()}",
        payload=RampHaltedNotice(
            ramp=ramp_id,
            environment=environment,
            flag=flag_key,
            service=service,
            team=team,
            action=action,
            why=why,
        ),
    )


def message(payload: RampHaltedNotice) -> str:
    where = f" (service {payload.service})" if payload.service else ""
    return f"Ramp of flag `{payload.flag}` in {payload.environment}{where} was {payload.action}: {payload.why}"


def notify_ramp_halted(ctx: JobContext, payload: RampHaltedNotice) -> None:
    """Slack message to the owning team's channel, else a timeline note (the `jobs` handler's body)."""
    text = message(payload)
    team_name = payload.team
    team = ctx.session.scalar(select(Team).where(Team.name == team_name)) if team_name else None
    channel = team.slack_channel if team is not None else None
    slack = ctx.runtime.state(Notifiers).find("slack")
    subject = f"flags:flag:{payload.environment}/{payload.flag}"
    if slack is not None and channel:
        try:
            _post_to_slack(slack, channel, payload, text)
        except Exception as exc:
            _log(ctx, subject, channel, ok=False, detail=str(exc))
            raise
        _log(ctx, subject, channel, ok=True, detail="posted")
        return
    why_not = (
        "no Slack token is configured"
        if slack is None
        else (f"team {team_name} has no Slack channel" if team is not None else "the service has no owning team")
    )
    _log(ctx, subject, team_name or "", ok=False, detail=f"owner not messaged: {why_not}")
    timeline.record(
        ctx.session,
        at=ctx.now,
        kind="note",
        source="flags",
        service=payload.service,
        team=team_name,
        title=f"owner not messaged ({why_not}): {text}",
        data={"ramp": payload.ramp, "flag": payload.flag, "environment": payload.environment},
        dedupe_key=f"flags:ramp-halted-note:{ctx.job_id}",
    )


def _log(ctx: JobContext, subject: str, target: str, *, ok: bool, detail: str) -> None:
    deliveries.attempt(
        ctx, source="flags", kind="notification", channel="slack", target=target, subject=subject, ok=ok, detail=detail
    )


def _post_to_slack(slack: Notifier, channel: str, payload: RampHaltedNotice, text: str) -> None:
    message = Message(kind="flags.ramp_halted", title=text, data=payload.model_dump(mode="json"), fallback=text)
    try:
        slack.send(message, channel)
    except DeliveryError as exc:
        if exc.permanent:
            raise PermanentJobError(f"Slack refused the message to {channel}: {exc}") from None
        raise
