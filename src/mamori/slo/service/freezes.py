"""Release freezes people can live with: lift one early, or bypass it for a while, by a person with a reason.

A lift ends the freeze now (its episode stays active until the budget recovers; the next episode freezes again).
A bypass keeps the freeze but lets deploys through until it expires, for at most `max_deploys` deploys when
given: each deploy-gate answer that passes thanks to it counts one. Both are audited and on the timeline, and
both lock the freeze row first (a lift and a bypass, or two lifts, never interleave).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit, auth, timeline
from mamori.core.catalog import service_team
from mamori.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from mamori.core.events import EventBus
from mamori.slo.events import ReleaseFreezeEnded
from mamori.slo.models import SloFreeze, SloFreezeBypass, SloPolicyEpisode

MAX_REASON = 500
MAX_BYPASS = timedelta(hours=72)
"""The longest a bypass may last: a freeze that should not hold for three days is lifted, not bypassed."""


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("a reason is required (e.g. 'hotfix for INC-12'): it is shown on the gate and audited")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the reason has {len(text)} characters; at most {MAX_REASON}")
    return text


def check_duration(expires_in: timedelta) -> timedelta:
    if expires_in <= timedelta(0) or expires_in > MAX_BYPASS:
        hours = MAX_BYPASS.total_seconds() / 3600
        raise InvalidInput(f"a bypass lasts more than 0 and at most {hours:g} hours, not {expires_in}")
    return expires_in


def _locked(session: Session, freeze_id: int) -> SloFreeze:
    freeze = session.get(SloFreeze, freeze_id, with_for_update=True, populate_existing=True)
    if freeze is None:
        raise NotFound(f"no release freeze {freeze_id}")
    if freeze.ended_at is not None:
        how = f"lifted by {freeze.lifted_by}" if freeze.lifted_by else "its error-budget policy episode cleared"
        raise Conflict(
            f"release freeze {freeze_id} of {freeze.service} already ended at "
            f"{freeze.ended_at:%Y-%m-%d %H:%M} UTC ({how})"
        )
    return freeze


def _slo_ref(session: Session, freeze: SloFreeze) -> str | None:
    slo = session.scalar(select(SloPolicyEpisode.slo).where(SloPolicyEpisode.id == freeze.episode_id))
    return f"/slos/{slo}" if slo else f"/services/{freeze.service}"


ROLE_TO = {"lift": "editor", "bypass": "responder"}
"""The role that may lift or bypass a freeze, in the organisation or in the service's owner team."""


def person(session: Session, *, ref: str, freeze_id: int, action: str) -> audit.Actor:
    """The CLI's actor: the Mamori user `ref` (email or handle), active, allowed to `action` this freeze."""
    freeze = session.get(SloFreeze, freeze_id)
    if freeze is None:
        raise NotFound(f"no release freeze {freeze_id}")
    user = auth.find_user(session, ref)
    if user is None or not user.active:
        raise InvalidInput(f"--by {ref!r} is no active Mamori user; give your email or handle")
    needed = ROLE_TO[action]
    if not auth.has_role_for_team(user, service_team(session, freeze.service), needed):
        raise Forbidden(f"{user.email} may not {action} a freeze of {freeze.service}: that needs the {needed} role")
    return audit.Actor(name=user.email, source="cli")


def lift(
    session: Session, bus: EventBus, *, freeze_id: int, actor: audit.Actor, reason: str | None, now: datetime
) -> SloFreeze:
    """End a freeze before its episode clears; publishes ReleaseFreezeEnded when it was the service's last."""
    text = check_reason(reason)
    freeze = _locked(session, freeze_id)
    freeze.ended_at, freeze.lifted_by, freeze.lift_reason = now, actor.name, text
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="lift",
        object_type="ReleaseFreeze",
        object_id=str(freeze.id),
        at=now,
        before={"service": freeze.service, "active": True},
        after={"service": freeze.service, "active": False, "lifted_by": actor.name},
        reason=text,
    )
    timeline.record(
        session,
        at=now,
        kind="slo_policy",
        source="slo",
        title=f"Release freeze of {freeze.service} lifted by {actor.name}: {text}",
        service=freeze.service,
        team=service_team(session, freeze.service),
        data={"freeze": freeze.id, "by": actor.name, "reason": text},
        ref=_slo_ref(session, freeze),
        dedupe_key=f"slo_freeze:{freeze.id}:lift",
    )
    if not session.scalar(
        select(SloFreeze.id).where(SloFreeze.service == freeze.service, SloFreeze.ended_at.is_(None))
    ):
        bus.publish(session, ReleaseFreezeEnded(service=freeze.service, at=now), now=now)
    return freeze


def bypass(
    session: Session,
    *,
    freeze_id: int,
    actor: audit.Actor,
    reason: str | None,
    expires_in: timedelta,
    max_deploys: int | None,
    now: datetime,
) -> SloFreezeBypass:
    """Let deploys through one freeze until now + `expires_in` (for `max_deploys` deploys when given)."""
    text = check_reason(reason)
    check_duration(expires_in)
    if max_deploys is not None and max_deploys < 1:
        raise InvalidInput(f"max deploys is at least 1 (or left out for any number), not {max_deploys}")
    freeze = _locked(session, freeze_id)
    row = SloFreezeBypass(
        freeze_id=freeze.id,
        service=freeze.service,
        granted_by=actor.name,
        reason=text,
        granted_at=now,
        expires_at=now + expires_in,
        max_deploys=max_deploys,
        deploys=0,
    )
    session.add(row)
    session.flush()
    scope = f"{max_deploys} deploy{'s' if max_deploys != 1 else ''}, " if max_deploys else ""
    audit.record(
        session,
        actor=actor,
        action="bypass",
        object_type="ReleaseFreeze",
        object_id=str(freeze.id),
        at=now,
        after={"bypass": row.id, "until": row.expires_at.isoformat(), "max_deploys": max_deploys},
        reason=text,
    )
    timeline.record(
        session,
        at=now,
        kind="slo_policy",
        source="slo",
        title=f"Release freeze of {freeze.service} bypassed by {actor.name} ({scope}until "
        f"{row.expires_at:%Y-%m-%d %H:%M} UTC): {text}",
        service=freeze.service,
        team=service_team(session, freeze.service),
        data={"freeze": freeze.id, "bypass": row.id, "by": actor.name, "reason": text},
        ref=_slo_ref(session, freeze),
        dedupe_key=f"slo_freeze_bypass:{row.id}",
    )
    return row


def usable(bypass_row: SloFreezeBypass, now: datetime) -> bool:
    return bypass_row.expires_at > now and (
        bypass_row.max_deploys is None or bypass_row.deploys < bypass_row.max_deploys
    )


def bypasses_of(
    session: Session, freeze_ids: list[int], *, now: datetime, lock: bool = False
) -> dict[int, SloFreezeBypass]:
    """The usable bypass of each freeze that has one (the one lasting longest)."""
    if not freeze_ids:
        return {}
    query = (
        select(SloFreezeBypass)
        .where(SloFreezeBypass.freeze_id.in_(freeze_ids), SloFreezeBypass.expires_at > now)
        .order_by(SloFreezeBypass.id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    out: dict[int, SloFreezeBypass] = {}
    for row in session.scalars(query):
        if usable(row, now) and (row.freeze_id not in out or row.expires_at > out[row.freeze_id].expires_at):
            out[row.freeze_id] = row
    return out


def describe(row: SloFreezeBypass) -> str:
    return f"bypass by {row.granted_by} until {row.expires_at:%Y-%m-%d %H:%M} UTC: {row.reason}"


@dataclass(frozen=True)
class FreezeView:
    """A freeze as pages show it: its cause, and its bypass when one is usable."""

    id: int
    service: str
    reason: str
    since: datetime
    slo: str | None
    bypass: SloFreezeBypass | None

    def as_json(self) -> dict[str, Any]:
        b = self.bypass
        return {
            "id": self.id,
            "service": self.service,
            "reason": self.reason,
            "since": self.since.isoformat(),
            "slo": self.slo,
            "bypass": None
            if b is None
            else {
                "id": b.id,
                "by": b.granted_by,
                "reason": b.reason,
                "until": b.expires_at.isoformat(),
                "max_deploys": b.max_deploys,
                "deploys": b.deploys,
            },
        }


def active(session: Session, *, now: datetime, service: str | None = None) -> list[FreezeView]:
    """The freezes still holding (of one service with `service=`), oldest first, with their usable bypass."""
    query = (
        select(SloFreeze, SloPolicyEpisode.slo)
        .outerjoin(SloPolicyEpisode, SloPolicyEpisode.id == SloFreeze.episode_id)
        .where(SloFreeze.ended_at.is_(None))
        .order_by(SloFreeze.since, SloFreeze.id)
    )
    if service is not None:
        query = query.where(SloFreeze.service == service)
    rows = session.execute(query).all()
    passes = bypasses_of(session, [f.id for f, _ in rows], now=now)
    return [FreezeView(f.id, f.service, f.reason, f.since, slo, passes.get(f.id)) for f, slo in rows]
