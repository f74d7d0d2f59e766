"""Finding lifecycle: the rescan that creates, refreshes, reopens and auto-fixes findings, and human triage.

Every change of a dependency finding is published (`mamori.vulns.events`) when a bus is given, so the
security-findings queue sees OSV findings next to other tools' ones."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit, timeline
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput, ValidationFailed
from mamori.core.events import Event, EventBus
from mamori.core.models import Service
from mamori.vulns import kinds, osv, store
from mamori.vulns.components import Component
from mamori.vulns.events import FindingChanged, FindingOpened, FindingResolved
from mamori.vulns.matcher import Finding
from mamori.vulns.models import VulnComment, VulnComponent, VulnFinding
from mamori.vulns.priority import Exposure, due_at, rank
from mamori.vulns.service.queries import get_finding
from mamori.vulns.states import DECIDED_STATES, JUSTIFICATIONS, STATES


def snapshot(f: VulnFinding) -> dict[str, Any]:
    return {
        "state": f.state,
        "justification": f.justification,
        "impact_statement": f.impact_statement,
        "accepted_until": f.accepted_until.isoformat() if f.accepted_until else None,
        "assignee": f.assignee,
        "due_at": f.due_at.isoformat() if f.due_at else None,
        "priority": f.priority,
    }


def note_on_timeline(session: Session, f: VulnFinding, *, now: datetime, title: str, data: dict[str, Any]) -> None:
    kind = "vendor_incident" if f.kind == "vendor" and f.state == "new" and "created" in data else "finding"
    timeline.record(
        session,
        at=now,
        kind=kind,
        source="vulns",
        title=title,
        service=f.service,
        team=f.team,
        data={"finding": f.id, **data},
        ref=f"/vulns/findings/{f.id}",
    )


def set_state(
    session: Session, f: VulnFinding, *, state: str, now: datetime, actor: Actor, reason: str | None = None
) -> None:
    """Change state with audit and timeline; the caller has validated the state's own fields."""
    before = snapshot(f)
    f.state, f.state_changed_at = state, now
    if state == "new":
        f.reopen_reason = reason
    if state != "not_affected":
        f.justification = None
    if state != "risk_accepted":
        f.accepted_until = None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="triage" if actor.source != "system" else ("reopen" if state == "new" else "rescan"),
        object_type="VulnFinding",
        object_id=f.id,
        at=now,
        before=before,
        after=snapshot(f),
        reason=reason,
    )
    note_on_timeline(
        session,
        f,
        now=now,
        title=f"{f.title}: {before['state']} -> {state}" + (f" ({reason})" if reason else ""),
        data={"from": before["state"], "to": state, "by": actor.name},
    )


@dataclass
class RescanResult:
    created: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    updated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "reopened": len(self.reopened),
            "fixed": len(self.fixed),
            "updated": self.updated,
        }


@dataclass
class _Match:
    service: str
    finding: Finding
    files: set[str] = field(default_factory=set)
    direct: set[bool | None] = field(default_factory=set)
    dev: set[bool | None] = field(default_factory=set)


def _fingerprint(finding: Finding) -> str:
    """What the advisories say about this package: a change here is a reason to look again."""
    eco, name = finding.component.ecosystem, osv.normalize_name(finding.component.ecosystem, finding.component.name)
    parts = []
    for adv in finding.advisories:
        for aff in adv.raw.get("affected", []):
            pkg = aff.get("package", {}) if isinstance(aff, dict) else {}
            if (
                pkg.get("ecosystem", "").split(":", 1)[0] == eco
                and osv.normalize_name(eco, pkg.get("name", "")) == name
            ):
                parts.append([adv.id, aff.get("ranges"), sorted(aff.get("versions") or [])])
    blob = json.dumps(sorted(parts, key=lambda p: str(p[0])), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _tri(values: set[bool | None]) -> bool | None:
    """Direct/dev across occurrences: True if any says True, False only if all say False."""
    if True in values:
        return True
    if values == {False}:
        return False
    return None


def _matches(session: Session) -> dict[str, _Match]:
    rows = list(session.scalars(select(VulnComponent)))
    index = store.index_for(session, rows)
    out: dict[str, _Match] = {}
    for row in rows:
        comp = Component(row.ecosystem, row.name, row.version, row.source_file, row.direct, row.dev)
        for f in index.match(comp):
            key = f"adv|{row.service}|{row.purl}|{f.advisory_id}"
            m = out.setdefault(key, _Match(row.service, f))
            m.files.add(row.source_file)
            m.direct.add(row.direct)
            m.dev.add(row.dev)
    return out


def _existing(session: Session) -> tuple[dict[str, VulnFinding], dict[tuple[str, str, str], VulnFinding]]:
    by_key: dict[str, VulnFinding] = {}
    by_id: dict[tuple[str, str, str], VulnFinding] = {}
    # Locked and re-read: a triage that commits while this rescan runs would otherwise be judged (fixed,
    # reopened) and audited from the state before it, and its decision overwritten.
    locked = (
        select(VulnFinding)
        .where(VulnFinding.kind == "advisory")
        .order_by(VulnFinding.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for f in session.scalars(locked):
        by_key[f.key] = f
        for ident in [f.advisory_id or "", *f.aliases]:
            by_id[(f.service or "", f.purl or "", ident)] = f
    return by_key, by_id


def _event(cls: type[FindingOpened | FindingChanged | FindingResolved], f: VulnFinding, now: datetime) -> Event | None:
    """The event for a dependency finding (vendor incidents have no package and are not published)."""
    if f.kind != "advisory" or not f.package:
        return None
    fields: dict[str, Any] = {"state": f.state} if cls is FindingChanged else {}
    return cls(
        finding_id=f.id,
        service=f.service,
        ecosystem=f.ecosystem or "",
        package=f.package,
        version=f.version or "",
        advisory=f.advisory_id or "",
        aliases=list(f.aliases or []),
        locations=list(f.source_files or []),
        severity=f.severity or "UNKNOWN",
        priority=f.priority,
        at=now,
        kev=bool(f.kev),
        epss=f.epss,
        **fields,
    )


def _publish(bus: EventBus | None, session: Session, events: list[Event | None], *, now: datetime) -> None:
    if bus is None:
        return
    for event in events:
        if event is not None:
            bus.publish(session, event, now=now)


def rescan(session: Session, *, now: datetime, bus: EventBus | None = None) -> RescanResult:
    """Match the inventory against the advisory store and reconcile the findings; decisions are kept.

    With a `bus`, each finding created or reopened is published as `FindingOpened`, each closed as
    `FindingResolved`, in this transaction."""
    policy = kinds.policy(session)
    system = Actor.system("vulns")
    result = RescanResult()
    services = {s.name: s for s in session.scalars(select(Service))}
    matches = _matches(session)
    cves = {a for m in matches.values() for a in (m.finding.advisory_id, *m.finding.aliases)}
    epss, kev = store.epss_for(session, cves), store.kev_for(session, cves)
    by_key, by_id = _existing(session)
    touched: dict[str, VulnFinding] = dict(by_key)
    seen: set[str] = set()
    for key, m in matches.items():
        f = m.finding
        ids = (f.advisory_id, *f.aliases)
        existing = by_key.get(key) or next(
            (by_id[(m.service, f.component.purl, i)] for i in ids if (m.service, f.component.purl, i) in by_id), None
        )
        svc = services.get(m.service)
        dev, direct = _tri(m.dev), _tri(m.direct)
        ranking = rank(
            Exposure(
                cvss=f.severity.score,
                epss=max((epss[i.upper()] for i in ids if i.upper() in epss), default=None),
                kev=any(i.upper() in kev for i in ids),
                dev=dev,
                direct=direct,
                tier=svc.tier if svc else None,
            )
        )
        fingerprint = _fingerprint(f)
        if existing is None:
            existing = VulnFinding(
                key=key,
                kind="advisory",
                service=m.service,
                team=svc.owner_team.name if svc and svc.owner_team else None,
                state="new",
                first_seen_at=now,
                state_changed_at=now,
                affected_fingerprint=fingerprint,
            )
            session.add(existing)
            touched[key] = existing
            result.created.append(key)
        seen.add(existing.key)
        _refresh(existing, m, ranking_epss=epss, kev=kev, ranking=ranking, policy_sla=policy.sla_days, now=now)
        if existing.id is None:
            session.flush()
            note_on_timeline(session, existing, now=now, title=f"New finding: {existing.title}", data={"created": True})
        else:
            result.updated += 1
            _reconsider(session, existing, fingerprint=fingerprint, now=now, actor=system, result=result)
        existing.affected_fingerprint = fingerprint
    for gone in by_key.values():
        if gone.key not in seen and gone.state != "fixed":
            gone.closed_by_scan = True
            set_state(session, gone, state="fixed", now=now, actor=system, reason="the component no longer matches")
            result.fixed.append(gone.key)
    expire_acceptances(session, now=now, result=result)
    session.flush()
    opened = [_event(FindingOpened, touched[k], now) for k in (*result.created, *result.reopened) if k in touched]
    _publish(bus, session, [*opened, *(_event(FindingResolved, touched[k], now) for k in result.fixed)], now=now)
    return result


def _refresh(
    f: VulnFinding,
    m: _Match,
    *,
    ranking_epss: dict[str, float],
    kev: set[str],
    ranking: Any,
    policy_sla: dict[str, int],
    now: datetime,
) -> None:
    fd = m.finding
    ids = (fd.advisory_id, *fd.aliases)
    c = fd.component
    f.advisory_id, f.aliases = fd.advisory_id, list(fd.aliases)
    f.ecosystem, f.package, f.version, f.purl = c.ecosystem, c.name, c.version, c.purl
    f.title = f"{fd.advisory_id} in {c.name} {c.version} ({m.service})"[:500]
    f.source_files = sorted(m.files)
    f.fixed_versions = list(fd.fixed_versions)
    f.direct, f.dev = _tri(m.direct), _tri(m.dev)
    f.severity, f.cvss_score = fd.severity.label, fd.severity.score
    f.epss = max((ranking_epss[i.upper()] for i in ids if i.upper() in ranking_epss), default=None)
    f.kev = any(i.upper() in kev for i in ids)
    f.priority, f.priority_reasons = ranking.priority, list(ranking.reasons)
    if not f.due_set_by_hand:
        f.due_at = due_at(f.first_seen_at or now, ranking.priority, policy_sla)
    f.last_seen_at = now
    f.link = f"https://osv.dev/vulnerability/{fd.advisory_id}"


def _reconsider(
    session: Session, f: VulnFinding, *, fingerprint: str, now: datetime, actor: Actor, result: RescanResult
) -> None:
    if f.state == "fixed" and f.closed_by_scan:
        f.closed_by_scan = False
        set_state(session, f, state="new", now=now, actor=actor, reason="the component matches again")
        result.reopened.append(f.key)
    elif f.state in DECIDED_STATES and fingerprint != f.affected_fingerprint:
        set_state(session, f, state="new", now=now, actor=actor, reason="the advisory's affected versions changed")
        result.reopened.append(f.key)


def expire_acceptances(session: Session, *, now: datetime, result: RescanResult | None = None) -> list[str]:
    expired = []
    query = (
        select(VulnFinding)
        .where(VulnFinding.state == "risk_accepted", VulnFinding.accepted_until <= now)
        .order_by(VulnFinding.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for f in session.scalars(query):
        until = f.accepted_until.date().isoformat() if f.accepted_until else "?"
        set_state(
            session, f, state="new", now=now, actor=Actor.system("vulns"), reason=f"risk acceptance expired on {until}"
        )
        expired.append(f.key)
        if result is not None:
            result.reopened.append(f.key)
    return expired


def triage(
    session: Session,
    *,
    finding_id: str,
    actor: Actor,
    now: datetime,
    state: str | None = None,
    justification: str | None = None,
    impact_statement: str | None = None,
    accepted_until: datetime | None = None,
    assignee: str | None = None,
    due: datetime | None = None,
    comment: str | None = None,
    bus: EventBus | None = None,
) -> VulnFinding:
    """A human decision: a new state (with what that state needs), an assignee, a due date, a comment.

    With a `bus`, a change of state or priority is published as `FindingChanged`."""
    f = get_finding(session, finding_id, for_update=True)
    if state is not None:
        _check_transition(state, justification=justification, accepted_until=accepted_until, now=now)
    before = snapshot(f)
    if assignee is not None:
        f.assignee = assignee or None
    if due is not None:
        f.due_at, f.due_set_by_hand = due, True
    if state is not None:
        f.justification = justification if state == "not_affected" else None
        f.accepted_until = accepted_until if state == "risk_accepted" else None
        f.impact_statement = impact_statement
        f.closed_by_scan = False
        set_state(session, f, state=state, now=now, actor=actor, reason=comment)
    elif snapshot(f) != before:
        audit.record(
            session,
            actor=actor,
            action="update",
            object_type="VulnFinding",
            object_id=f.id,
            at=now,
            before=before,
            after=snapshot(f),
        )
    if comment:
        f.comments.append(VulnComment(at=now, author=actor.name, body=comment))
    session.flush()
    if state is not None and state != before["state"]:
        _publish(bus, session, [_event(FindingChanged, f, now)], now=now)
    return f


def _check_transition(state: str, *, justification: str | None, accepted_until: datetime | None, now: datetime) -> None:
    if state not in STATES:
        raise InvalidInput(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
    if state == "new":
        raise InvalidInput("a finding cannot be set back to 'new'; use 'under_investigation' to reopen it")
    if state == "not_affected" and justification not in JUSTIFICATIONS:
        raise ValidationFailed(
            f"'not_affected' needs a VEX justification, one of {', '.join(JUSTIFICATIONS)}; got {justification!r}"
        )
    if state == "risk_accepted" and (accepted_until is None or accepted_until <= now):
        raise ValidationFailed("'risk_accepted' needs an expiry (accepted_until) in the future")


def add_comment(session: Session, *, finding_id: str, actor: Actor, now: datetime, body: str) -> VulnComment:
    if not body.strip():
        raise InvalidInput("a comment needs some text")
    f = get_finding(session, finding_id, for_update=True)
    comment = VulnComment(at=now, author=actor.name, body=body)
    f.comments.append(comment)
    session.flush()
    return comment
