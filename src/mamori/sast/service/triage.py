"""Triage memory: decisions on a finding (with required reasons) that follow its identity across rescans,
branches and moves; an accepted risk reopens when it expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit, timeline
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, NotFound, ValidationFailed
from mamori.core.events import EventBus
from mamori.sast.events import FindingTriaged
from mamori.sast.models import SastFinding, SastSource, SastTriage

STATES = ("new", "confirmed", "false_positive", "wont_fix", "accepted_risk", "fixed")
NEEDS_REASON = ("false_positive", "wont_fix", "accepted_risk")
"""Decisions that keep a finding from blocking: each needs a reason."""
ACTIVE_STATES = ("new", "confirmed")
"""States whose open findings still count (in the gate, the SLA and the catalog)."""


def get_finding(session: Session, finding_id: str) -> SastFinding:
    finding = session.get(SastFinding, finding_id)
    if finding is None:
        raise NotFound(f"no SAST finding {finding_id!r}")
    return finding


def triage(
    session: Session,
    *,
    finding_id: str,
    state: str,
    actor: Actor,
    now: datetime,
    bus: EventBus,
    reason: str | None = None,
    accepted_until: datetime | None = None,
    expected_version: int | None = None,
) -> SastFinding:
    """Record a decision; `expected_version` (the version the user saw) refuses a decision made on stale data."""
    if state not in STATES:
        raise ValidationFailed(f"unknown state {state!r}; use one of {', '.join(STATES)}")
    reason = (reason or "").strip() or None
    if state in NEEDS_REASON and not reason:
        raise ValidationFailed(f"a reason is required to mark a finding {state}")
    if state == "accepted_risk":
        if accepted_until is None:
            raise ValidationFailed("an accepted risk needs an expiry (accepted_until)")
        if accepted_until <= now:
            raise ValidationFailed("accepted_until must be in the future")
    elif accepted_until is not None:
        raise ValidationFailed("accepted_until is only for accepted_risk")
    finding = session.get(SastFinding, finding_id, with_for_update=True)
    if finding is None:
        raise NotFound(f"no SAST finding {finding_id!r}")
    if expected_version is not None and expected_version != finding.version:
        raise Conflict(f"finding {finding_id} changed since version {expected_version} (now {finding.version})")
    before = {"state": finding.state, "reason": finding.reason}
    tools = sorted(set(session.scalars(select(SastSource.tool).where(SastSource.finding_id == finding.id))))
    session.add(
        SastTriage(
            finding_id=finding.id, at=now, actor=actor.name, from_state=finding.state, to_state=state, reason=reason,
            accepted_until=accepted_until, tools=tools,
        )
    )  # fmt: skip
    finding.state, finding.reason, finding.accepted_until = state, reason, accepted_until
    finding.triaged_by, finding.triaged_at, finding.version = actor.name, now, finding.version + 1
    audit.record(
        session, actor=actor, action="sast.triage", object_type="sast_finding", object_id=finding.id, at=now,
        before=before, after={"state": state, "reason": reason}, reason=reason,
    )  # fmt: skip
    timeline.record(
        session, at=now, kind="finding", source="sast", service=finding.service,
        title=f"SAST finding {finding.rule} in {finding.path} marked {state}", ref=f"/sast/findings/{finding.id}",
    )  # fmt: skip
    bus.publish(
        session,
        FindingTriaged(
            finding_id=finding.id, repo=finding.repo, service=finding.service, state=state, actor=actor.name, at=now
        ),
        now=now,
    )
    return finding


def expire_accepted_risks(session: Session, *, now: datetime, bus: EventBus) -> int:
    """Accepted risks past their expiry go back to new (and count again); returns how many."""
    rows = list(
        session.scalars(
            select(SastFinding).where(SastFinding.state == "accepted_risk", SastFinding.accepted_until <= now)
        )
    )
    for finding in rows:
        session.add(
            SastTriage(
                finding_id=finding.id, at=now, actor="mamori", from_state="accepted_risk", to_state="new",
                reason=f"the accepted risk expired at {finding.accepted_until}",
            )
        )  # fmt: skip
        finding.state, finding.version = ("new" if finding.open else "fixed"), finding.version + 1
        bus.publish(
            session,
            FindingTriaged(
                finding_id=finding.id, repo=finding.repo, service=finding.service, state=finding.state,
                actor="mamori", at=now,
            ),
            now=now,
        )  # fmt: skip
    return len(rows)


def is_triaged_away(finding: SastFinding, now: datetime) -> bool:
    """A decision that keeps it from blocking (an accepted risk only until it expires), or a suppression."""
    if finding.state in ("false_positive", "wont_fix"):
        return True
    if finding.state == "accepted_risk":
        return finding.accepted_until is None or finding.accepted_until > now
    return finding.suppressed
