"""Import of one parsed document into the queue, in the caller's transaction: new findings, updates that
keep history and never reset triage, closing only what the scan's own scope re-checked, and nothing at all
when the same records come again. Bad records were already set aside by the parser and are reported."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.events import Event, EventBus
from mamori.core.models import Service, Team
from mamori.findings import identity, kinds, ownership
from mamori.findings.events import SecurityFindingOpened, SecurityFindingResolved
from mamori.findings.models import FindingHistory, FindingSource, ImportRun, ScanScope
from mamori.findings.records import Batch, Known, Observation
from mamori.findings.service import drafts as drafts_module
from mamori.findings.service import tickets
from mamori.findings.service.announce import announce, finding_event
from mamori.findings.service.drafts import Draft, DraftSource
from mamori.findings.service.merge import Context, FindingLike, describe, refresh

CHUNK = 500
T = TypeVar("T")


@dataclass
class ImportReport:
    import_id: str
    format: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    resolved: int = 0
    reopened: int = 0
    rejected: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    finding_ids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        names = ("total", "created", "updated", "unchanged", "resolved", "reopened", "rejected", "skipped")
        return {n: getattr(self, n) for n in names}


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def digest(raw: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


@lru_cache(maxsize=65536)
def scope_hash(scope: str) -> str:
    """The digest of a scope (a large import names few distinct scopes: each is hashed once)."""
    return hashlib.sha256(scope.encode()).hexdigest()


def context(session: Session, *, now: datetime) -> Context:
    policy = kinds.policy(session)
    services = session.execute(
        select(Service.name, Service.tier, Team.name).outerjoin(Team, Team.id == Service.owner_team_id)
    ).all()
    return Context(
        policy=policy,
        rules=kinds.suppression_rules(session),
        tiers={name: tier for name, tier, _ in services},
        teams={name: team for name, _, team in services if team},
        environments={a.account: a.environment for a in policy.accounts},
        now=now,
    )


def _latest(observations: Iterable[Observation]) -> list[Observation]:
    """One observation per (tool, uid): the most recently updated (a document listing a record twice)."""
    by_uid: dict[tuple[str, str], Observation] = {}
    for obs in observations:
        seen = by_uid.get((obs.tool, obs.uid))
        if seen is None or _newer(obs, seen):
            by_uid[(obs.tool, obs.uid)] = obs
    return list(by_uid.values())


def _newer(a: Observation, b: Observation) -> bool:
    if a.updated_at is None or b.updated_at is None:
        return True
    return a.updated_at >= b.updated_at


def own(obs: Observation, mapping: ownership.Mapping, repository: str) -> ownership.Owner:
    """The owner of the observation; a dependency's location becomes `<service or repo:owner/name>:<manifest>`
    (each tool names the manifest relative to the repository's root)."""
    if repository and not obs.repository:
        obs.repository = repository
    owner = ownership.resolve(
        mapping, account=obs.account, resource=obs.resource, tags=obs.tags, repository=obs.repository
    )
    if obs.service:
        owner = ownership.Owner(obs.service, owner.environment, owner.internet_facing, "named by the tool")
    if obs.kind == "dependency" and not obs.location:
        base = owner.service or (f"repo:{obs.repository}" if obs.repository else "unknown")
        obs.location = f"{base}:{obs.paths[0] if obs.paths else ''}"
    return owner


def uid_digest(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()


def _uid_hash(obs: Observation) -> str:
    return uid_digest(obs.uid)


def known_in(session: Session, keys: list[tuple[str, str]]) -> Known:
    """The pre-check for a document's (tool, uid) pairs: one query per chunk, before anything is parsed."""
    stored: dict[tuple[str, str], tuple[str, str]] = {}
    columns = select(FindingSource.tool, FindingSource.uid_hash, FindingSource.digest, FindingSource.status)
    for chunk in _chunks(sorted({uid_digest(uid) for _, uid in keys})):
        for tool, uid_hash, raw_digest, status in session.execute(columns.where(FindingSource.uid_hash.in_(chunk))):
            stored[(tool, uid_hash)] = (raw_digest, status)

    def known(tool: str, uid: str, revision: str, status: str) -> bool:
        return stored.get((tool, uid_digest(uid))) == (revision, status)

    return known


def _known(session: Session, pending: list[tuple[Observation, str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(digest, status) of the stored sources of the batch, read without loading rows: what is unchanged."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    columns = select(FindingSource.tool, FindingSource.uid_hash, FindingSource.digest, FindingSource.status)
    for chunk in _chunks(sorted({h for _, h, _ in pending})):
        for tool, uid_hash, raw_digest, status in session.execute(columns.where(FindingSource.uid_hash.in_(chunk))):
            out[(tool, uid_hash)] = (raw_digest, status)
    return out


def draft_id(now: datetime, key_hash: str) -> str:
    """A new finding's id: 32 hex digits like `core.db.new_id`, here the time in milliseconds then the start of
    the key's digest (unique with it). One import's new findings then sort the same by id and by key, and
    after the ids already stored: the bulk insert appends to the primary-key index instead of scattering
    100,000 random ids through it (SQLite's own work was half the import's time)."""
    return f"{int(now.timestamp() * 1000):012x}{key_hash[:20]}"


def _new_finding(obs: Observation, key: str, key_hash: str, owner: ownership.Owner, ctx: Context) -> Draft:
    f = Draft(
        id=draft_id(ctx.now, key_hash),
        key=key,
        key_hash=key_hash,
        kind=obs.kind,
        account=obs.account,
        region=obs.region,
        resource=obs.resource[:1000],
        control=obs.control[:500],
        ecosystem=identity.ecosystem(obs.ecosystem) if obs.ecosystem else "",
        package=obs.package[:300],
        advisory=obs.advisory[:200],
        location=obs.location[:1000],
        service=owner.service,
        team=ctx.teams.get(owner.service or ""),
        severity=obs.severity,
        first_seen_at=ctx.now,
        last_seen_at=ctx.now,
        state_changed_at=ctx.now,
    )
    return f


def _write_source(
    src: FindingSource | DraftSource, obs: Observation, raw_digest: str, import_id: str, now: datetime
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    values = {
        "status": obs.status,
        "workflow": obs.workflow[:32],
        "severity": obs.severity,
        "repeat_count": obs.repeat_count,
        "tool_updated_at": obs.updated_at,
    }
    for name, value in values.items():
        old = getattr(src, name)
        if old != value and src.id is not None:
            changes[f"{obs.tool}.{name}"] = [
                old.isoformat() if isinstance(old, datetime) else old,
                value.isoformat() if isinstance(value, datetime) else value,
            ]
        setattr(src, name, value)
    src.format, src.raw, src.digest = obs.format, obs.raw, raw_digest
    src.scope, src.scope_hash = obs.scope, scope_hash(obs.scope)
    src.import_id, src.last_seen_at = import_id, now
    return changes


@dataclass
class _Pass:
    """The working state of one import: what was loaded, what is new, what to write and announce."""

    session: Session
    ctx: Context
    report: ImportReport
    run_id: str
    actor: str
    sources: dict[tuple[str, str], DraftSource]
    findings: dict[str, Draft]
    drafts: list[Draft] = field(default_factory=list)
    """The findings to write: new ones and the stored ones this import changed."""
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] | None = field(default_factory=list)
    """The events to publish; None when nobody subscribes to them (they are then not even built)."""
    by_id: dict[str, Draft] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.by_id = {f.id: f for f in self.findings.values()}

    def apply(
        self, obs: Observation, uid_hash: str, key: tuple[str, str], raw_digest: str, owner: ownership.Owner
    ) -> None:
        """Merge one changed observation into its finding (a new draft when none exists)."""
        now = self.ctx.now
        key_text, key_hash = key
        src = self.sources.get((obs.tool, uid_hash))
        self.ctx.exposed[key_hash] = owner.internet_facing if obs.internet_facing is None else obs.internet_facing
        f = self.by_id[src.finding_id] if src is not None else self.findings.get(key_hash)
        created = f is None
        if f is None:
            f = _new_finding(obs, key_text, key_hash, owner, self.ctx)
            self.drafts.append(f)
            self.findings[key_hash] = self.by_id[f.id] = f
        elif f.stored and f.id not in self.touched:
            self.touched.add(f.id)
            self.drafts.append(f)
        added = src is None
        if src is None:
            src = DraftSource(tool=obs.tool, uid=obs.uid, uid_hash=uid_hash, first_seen_at=now, finding_id=f.id)
            f.sources.append(src)
        changes = _write_source(src, obs, raw_digest, self.run_id, now)
        if added and not created:
            changes[f"{obs.tool}.source"] = [None, obs.uid]
        describe(f, obs, changes, track=not created)
        f.last_seen_at = now
        flipped = refresh(f, self.ctx, changes, confidence=obs.confidence)
        _record(
            self.session,
            self.ctx,
            f,
            self.report,
            changes,
            created=created,
            flipped=flipped,
            actor=self.actor,
            now=now,
            events=self.events,
            history=self.history,
        )


def _prepare(
    batch: Batch, mapping: ownership.Mapping, repository: str
) -> tuple[list[tuple[Observation, str, str]], dict[int, tuple[ownership.Owner, str]]]:
    """(observation, uid hash, key hash) of each distinct record, and each one's owner and key (the identity
    is computed once per record, after the owner: a dependency's location depends on it)."""
    pending: list[tuple[Observation, str, str]] = []
    owners: dict[int, tuple[ownership.Owner, str]] = {}
    for obs in _latest(batch.observations):
        owner = own(obs, mapping, repository)
        key = identity.key_for(obs)
        owners[id(obs)] = (owner, key)
        pending.append((obs, _uid_hash(obs), identity.key_digest(key)))
    return pending, owners


def import_batch(
    session: Session,
    *,
    batch: Batch,
    now: datetime,
    actor: str,
    name: str = "",
    bus: EventBus | None = None,
    repository: str = "",
) -> ImportReport:
    """Store the batch's good records (the bad ones are reported, never stored); the caller commits.
    `repository` (owner/name) is the repository a dependency scan without one ran on (`snyk test`)."""
    run = ImportRun(at=now, format=batch.format, name=name[:500], actor=actor, scan=batch.scan)
    session.add(run)
    session.flush()
    report = ImportReport(import_id=run.id, format=batch.format, total=batch.total, skipped=len(batch.skipped))
    report.rejected = len({p.index for p in batch.problems})
    report.problems = [p.render() for p in batch.problems]
    ctx = context(session, now=now)
    pending, owners = _prepare(batch, ctx.policy.mapping(), repository)
    seen: set[tuple[str, str]] = {(obs.tool, uid_hash) for obs, uid_hash, _ in pending}
    seen.update((tool, uid_digest(uid)) for tool, uid in batch.unchanged)
    report.unchanged += len(batch.unchanged)
    digests = {id(obs): obs.revision or digest(obs.raw) for obs, _, _ in pending}
    known = _known(session, pending)
    changed = [p for p in pending if known.get((p[0].tool, p[1])) != (digests[id(p[0])], p[0].status)]
    report.unchanged += len(pending) - len(changed)
    sources, loaded = drafts_module.load(
        session, sorted({h for _, h, _ in changed}), sorted({k for _, _, k in changed}), CHUNK
    )
    listened = bus is not None and any(
        bus.subscriptions.get(cls.type) for cls in (SecurityFindingOpened, SecurityFindingResolved)
    )
    work = _Pass(session, ctx, report, run.id, actor, sources, dict(loaded), events=[] if listened else None)
    for obs, uid_hash, key_hash in changed:
        owner, key = owners[id(obs)]
        work.apply(obs, uid_hash, (key, key_hash), digests[id(obs)], owner)
    drafts_module.write(session, work.drafts, work.history, import_id=run.id)
    session.flush()
    if batch.scan:
        _close_unreported(session, batch, seen, ctx, report, actor=actor, events=work.events)
        _touch_scopes(session, batch.scopes, run.id, now)
    run.counts, run.problems = report.counts(), report.problems[:200]
    announce(session, report, bus, work.events or [], now=now, name=name)
    return report


def _record(
    session: Session,
    ctx: Context,
    f: FindingLike,
    report: ImportReport,
    changes: dict[str, Any],
    *,
    created: bool,
    flipped: str | None,
    actor: str,
    now: datetime,
    events: list[Event] | None,
    history: list[dict[str, Any]] | None = None,
) -> None:
    report.finding_ids.append(f.id)
    if (created or flipped == "reopened" or "priority" in changes) and ctx.policy.tickets:
        tickets.queue(session, f, ctx.policy, now=now)
    if created:
        report.created += 1
        row = {"finding_id": f.id, "at": now, "actor": actor, "event": "created", "changes": {}, "note": ""}
        if isinstance(f, Draft) and history is not None:
            history.append(row)
        else:
            session.add(FindingHistory(**row))
        if events is not None:
            events.append(finding_event(SecurityFindingOpened, f, now))
        return
    if not changes:
        report.unchanged += 1
        return
    event = flipped or "updated"
    report.updated += event == "updated"
    report.resolved += event == "resolved"
    report.reopened += event == "reopened"
    if isinstance(f, Draft) and history is not None:
        history.append({"finding_id": f.id, "at": now, "actor": actor, "event": event, "changes": changes, "note": ""})
    else:
        session.add(FindingHistory(finding=f, at=now, actor=actor, event=event, changes=changes, note=""))
    if flipped and events is not None:
        events.append(
            finding_event(SecurityFindingOpened if flipped == "reopened" else SecurityFindingResolved, f, now)
        )


def _close_unreported(
    session: Session,
    batch: Batch,
    seen: set[tuple[str, str]],
    ctx: Context,
    report: ImportReport,
    *,
    actor: str,
    events: list[Event] | None,
) -> None:
    """A scan's active records in a scope it re-checked but no longer reports are resolved; others stay."""
    by_tool: dict[str, list[str]] = {}
    for scope in batch.scopes:
        by_tool.setdefault(scope.split("|", 1)[0], []).append(scope_hash(scope))
    for tool, hashes in sorted(by_tool.items()):
        for chunk in _chunks(sorted(hashes)):
            stale = session.scalars(
                select(FindingSource).where(
                    FindingSource.tool == tool, FindingSource.scope_hash.in_(chunk), FindingSource.status == "active"
                )
            ).all()
            for src in stale:
                if (src.tool, src.uid_hash) in seen:
                    continue
                changes = {f"{tool}.status": ["active", "resolved"]}
                src.status, src.workflow = "resolved", "NOT_REPORTED"
                flipped = refresh(src.finding, ctx, changes)
                _record(
                    session,
                    ctx,
                    src.finding,
                    report,
                    changes,
                    created=False,
                    flipped=flipped,
                    actor=actor,
                    now=ctx.now,
                    events=events,
                )


def _touch_scopes(session: Session, scopes: set[str], import_id: str, now: datetime) -> None:
    hashes = {scope_hash(s): s for s in scopes}
    known: dict[tuple[str, str], ScanScope] = {}
    for chunk in _chunks(sorted(hashes)):
        for row in session.scalars(select(ScanScope).where(ScanScope.scope_hash.in_(chunk))):
            known[(row.tool, row.scope_hash)] = row
    for h, scope in hashes.items():
        tool = scope.split("|", 1)[0]
        existing = known.get((tool, h))
        if existing is None:
            session.add(ScanScope(tool=tool, scope=scope, scope_hash=h, last_checked_at=now, import_id=import_id))
        else:
            existing.last_checked_at, existing.import_id = now, import_id
