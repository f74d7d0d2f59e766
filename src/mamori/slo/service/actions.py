"""Carrying out one error-budget policy action (its own durable job): a Jira or GitHub ticket, a webhook, a
release freeze or a timeline note. Tickets are idempotent by a marker label, so a retry never files a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import deliveries, timeline
from mamori.core.catalog import service_team
from mamori.core.errors import ValidationFailed
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.integrations import DeliveryError, webhooks
from mamori.integrations.tickets import TicketRequest, Trackers, file_once
from mamori.slo.events import ReleaseFreezeStarted
from mamori.slo.kinds import POLICY_KIND
from mamori.slo.kinds.policy import Action, ErrorBudgetPolicySpec
from mamori.slo.models import SloDocument, SloFreeze, SloPolicyAction, SloPolicyEpisode, SloStatus
from mamori.slo.service.enforcement import active_freezes


def _action_spec(session: Session, episode: SloPolicyEpisode, position: int) -> Action:
    row = session.scalar(select(SloDocument).where(SloDocument.kind == POLICY_KIND, SloDocument.name == episode.policy))
    if row is None:
        raise PermanentJobError(f"policy {episode.policy!r} no longer exists")
    spec = ErrorBudgetPolicySpec.model_validate(row.spec)
    rule = next((r for r in spec.rules if r.name == episode.rule), None)
    if rule is None or position >= len(rule.actions):
        raise PermanentJobError(f"rule {episode.rule!r} of policy {episode.policy!r} changed; action dropped")
    return rule.actions[position]


def _describe(session: Session, episode: SloPolicyEpisode, base_url: str) -> tuple[str, str]:
    status = session.get(SloStatus, episode.series)
    title = f"[SLO] {episode.reason}"
    lines = [
        f"Error-budget policy {episode.policy}, rule {episode.rule}, since {episode.started_at:%Y-%m-%d %H:%M} UTC."
    ]
    if status is not None:
        sli = "no data" if status.sli is None else f"{status.sli:.2%}"
        lines.append(
            f"SLO {status.slo} (user story: {status.user_story}) on service {status.service}: "
            f"SLI {sli}, target {status.target:.2%}, budget remaining {status.remaining:.1%}."
        )
    lines.append(f"{base_url.rstrip('/')}/slos/{episode.slo}")
    return title, "\n".join(lines)


def marker(action_id: int) -> str:
    """The label that makes ticket creation idempotent for one policy action."""
    return f"mamori-action-{action_id}"


def run_action(ctx: JobContext, *, action_id: int) -> None:
    """Carry out one action; record its outcome, or its error (in its own transaction) before retrying."""
    session, runtime = ctx.session, ctx.runtime
    action = session.get(SloPolicyAction, action_id)
    if action is None or action.status == "done":
        return
    episode = session.get(SloPolicyEpisode, action.episode_id)
    if episode is None:
        raise PermanentJobError(f"episode {action.episode_id} is gone")
    spec: Action | None = None
    subject = f"slo:slo:{episode.slo}"
    try:
        spec = _action_spec(session, episode, action.position)
        outcome = _perform(session, runtime, spec, episode, action, now=ctx.now)
    except (DeliveryError, PermanentJobError, ValueError, httpx.HTTPError) as exc:
        outbound = _outbound(spec)
        final = (
            isinstance(exc, PermanentJobError)
            or getattr(exc, "permanent", False)
            or (ctx.attempt >= _max_attempts(session, ctx.job_id))
        )
        action_id = action.id
        # Nothing of this attempt is kept; release the transaction (SQLite has one writer) and record the error.
        session.rollback()
        _record_error(
            runtime,
            action_id,
            str(exc),
            final=final,
            now=ctx.now,
            outbound=outbound,
            subject=subject,
            attempt=ctx.attempt,
        )
        if final:
            raise PermanentJobError(str(exc)) from exc
        raise
    action.status, action.outcome, action.error, action.updated_at = "done", outcome, None, ctx.now
    outbound = _outbound(spec)
    if outbound is not None:
        kind, channel, target = outbound
        deliveries.record(
            session,
            at=ctx.now,
            source="slo",
            kind=kind,
            channel=channel,
            target=target,
            subject=subject,
            ok=True,
            detail=str(outcome),
            attempt=ctx.attempt,
        )


def _outbound(spec: Action | None) -> tuple[str, str, str] | None:
    """(kind, channel, target) of an action that goes out of Mamori; None for freezes and notes."""
    if spec is None:
        return None
    if spec.type == "jira":
        return "ticket", "jira", spec.project or ""
    if spec.type == "github":
        return "ticket", "github", spec.repository or ""
    if spec.type == "notify":
        return "webhook", "webhook", spec.url or ""
    return None


def _max_attempts(session: Session, job_id: int) -> int:
    job = session.get(Job, job_id)
    return job.max_attempts if job is not None else 1


def _record_error(
    runtime: Runtime,
    action_id: int,
    error: str,
    *,
    final: bool,
    now: datetime,
    outbound: tuple[str, str, str] | None = None,
    subject: str = "",
    attempt: int = 1,
) -> None:
    with runtime.sessions.begin() as other:
        row = other.get(SloPolicyAction, action_id)
        if row is not None:
            row.error, row.updated_at = error[:2000], now
            if final:
                row.status = "failed"
        if outbound is not None:
            kind, channel, target = outbound
            deliveries.record(
                other,
                at=now,
                source="slo",
                kind=kind,
                channel=channel,
                target=target,
                subject=subject,
                ok=False,
                detail=error,
                attempt=attempt,
            )


def _perform(
    session: Session,
    runtime: Runtime,
    spec: Action,
    episode: SloPolicyEpisode,
    action: SloPolicyAction,
    *,
    now: datetime,
) -> dict[str, Any]:
    settings = runtime.settings
    title, body = _describe(session, episode, settings.base_url)
    if spec.type in ("jira", "github"):
        try:
            tracker = runtime.state(Trackers).get(spec.type)
        except ValidationFailed as exc:
            raise PermanentJobError(exc.detail) from None
        request = TicketRequest(
            marker=marker(action.id), title=title, body=body, labels=tuple(spec.labels), issue_type=spec.issue_type
        )
        project = (spec.project if spec.type == "jira" else spec.repository) or ""
        ticket = file_once(tracker, project, request)
        return {"ticket": ticket.key, "url": ticket.url, "existing": ticket.existing}
    if spec.type == "notify":
        message = {
            "type": "slo.error_budget_policy",
            "title": title,
            "text": body,
            "policy": episode.policy,
            "rule": episode.rule,
            "slo": episode.slo,
            "service": episode.service,
            "since": episode.started_at.isoformat(),
            "action_id": action.id,
        }
        with runtime.http_client() as client:
            code = webhooks.post_json(client, spec.url or "", message, allow_private=settings.allow_private_webhooks)
        return {"status_code": code}
    if spec.type == "freeze":
        return _freeze(session, runtime, episode, reason=spec.reason or episode.reason, now=now)
    timeline.record(
        session,
        at=now,
        kind="slo_policy",
        source="slo",
        title=title,
        service=episode.service,
        team=service_team(session, episode.service),
        data={"episode": episode.id, "text": body},
        ref=f"/slos/{episode.slo}",
        dedupe_key=f"slo_policy:{episode.id}:annotate:{action.id}",
    )
    return {"annotated": True}


def _freeze(
    session: Session, runtime: Runtime, episode: SloPolicyEpisode, *, reason: str, now: datetime
) -> dict[str, Any]:
    if episode.status != "active":
        return {"frozen": False, "note": "the episode cleared before the freeze ran"}
    already = bool(active_freezes(session, service=episode.service))
    session.add(SloFreeze(service=episode.service, episode_id=episode.id, reason=reason, since=now))
    session.flush()
    if not already:
        runtime.bus.publish(session, ReleaseFreezeStarted(service=episode.service, reason=reason, since=now), now=now)
    return {"frozen": True, "service": episode.service}
