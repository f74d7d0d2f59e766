"""VEX use cases: export the triage decisions of advisory findings, and import decisions made elsewhere."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput, Problem, ValidationFailed
from mamori.core.events import EventBus
from mamori.vulns import vex
from mamori.vulns.models import VulnFinding
from mamori.vulns.service import findings

FORMATS = ("openvex", "cyclonedx")
_STATUS = {
    "new": "under_investigation",
    "under_investigation": "under_investigation",
    "affected": "affected",
    "risk_accepted": "affected",
    "not_affected": "not_affected",
    "fixed": "fixed",
}
_STATE = {
    "under_investigation": "under_investigation",
    "affected": "affected",
    "not_affected": "not_affected",
    "fixed": "fixed",
}


def _statement(f: VulnFinding) -> vex.Statement:
    action = None
    if f.state == "risk_accepted" and f.accepted_until:
        action = f"Risk accepted until {f.accepted_until.date().isoformat()}." + (
            f" {f.impact_statement}" if f.impact_statement else ""
        )
    elif f.state == "affected":
        action = f"Update to {', '.join(f.fixed_versions)}." if f.fixed_versions else "Remediation is being planned."
    return vex.Statement(
        vulnerability=f.advisory_id or "",
        aliases=tuple(f.aliases),
        products=(f.purl or "",),
        status=_STATUS[f.state],
        justification=f.justification if f.state == "not_affected" else None,
        impact_statement=f.impact_statement if f.state == "not_affected" else None,
        action_statement=action,
    )


def export(session: Session, *, fmt: str, now: datetime, author: str, service: str | None = None) -> dict[str, Any]:
    """Every advisory finding (optionally of one service) as one VEX statement per (vulnerability, component)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown VEX format {fmt!r}; expected one of {', '.join(FORMATS)}")
    query = (
        select(VulnFinding).where(VulnFinding.kind == "advisory").order_by(VulnFinding.advisory_id, VulnFinding.purl)
    )
    if service:
        query = query.where(VulnFinding.service == service)
    merged: dict[tuple[str, str, str], vex.Statement] = {}
    for f in session.scalars(query):
        s = _statement(f)
        # a component shared by several services gets one statement; the least settled state wins
        key = (s.vulnerability, s.products[0], "")
        if key not in merged or s.status in ("affected", "under_investigation"):
            merged[key] = s
    statements = list(merged.values())
    stamp = now.isoformat().replace("+00:00", "Z")
    digest = hashlib.sha256(repr(statements).encode()).hexdigest()[:16]
    if fmt == "openvex":
        return vex.to_openvex(statements, author=author, timestamp=stamp, doc_id=f"urn:mamori:vex:{digest}")
    return vex.to_cyclonedx(statements, timestamp=stamp, serial=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, digest)}")


def import_document(
    session: Session,
    *,
    document: Any,
    actor: Actor,
    now: datetime,
    service: str | None = None,
    bus: EventBus | None = None,
) -> dict[str, Any]:
    """Apply a VEX document's decisions to matching findings; all statements are checked before any applies."""
    try:
        statements = vex.parse(document)
    except vex.InvalidVex as exc:
        raise ValidationFailed(f"invalid VEX document: {exc}", problems=[Problem(loc="", msg=str(exc))]) from None
    problems = [
        Problem(loc=f"statements[{i}]", msg="not_affected needs a justification to be recorded in Mamori")
        for i, s in enumerate(statements)
        if s.status == "not_affected" and s.justification is None
    ]
    if problems:
        raise ValidationFailed("invalid VEX document: some statements cannot be applied", problems=problems)
    applied, unchanged, unmatched = 0, 0, []
    for s in statements:
        targets = _targets(session, s, service)
        if not targets:
            unmatched.append(f"{s.vulnerability} on {', '.join(s.products) or 'no product'}")
        for f in targets:
            state = _STATE[s.status]
            if f.state == state and f.justification == s.justification:
                unchanged += 1
                continue
            findings.triage(
                session,
                finding_id=f.id,
                actor=actor,
                now=now,
                state=state,
                justification=s.justification,
                impact_statement=s.impact_statement or s.action_statement,
                comment="imported from a VEX document",
                bus=bus,
            )
            applied += 1
    return {"statements": len(statements), "applied": applied, "unchanged": unchanged, "unmatched": unmatched}


def _targets(session: Session, s: vex.Statement, service: str | None) -> list[VulnFinding]:
    names = {s.vulnerability, *s.aliases}
    query = select(VulnFinding).where(VulnFinding.kind == "advisory", VulnFinding.purl.in_(s.products))
    if service:
        query = query.where(VulnFinding.service == service)
    # Locked and re-read, as triage would: "unchanged" is then judged on the finding as it is now.
    query = query.order_by(VulnFinding.id).with_for_update().execution_options(populate_existing=True)
    return [f for f in session.scalars(query) if names & {f.advisory_id, *f.aliases}]
