"""A game day's vendor-breach news item, in the triage queue as a drill finding (`kind` drill): triaged like a
vendor incident (the vendor's criticality, a credential leak flagged for rotation), but with no due date, so no
SLA counts it, and left out of the exposure figures and the digest. When the drill ends it is closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.vulns import kinds
from mamori.vulns.models import VulnComment, VulnFinding
from mamori.vulns.states import OPEN_STATES
from mamori.vulns.vendor_match import leaks_credentials
from mamori.vulns.watch import vendor_priority

DRILL_KIND = "drill"


def drill_key(drill_id: str, inject_id: str) -> str:
    return f"drill|{drill_id}|{inject_id}"[:900]


def open_drill_finding(
    session: Session,
    *,
    drill_id: str,
    inject_id: str,
    title: str,
    vendor: str | None,
    summary: str,
    link: str | None,
    now: datetime,
) -> tuple[VulnFinding, bool]:
    """The drill finding of one news inject (created once: a repeated delivery returns the existing one, False)."""
    key = drill_key(drill_id, inject_id)
    existing = session.scalar(select(VulnFinding).where(VulnFinding.key == key))
    if existing is not None:
        return existing, False
    spec = kinds.vendors(session).get(vendor) if vendor else None
    priority, why = vendor_priority(spec)
    reasons = [f"drill {drill_id}: no SLA, not counted in exposure", why]
    if leaks_credentials(f"{title}\n{summary}"):
        priority = "P1"
        reasons.insert(1, "credentials or tokens leaked: rotate (drill)")
    finding = VulnFinding(
        key=key,
        kind=DRILL_KIND,
        vendor=vendor,
        team=spec.owner if spec else None,
        title=(title if title.startswith("[DRILL]") else f"[DRILL] {title}")[:500],
        evidence=summary,
        link=link,
        priority=priority,
        priority_reasons=reasons,
        state="new",
        due_at=None,
        first_seen_at=now,
        last_seen_at=now,
        state_changed_at=now,
    )
    session.add(finding)
    session.flush()
    return finding, True


def close_drill_findings(session: Session, *, drill_id: str, outcome: str, now: datetime) -> int:
    """When a drill ends, its findings leave the triage queue (state fixed, with a comment saying why)."""
    closed = 0
    query = select(VulnFinding).where(VulnFinding.kind == DRILL_KIND, VulnFinding.key.startswith(f"drill|{drill_id}|"))
    for finding in session.scalars(query.with_for_update()):
        if finding.state not in OPEN_STATES:
            continue
        finding.state, finding.state_changed_at = "fixed", now
        finding.comments.append(VulnComment(at=now, author="gamedays", body=f"drill {drill_id} {outcome}: closed"))
        closed += 1
    session.flush()
    return closed
