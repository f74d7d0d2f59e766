"""Error-budget policies that act: episodes per rule and objective, durable action jobs, release freezes.

A rule fires once per episode: when its condition starts to hold an episode opens and each action
becomes a job (deduplicated by action id); while it holds nothing more happens; when it stops holding
the episode clears (and its freeze ends). Episodes live in the database, so a restarted server does not
fire them again. Each action is carried out by its own job (`actions.run_action`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import jobs, timeline
from mamori.core.catalog import service_team
from mamori.core.errors import NotFound
from mamori.core.models import Service as CatalogService
from mamori.core.runtime import Runtime
from mamori.slo.events import ReleaseFreezeEnded
from mamori.slo.kinds import POLICY_KIND
from mamori.slo.kinds.policy import ErrorBudgetPolicySpec, Rule, rule_holds
from mamori.slo.models import SloAlert, SloDocument, SloFreeze, SloPolicyAction, SloPolicyEpisode, SloStatus
from mamori.slo.service import freezes

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


def deploy_gate(session: Session, *, service: str, now: datetime, count: bool = False) -> dict[str, Any]:
    """Whether `service` may deploy; when not, the reasons and since when; when a person bypassed every freeze,
    allowed with who bypassed, until when and why. With `count`, each bypass that lets this answer through counts
    one deploy (under a row lock, so a one-deploy bypass lets exactly one gate answer through).

    NotFound for a service neither the catalog nor any SLO knows: a typo must not let a deploy through unchecked."""
    known = session.scalar(select(CatalogService.id).where(CatalogService.name == service)) is not None or any(
        (doc.spec or {}).get("service") == service for doc in session.scalars(select(SloDocument))
    )
    if not known:
        raise NotFound(f"no service {service!r} in the catalog or in any SLO; a typo must not let a deploy through")
    frozen = active_freezes(session, service=service)
    passes = freezes.bypasses_of(session, [f.id for f in frozen], now=now, lock=count)
    bypassed = bool(frozen) and all(f.id in passes for f in frozen)
    if bypassed and count:
        for row in passes.values():
            row.deploys += 1
        session.flush()
    used = [passes[f.id] for f in frozen] if bypassed else []
    return {
        "service": service,
        "allowed": not frozen or bypassed,
        "since": frozen[0].since.isoformat() if frozen else None,
        "reasons": [{"reason": f.reason, "since": f.since.isoformat(), "freeze": f.id} for f in frozen],
        "bypasses": [
            {
                "freeze": b.freeze_id,
                "by": b.granted_by,
                "reason": b.reason,
                "until": b.expires_at.isoformat(),
                "max_deploys": b.max_deploys,
                "deploys": b.deploys,
            }
            for b in used
        ],
        "detail": "allowed: " + "; ".join(freezes.describe(b) for b in used) if used else None,
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
