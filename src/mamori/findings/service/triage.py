"""Human decisions on security findings (triage states, assignee, comments) and the rules that hide them:
suppression by configuration with expiry, and SLA breaches noted on the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from mamori.core import audit, timeline
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, NotFound, Problem, ValidationFailed
from mamori.findings.models import FindingHistory, FindingRow
from mamori.findings.service.imports import context
from mamori.findings.service.merge import WORKFLOW_SUPPRESSED, suppress
from mamori.findings.states import DECIDED_STATES, JUSTIFICATIONS, OPEN_STATES, STATES


def get_finding(session: Session, finding_id: str) -> FindingRow:
    f = session.get(FindingRow, finding_id, options=[selectinload(FindingRow.sources)])
    if f is None:
        raise NotFound(f"no security finding {finding_id!r}")
    return f


def _check(
    f: FindingRow, state: str | None, justification: str | None, accepted_until: datetime | None, now: datetime
) -> None:
    problems: list[Problem] = []
    if state is not None and state not in STATES:
        problems.append(Problem("state", f"expected one of {', '.join(STATES)}, got {state!r}"))
    if state == "not_affected" and f.kind in {"dependency", "vulnerability"} and justification not in JUSTIFICATIONS:
        problems.append(
            Problem("justification", f"not_affected needs a VEX justification: {', '.join(JUSTIFICATIONS)}")
        )
    if state == "risk_accepted" and (accepted_until is None or accepted_until <= now):
        problems.append(Problem("accepted_until", "risk_accepted needs an expiry in the future"))
    if problems:
        raise ValidationFailed("the triage decision is incomplete", problems=problems)


def triage(
    session: Session,
    *,
    finding_id: str,
    actor: Actor,
    now: datetime,
    state: str | None = None,
    justification: str | None = None,
    accepted_until: datetime | None = None,
    assignee: str | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
) -> FindingRow:
    """Record a decision; `expected_version` (the version the caller saw) refuses a decision made on a stale
    view. Imports never undo what is decided here."""
    f = get_finding(session, finding_id)
    if expected_version is not None and expected_version != f.version_id:
        raise Conflict(f"finding {finding_id} changed since version {expected_version} (now {f.version_id}); reload it")
    _check(f, state, justification, accepted_until, now)
    before = _snapshot(f)
    if state is not None and state != f.state:
        f.state, f.state_changed_at = state, now
    if state is not None:
        f.justification = justification if state == "not_affected" else None
        f.accepted_until = accepted_until if state == "risk_accepted" else None
    if assignee is not None:
        f.assignee = assignee or None
    after = _snapshot(f)
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changes and not comment:
        return f
    try:
        session.flush()  # the version check: an import that moved the finding meanwhile makes this fail
    except StaleDataError:
        raise Conflict(f"finding {finding_id} was changed by an import at the same time; reload it") from None
    session.add(
        FindingHistory(finding_id=f.id, at=now, actor=actor.name, event="triaged", changes=changes, note=comment or "")
    )
    audit.record(
        session,
        actor=actor,
        action="triage",
        object_type="SecurityFinding",
        object_id=f.id,
        at=now,
        before=before,
        after=after,
        reason=comment,
    )
    if "state" in changes:
        timeline.record(
            session,
            at=now,
            kind="finding",
            source="findings",
            title=f"{f.title}: {before['state']} -> {f.state}",
            service=f.service,
            team=f.team,
            data={"finding": f.id, "by": actor.name},
            ref=f"/findings/{f.id}",
        )
    session.flush()
    return f


def _snapshot(f: FindingRow) -> dict[str, Any]:
    return {
        "state": f.state,
        "justification": f.justification,
        "accepted_until": f.accepted_until.isoformat() if f.accepted_until else None,
        "assignee": f.assignee,
    }


def apply_suppressions(session: Session, *, now: datetime) -> dict[str, int]:
    """Re-match every active finding against the rules: an expired rule's findings reopen, a new rule hides
    what it matches. Also ends risk acceptances whose time is up."""
    ctx = context(session, now=now)
    counts = {"suppressed": 0, "unsuppressed": 0, "acceptances_expired": 0}
    rows = session.scalars(
        select(FindingRow).where(FindingRow.status == "active").options(selectinload(FindingRow.sources))
    )
    for f in rows:
        changes: dict[str, Any] = {}
        before = f.suppressed_by
        workflow = any(s.workflow == "SUPPRESSED" for s in f.sources if s.status == "active")
        suppress(f, ctx, changes, workflow_suppressed=workflow)
        if changes:
            event = "suppressed" if f.suppressed_by else "unsuppressed"
            counts[event] += 1
            note = (
                f"rule {before} expired or no longer matches"
                if before and before != WORKFLOW_SUPPRESSED and not f.suppressed_by
                else ""
            )
            session.add(
                FindingHistory(finding_id=f.id, at=now, actor="system", event=event, changes=changes, note=note)
            )
        if f.state == "risk_accepted" and f.accepted_until is not None and f.accepted_until <= now:
            session.add(
                FindingHistory(
                    finding_id=f.id,
                    at=now,
                    actor="system",
                    event="reopened",
                    changes={"state": [f.state, "new"]},
                    note="risk acceptance expired",
                )
            )
            f.state, f.state_changed_at, f.accepted_until = "new", now, None
            counts["acceptances_expired"] += 1
    session.flush()
    return counts


def note_breaches(session: Session, *, now: datetime) -> int:
    """Put each open finding past its due date on the timeline, once per finding."""
    rows = session.scalars(
        select(FindingRow).where(
            FindingRow.status == "active",
            FindingRow.state.in_(OPEN_STATES),
            FindingRow.suppressed_by.is_(None),
            FindingRow.due_at < now,
        )
    )
    count = 0
    for f in rows:
        made = timeline.record(
            session,
            at=now,
            kind="sla_breach",
            source="findings",
            title=f"SLA breached ({f.priority}): {f.title}",
            service=f.service,
            team=f.team,
            data={"finding": f.id, "due_at": f.due_at.isoformat() if f.due_at else None},
            ref=f"/findings/{f.id}",
            dedupe_key=f"findings:sla:{f.id}:{f.due_at.isoformat() if f.due_at else ''}",
        )
        count += made is not None
    return count


__all__ = ["DECIDED_STATES", "apply_suppressions", "get_finding", "note_breaches", "triage"]
