"""What a regression sets off (subscribed to RegressionFound in `mamori.wiring`): a notice to the service's
owning team, and by the policy's `regressions.ticket` one ticket, each naming the change that coincides with
the first slow run. Every attempt is in the delivery log; a transient failure retries the job (the notice
carries an idempotency key, so a channel that can look its messages up does not post twice)."""

from __future__ import annotations

import hashlib

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mamori.core import catalog, deliveries
from mamori.core.errors import ValidationFailed
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.core.models import Team
from mamori.delivery import kinds
from mamori.delivery.events import RegressionFound
from mamori.delivery.models import DeliveryCommit, DeliveryPullRequest
from mamori.integrations import DeliveryError, tickets
from mamori.integrations.notify import Message, Notifiers


def coinciding_change(session: Session, sha: str | None) -> str | None:
    """The change a regression began with, in words: the merged PR of that commit, else the commit's first line."""
    if not sha:
        return None
    pr = session.scalar(
        select(DeliveryPullRequest)
        .where(or_(DeliveryPullRequest.merge_sha == sha, DeliveryPullRequest.head_sha == sha))
        .order_by(DeliveryPullRequest.merged_at.desc())
        .limit(1)
    )
    if pr is not None:
        return f"{pr.repo}#{pr.number} {pr.title}".strip() + f" ({sha[:12]})"
    commit = session.scalar(select(DeliveryCommit).where(DeliveryCommit.sha == sha).limit(1))
    first_line = commit.message.splitlines()[0].strip() if commit is not None and commit.message else ""
    return f"commit {sha[:12]}" + (f" {first_line}" if first_line else "")


def _marker(event: RegressionFound) -> str:
    """One name per regression (service, key, where it began), the same on every attempt."""
    where = event.since_sha or event.since.isoformat()
    return "mamori-regression-" + hashlib.sha256(f"{event.service}\0{event.key}\0{where}".encode()).hexdigest()[:16]


def _lines(session: Session, event: RegressionFound, base_url: str) -> tuple[str, tuple[str, ...]]:
    title = (
        f"{event.service}: {event.key} is slower "
        f"({event.baseline_seconds:.0f} s -> {event.recent_seconds:.0f} s median)"
    )
    change = coinciding_change(session, event.since_sha)
    lines = (
        f"Slow since {event.since.isoformat(timespec='minutes')}",
        f"Coincides with: {change}" if change else "Coincides with: no commit recorded for the first slow run",
        f"{base_url.rstrip('/')}/delivery/services/{event.service}",
    )
    return title, lines


def notify_team(ctx: JobContext, event: RegressionFound) -> None:
    """Tell the owning team (its Slack channel, its email) when the policy's `regressions.notify` is on."""
    if not kinds.policy(ctx.session).regressions.notify:
        return
    team_name = catalog.service_team(ctx.session, event.service)
    team = ctx.session.scalar(select(Team).where(Team.name == team_name)) if team_name else None
    targets = [(c, t) for c, t in (("slack", team and team.slack_channel), ("email", team and team.email)) if t]
    if not targets:
        return  # no owner, or an owner without a channel: the timeline entry is the notice
    title, lines = _lines(ctx.session, event, ctx.runtime.settings.base_url)
    message = Message(
        kind="delivery.regression",
        title=title,
        lines=lines,
        severity="warning",
        data=event.model_dump(mode="json"),
        idempotency_key=_marker(event),
        resend=ctx.attempt > 1,
    )
    failed: list[DeliveryError] = []
    for channel, target in targets:
        subject = f"delivery:regression:{event.service}"
        try:
            receipt = ctx.runtime.state(Notifiers).get(channel).send(message, str(target))
        except (DeliveryError, ValidationFailed) as exc:
            error = exc if isinstance(exc, DeliveryError) else DeliveryError(exc.detail, permanent=True)
            deliveries.attempt(
                ctx, source="delivery", kind="notification", channel=channel, target=str(target),
                subject=subject, ok=False, detail=str(error),
            )  # fmt: skip
            failed.append(error)
            continue
        deliveries.attempt(
            ctx, source="delivery", kind="notification", channel=channel, target=str(target),
            subject=subject, ok=True, detail=receipt,
        )  # fmt: skip
    if any(not e.permanent for e in failed):
        raise failed[0]


def file_ticket(ctx: JobContext, event: RegressionFound) -> None:
    """File one ticket per regression when the policy's `regressions.ticket` says where (`file_once`: a retry
    finds the issue its first attempt made by the marker)."""
    config = kinds.policy(ctx.session).regressions.ticket
    if config is None:
        return
    title, lines = _lines(ctx.session, event, ctx.runtime.settings.base_url)
    team = catalog.service_team(ctx.session, event.service)
    request = tickets.TicketRequest(
        marker=_marker(event),
        title=title,
        body="\n".join(lines),
        labels=("mamori", "regression"),
        facts=(("service", event.service), ("owner", team or "(none)"), ("measure", event.key)),
    )
    try:
        tracker = ctx.runtime.state(tickets.Trackers).get(config.tracker)
        ticket = tickets.file_once(tracker, config.project, request, look_first=True)
    except (DeliveryError, ValidationFailed) as exc:
        permanent = isinstance(exc, ValidationFailed) or exc.permanent
        detail = exc.detail if isinstance(exc, ValidationFailed) else str(exc)
        deliveries.attempt(
            ctx, source="delivery", kind="ticket", channel=config.tracker, target=config.project,
            subject=f"delivery:regression:{event.service}", ok=False, detail=detail,
        )  # fmt: skip
        if permanent:
            raise PermanentJobError(detail) from None
        raise
    deliveries.attempt(
        ctx, source="delivery", kind="ticket", channel=config.tracker, target=config.project,
        subject=f"delivery:regression:{event.service}", ok=True, detail=ticket.url,
    )  # fmt: skip
