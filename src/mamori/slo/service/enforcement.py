"""Error-budget policies that act: episodes per rule and objective, durable action jobs, release freezes.

A rule fires once per episode: when its condition starts to hold an episode opens and each action
becomes a job (deduplicated by action id); while it holds nothing more happens; when it stops holding
the episode clears (and its freeze ends). Episodes live in the database, so a restarted server does not
fire them again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import jobs, timeline
from mamori.core.catalog import service_team
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.integrations import DeliveryError, webhooks
from mamori.integrations.tickets import GitHubTarget, JiraTarget, create_github_issue, create_jira_issue
from mamori.slo.events import ReleaseFreezeEnded, ReleaseFreezeStarted
from mamori.slo.kinds import POLICY_KIND
from mamori.slo.kinds.policy import Action, ErrorBudgetPolicySpec, Rule, rule_holds
from mamori.slo.models import SloAlert, SloDocument, SloFreeze, SloPolicyAction, SloPolicyEpisode, SloStatus

log = logging.getLogger(__name__)


def _policies(session: Session) -> list[tuple[str, ErrorBudgetPolicySpec]]:
    rows = session.scalars(select(SloDocument).where(SloDocument.kind == POLICY_KIND).order_by(SloDocument.name))
    return [(row.name, ErrorBudgetPolicySpec.model_validate(row.spec)) for row in rows]


def _page_since(session: Session, series: str) -> datetime | None:
    rows = session.scalars(
        select(SloAlert.started_at).where(
            SloAlert.series == series, SloAlert.status == "firing", SloAlert.severity == "page"
        )
    ).all()
    return min(rows) if rows else None


def enforce(session: Session, runtime: Runtime, *, now: datetime) -> None:
    """Open and clear policy episodes from the latest SLO status."""
    statuses = list(session.scalars(select(SloStatus)))
    for name, spec in _policies(session):
        for status in statuses:
            if not spec.covers(slo=status.slo, service=status.service):
                continue
            page_since = _page_since(session, status.series)
            for rule in spec.rules:
                holds = rule_holds(
                    rule.when, remaining=status.remaining, total=status.total, page_since=page_since, now=now
                )
                _step(session, runtime, policy=name, rule=rule, status=status, holds=holds, now=now)


def _step(
    session: Session, runtime: Runtime, *, policy: str, rule: Rule, status: SloStatus, holds: bool, now: datetime
) -> None:
    episode = session.scalar(
        select(SloPolicyEpisode).where(
            SloPolicyEpisode.policy == policy,
            SloPolicyEpisode.rule == rule.name,
            SloPolicyEpisode.series == status.series,
            SloPolicyEpisode.status == "active",
        )
    )
    if holds and episode is None:
        _open(session, policy=policy, rule=rule, status=status, now=now)
    elif not holds and episode is not None:
        _clear(session, runtime, episode, now=now)


def _open(session: Session, *, policy: str, rule: Rule, status: SloStatus, now: datetime) -> None:
    from mamori.slo import jobs as slo_jobs  # the jobs module runs this one's use cases: imported when used

    reason = f"{status.slo}: {rule.when.describe()} (policy {policy}, rule {rule.name})"
    episode = SloPolicyEpisode(
        policy=policy,
        rule=rule.name,
        series=status.series,
        slo=status.slo,
        service=status.service,
        status="active",
        reason=reason,
        started_at=now,
    )
    session.add(episode)
    session.flush()
    for position, action in enumerate(rule.actions):
        row = SloPolicyAction(
            episode_id=episode.id, position=position, type=action.type, status="pending", outcome={}, updated_at=now
        )
        session.add(row)
        session.flush()
        jobs.enqueue(
            session,
            kind=slo_jobs.ACTION_JOB,
            now=now,
            payload=slo_jobs.ActionPayload(action_id=row.id),
            dedupe_key=f"slo-action:{row.id}",
            max_attempts=8,
        )
    timeline.record(
        session,
        at=now,
        kind="slo_policy",
        source="slo",
        title=f"Error-budget policy: {reason}",
        service=status.service,
        team=service_team(session, status.service),
        data={"policy": policy, "rule": rule.name, "slo": status.slo, "episode": episode.id},
        ref=f"/slos/{status.slo}",
        dedupe_key=f"slo_policy:{episode.id}:open",
    )


def _clear(session: Session, runtime: Runtime, episode: SloPolicyEpisode, *, now: datetime) -> None:
    episode.status, episode.cleared_at = "cleared", now
    freeze = session.scalar(select(SloFreeze).where(SloFreeze.episode_id == episode.id, SloFreeze.ended_at.is_(None)))
    if freeze is not None:
        freeze.ended_at = now
        session.flush()
        if not active_freezes(session, service=freeze.service):
            runtime.bus.publish(session, ReleaseFreezeEnded(service=freeze.service, at=now), now=now)
    timeline.record(
        session,
        at=now,
        kind="slo_policy",
        source="slo",
        title=f"Error-budget policy cleared: {episode.reason}",
        service=episode.service,
        team=service_team(session, episode.service),
        data={"policy": episode.policy, "rule": episode.rule, "episode": episode.id},
        ref=f"/slos/{episode.slo}",
        dedupe_key=f"slo_policy:{episode.id}:clear",
    )


def active_freezes(session: Session, *, service: str) -> list[SloFreeze]:
    return list(
        session.scalars(
            select(SloFreeze)
            .where(SloFreeze.service == service, SloFreeze.ended_at.is_(None))
            .order_by(SloFreeze.since)
        )
    )


# -- the action job -------------------------------------------------------------------------------------------------


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
    lines = [f"Error-budget policy {episode.policy}, rule {episode.rule}, since {episode.started_at.isoformat()}."]
    if status is not None:
        lines.append(
            f"SLO {status.slo} (user story: {status.user_story}) on service {status.service}: "
            f"SLI {status.sli}, target {status.target}, budget remaining {status.remaining:.1%}."
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
    try:
        spec = _action_spec(session, episode, action.position)
        outcome = _perform(session, runtime, spec, episode, action, now=ctx.now)
    except (DeliveryError, PermanentJobError, ValueError, httpx.HTTPError) as exc:
        final = (
            isinstance(exc, PermanentJobError)
            or getattr(exc, "permanent", False)
            or (ctx.attempt >= _max_attempts(session, ctx.job_id))
        )
        action_id = action.id
        # Nothing of this attempt is kept; release the transaction (SQLite has one writer) and record the error.
        session.rollback()
        _record_error(runtime, action_id, str(exc), final=final, now=ctx.now)
        if final:
            raise PermanentJobError(str(exc)) from exc
        raise
    action.status, action.outcome, action.error, action.updated_at = "done", outcome, None, ctx.now


def _max_attempts(session: Session, job_id: int) -> int:
    job = session.get(Job, job_id)
    return job.max_attempts if job is not None else 1


def _record_error(runtime: Runtime, action_id: int, error: str, *, final: bool, now: datetime) -> None:
    with runtime.sessions.begin() as other:
        row = other.get(SloPolicyAction, action_id)
        if row is not None:
            row.error, row.updated_at = error[:2000], now
            if final:
                row.status = "failed"


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
    if spec.type == "jira":
        if not (settings.jira_url and settings.jira_email and settings.jira_token):
            raise PermanentJobError("Jira is not configured: set MAMORI_JIRA_URL, MAMORI_JIRA_EMAIL, MAMORI_JIRA_TOKEN")
        with runtime.http_client() as client:
            target = JiraTarget(
                base_url=settings.jira_url,
                email=settings.jira_email,
                token=settings.jira_token.get_secret_value(),
                project=spec.project or "",
                issue_type=spec.issue_type,
            )
            ticket = create_jira_issue(
                client, target, summary=title, description=body, labels=spec.labels, marker=marker(action.id)
            )
        return {"ticket": ticket.key, "url": ticket.url, "existing": ticket.existing}
    if spec.type == "github":
        if settings.github_token is None:
            raise PermanentJobError("GitHub is not configured: set MAMORI_GITHUB_TOKEN")
        with runtime.http_client() as client:
            repo = GitHubTarget(
                api_url=settings.github_api_url,
                token=settings.github_token.get_secret_value(),
                repository=spec.repository or "",
            )
            ticket = create_github_issue(
                client, repo, title=title, body=body, labels=spec.labels, marker=marker(action.id)
            )
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


def deploy_gate(session: Session, *, service: str) -> dict[str, Any]:
    """Whether `service` may deploy; when not, the reasons and since when."""
    freezes = active_freezes(session, service=service)
    return {
        "service": service,
        "allowed": not freezes,
        "since": freezes[0].since.isoformat() if freezes else None,
        "reasons": [{"reason": f.reason, "since": f.since.isoformat()} for f in freezes],
    }


def list_actions(session: Session, *, slo: str | None = None) -> list[tuple[SloPolicyEpisode, SloPolicyAction]]:
    query = (
        select(SloPolicyEpisode, SloPolicyAction)
        .join(SloPolicyAction, SloPolicyAction.episode_id == SloPolicyEpisode.id)
        .order_by(SloPolicyAction.id.desc())
    )
    if slo is not None:
        query = query.where(SloPolicyEpisode.slo == slo)
    return [(e, a) for e, a in session.execute(query).all()]
