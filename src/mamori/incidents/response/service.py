"""Incident use cases: declare, status, roles, updates with reminders, notes, timeline, postmortems, action items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core import audit, catalog, jobs, timeline
from mamori.core.audit import Actor
from mamori.core.errors import NotFound, ValidationFailed
from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.incidents.alerts.severity import due_after
from mamori.incidents.eventing import incident_fields as _fields
from mamori.incidents.events import (
    IncidentDeclared,
    IncidentResolved,
    IncidentRoleAssigned,
    IncidentSeverityChanged,
    IncidentStatusUpdated,
    IncidentUpdatePosted,
    PostmortemPublished,
)
from mamori.incidents.kinds import stored as config
from mamori.incidents.models import ActionItem, AlertGroup, Incident, IncidentEntry, Postmortem
from mamori.incidents.oncall import drills

STATUSES = ("investigating", "identified", "monitoring", "resolved")
ROLES = ("commander", "deputy", "scribe", "communications", "sme")
REMINDER_JOB = "incidents.update_reminder"


def get(session: Session, ref: str) -> Incident:
    incident = session.get(Incident, ref)
    if incident is None and ref.lstrip("#").isdigit():
        incident = session.scalar(select(Incident).where(Incident.number == int(ref.lstrip("#"))))
    if incident is None:
        raise NotFound(f"no incident {ref!r}")
    return incident


def _entry(
    session: Session,
    incident: Incident,
    *,
    at: datetime,
    kind: str,
    actor: str,
    text: str,
    audience: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        IncidentEntry(
            incident_id=incident.id, at=at, kind=kind, actor=actor, text=text, audience=audience, data=data or {}
        )
    )


def declare(
    session: Session,
    runtime: Runtime,
    *,
    title: str,
    severity: str,
    actor: Actor,
    now: datetime,
    service: str | None = None,
    group_id: str | None = None,
    commander: str | None = None,
    summary: str = "",
) -> Incident:
    """Open an incident by hand or from an alert group (which then links to it)."""
    level = config.severity(session, severity)
    group = session.get(AlertGroup, group_id) if group_id else None
    if group_id and group is None:
        raise NotFound(f"no alert group {group_id!r}")
    if not title.strip():
        raise ValidationFailed("an incident needs a title")
    title = drills.mark(title.strip()) if drills.rules_of_group(session, runtime, group_id) else title
    service = service or (group.service if group else None)
    number = int(session.scalar(select(func.max(Incident.number))) or 0) + 1
    incident = Incident(
        number=number,
        title=title.strip()[:500],
        severity=level.name,
        status="investigating",
        service=service,
        team=(group.team if group else None) or (catalog.service_team(session, service) if service else None),
        summary=summary,
        roles={"commander": commander} if commander else {},
        group_id=group_id,
        declared_at=now,
        declared_by=actor.name,
        started_at=group.opened_at if group else now,
        acknowledged_at=group.acknowledged_at if group else now,
        postmortem_required=level.postmortem_required,
    )
    session.add(incident)
    session.flush()
    if group is not None:
        group.incident_id = incident.id
        _entry(session, incident, at=group.opened_at, kind="alert", actor="alerting", text=f"alert: {group.title}")
    _entry(session, incident, at=now, kind="declared", actor=actor.name, text=f"declared {level.name}: {title}")
    if level.incident_commander and not commander:
        _entry(
            session,
            incident,
            at=now,
            kind="role",
            actor="mamori",
            text=f"{level.name} is a major incident: assign an Incident Commander",
        )
    _schedule_reminder(session, incident, now=now)
    audit.record(
        session,
        actor=actor,
        action="declare",
        object_type="Incident",
        object_id=str(number),
        at=now,
        after={"title": title, "severity": level.name},
    )
    timeline.record(
        session,
        at=now,
        kind="incident",
        source="incidents",
        title=f"#{number} {level.name} {title}",
        service=service,
        team=incident.team,
        ref=f"/incidents/{incident.id}",
        dedupe_key=f"incident:{incident.id}:declared",
    )
    event = IncidentDeclared(**_fields(session, incident, now=now), title=incident.title, by=actor.name)
    runtime.bus.publish(session, event, now=now)
    return incident


def _schedule_reminder(session: Session, incident: Incident, *, now: datetime) -> None:
    every = config.severity(session, incident.severity).update_every
    if every is None or incident.status == "resolved":
        incident.next_update_due_at = None
        return
    incident.next_update_due_at = now + every
    jobs.enqueue(
        session,
        kind=REMINDER_JOB,
        now=now,
        run_at=now + every,
        payload={"incident_id": incident.id, "due": incident.next_update_due_at.isoformat()},
    )


def update_reminder(ctx: JobContext, *, incident_id: str, due: str) -> None:
    """Job: if no status update was posted since the reminder was set, say so on the incident timeline."""
    incident = ctx.session.get(Incident, incident_id)
    if incident is None or incident.status == "resolved" or incident.next_update_due_at is None:
        return
    if incident.next_update_due_at.isoformat() != due:
        return  # an update was posted; a newer reminder is queued
    _entry(
        ctx.session,
        incident,
        at=ctx.now,
        kind="reminder",
        actor="mamori",
        text=f"status update overdue ({incident.severity}): post an update",
    )
    _schedule_reminder(ctx.session, incident, now=ctx.now)


def post_update(
    session: Session,
    runtime: Runtime,
    *,
    ref: str,
    text: str,
    actor: Actor,
    now: datetime,
    status: str | None = None,
    audience: str = "internal",
) -> Incident:
    incident = get(session, ref)
    if audience not in ("internal", "external"):
        raise ValidationFailed("audience must be internal or external")
    text = drills.checked_update(drills.rules_of_group(session, runtime, incident.group_id), audience, text)
    if status is not None:
        set_status(session, runtime, incident=incident, status=status, actor=actor, now=now)
    _entry(session, incident, at=now, kind="update", actor=actor.name, text=text, audience=audience)
    _audit(session, incident, actor=actor, action="update", at=now, after={"audience": audience, "text": text})
    _schedule_reminder(session, incident, now=now)
    event = IncidentUpdatePosted(**_fields(session, incident, now=now), audience=audience, by=actor.name)
    runtime.bus.publish(session, event, now=now)
    return incident


def _audit(session: Session, incident: Incident, *, actor: Actor, action: str, at: datetime, **change: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="Incident",
        object_id=str(incident.number),
        at=at,
        before=change.get("before"),
        after=change.get("after"),
    )


def set_status(
    session: Session, runtime: Runtime, *, incident: Incident, status: str, actor: Actor, now: datetime
) -> None:
    if status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}")
    if status == incident.status:
        return
    before, incident.status = incident.status, status
    _entry(session, incident, at=now, kind="status", actor=actor.name, text=f"{before} -> {status}")
    if status == "resolved":
        incident.resolved_at, incident.next_update_due_at = now, None
        if incident.postmortem_required:
            create_postmortem(session, incident=incident, now=now)
    audit.record(
        session,
        actor=actor,
        action="status",
        object_type="Incident",
        object_id=str(incident.number),
        at=now,
        before={"status": before},
        after={"status": status},
    )
    fields = _fields(session, incident, now=now)
    runtime.bus.publish(session, IncidentStatusUpdated(**fields, status=status, by=actor.name), now=now)
    if status == "resolved":
        runtime.bus.publish(session, IncidentResolved(**fields, by=actor.name), now=now)


def set_severity(
    session: Session, runtime: Runtime, *, ref: str, severity: str, actor: Actor, now: datetime
) -> Incident:
    """Raise or lower an incident's severity (a known SeverityLevel); a major level may now need a postmortem."""
    incident = get(session, ref)
    session.refresh(incident, with_for_update=True)
    level = config.severity(session, severity)
    if level.name == incident.severity:
        return incident
    before, incident.severity = incident.severity, level.name
    incident.postmortem_required = incident.postmortem_required or level.postmortem_required
    _entry(session, incident, at=now, kind="severity", actor=actor.name, text=f"{before} -> {level.name}")
    audit.record(
        session,
        actor=actor,
        action="severity",
        object_type="Incident",
        object_id=str(incident.number),
        at=now,
        before={"severity": before},
        after={"severity": level.name},
    )
    event = IncidentSeverityChanged(**_fields(session, incident, now=now), previous=before, by=actor.name)
    runtime.bus.publish(session, event, now=now)
    return incident


def assign_role(
    session: Session, runtime: Runtime, *, ref: str, role: str, user: str, actor: Actor, now: datetime
) -> Incident:
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    incident = get(session, ref)
    session.refresh(incident, with_for_update=True)  # read-modify-write of the roles document
    roles = dict(incident.roles)
    before = dict(roles)
    if role == "sme":
        roles["sme"] = sorted(set(roles.get("sme", [])) | {user})
    else:
        roles[role] = user
    incident.roles = roles
    _entry(session, incident, at=now, kind="role", actor=actor.name, text=f"{user} is {role}")
    _audit(
        session, incident, actor=actor, action="assign_role", at=now, before={"roles": before}, after={"roles": roles}
    )
    event = IncidentRoleAssigned(**_fields(session, incident, now=now), role=role, person=user, by=actor.name)
    runtime.bus.publish(session, event, now=now)
    return incident


def add_note(session: Session, *, ref: str, text: str, actor: Actor, now: datetime) -> Incident:
    incident = get(session, ref)
    _entry(session, incident, at=now, kind="note", actor=actor.name, text=text)
    _audit(session, incident, actor=actor, action="note", at=now, after={"text": text})
    return incident


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    text: str
    actor: str


def full_timeline(session: Session, incident: Incident, *, now: datetime) -> list[TimelineItem]:
    """The incident's own entries plus deploys, flag changes and SLO burns of its service around it."""
    items = [
        TimelineItem(e.at, e.kind, e.text, e.actor)
        for e in session.scalars(select(IncidentEntry).where(IncidentEntry.incident_id == incident.id))
    ]
    if incident.service:
        since = incident.started_at - timedelta(hours=2)
        for event in timeline.list_events(
            session,
            services=[incident.service],
            since=since,
            until=incident.resolved_at or now,
            kinds=["deploy", "flag_change", "slo_burn", "slo_policy"],
        ):
            items.append(TimelineItem(event.at, event.kind, event.title, event.source))
    return sorted(items, key=lambda i: i.at)


def create_postmortem(session: Session, *, incident: Incident, now: datetime) -> Postmortem:
    existing = session.scalar(select(Postmortem).where(Postmortem.incident_id == incident.id))
    if existing is not None:
        return existing
    level = config.severity(session, incident.severity)
    days = due_after(now.weekday(), level.postmortem_due_days or 5, business=level.postmortem_business_days)
    pm = Postmortem(
        incident_id=incident.id,
        status="draft",
        due_at=now + timedelta(days=days),
        body=render_template(session, incident, now=now),
        created_at=now,
        updated_at=now,
    )
    session.add(pm)
    session.flush()
    return pm


def render_template(session: Session, incident: Incident, *, now: datetime) -> str:
    end = incident.resolved_at or now
    lines = [
        f"# Postmortem: #{incident.number} {incident.title}",
        "",
        "Blameless: we look at systems and decisions, not at who to blame.",
        "",
        "## Summary",
        "",
        incident.summary or "_What happened, in two or three sentences._",
        "",
        "## Impact",
        "",
        f"- Severity: {incident.severity}",
        f"- Service: {incident.service or '-'}",
        f"- Duration: {_minutes(end - incident.started_at)} (from {incident.started_at:%Y-%m-%d %H:%M} UTC "
        f"to {end:%Y-%m-%d %H:%M} UTC)",
        "- SLO error budget used: _fill in from the SLO page_",
        "",
        "## Timeline (UTC)",
        "",
    ]
    lines += [f"- {i.at:%Y-%m-%d %H:%M} {i.kind}: {i.text}" for i in full_timeline(session, incident, now=now)]
    lines += [
        "",
        "## Root causes",
        "",
        "## What went well",
        "",
        "## What went wrong",
        "",
        "## Action items",
        "",
        "| item | owner | due |",
        "|---|---|---|",
        "",
    ]
    return "\n".join(lines)


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"


def add_action_item(
    session: Session, *, ref: str, title: str, owner: str | None, due_at: datetime | None, now: datetime
) -> ActionItem:
    incident = get(session, ref)
    item = ActionItem(incident_id=incident.id, title=title, owner=owner, due_at=due_at, status="open", created_at=now)
    session.add(item)
    session.flush()
    return item


def complete_action_item(session: Session, *, item_id: str, now: datetime) -> ActionItem:
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"no action item {item_id!r}")
    item.status, item.done_at = "done", now
    return item


POSTMORTEM_STATUSES = ("draft", "in_review", "published")
MAX_POSTMORTEM_CHARS = 500_000


def postmortem_of(session: Session, incident: Incident) -> Postmortem | None:
    return session.scalar(select(Postmortem).where(Postmortem.incident_id == incident.id))


def save_postmortem(
    session: Session, runtime: Runtime, *, ref: str, body: str, actor: Actor, now: datetime, status: str | None = None
) -> Postmortem:
    """Replace the postmortem's Markdown (creating the postmortem from the template if there is none)."""
    incident = get(session, ref)
    if not body.strip():
        raise ValidationFailed("the postmortem is empty; write at least a summary")
    if len(body) > MAX_POSTMORTEM_CHARS:
        raise ValidationFailed(f"the postmortem is longer than {MAX_POSTMORTEM_CHARS} characters")
    if status is not None and status not in POSTMORTEM_STATUSES:
        raise ValidationFailed(f"postmortem status must be one of {', '.join(POSTMORTEM_STATUSES)}")
    pm = postmortem_of(session, incident) or create_postmortem(session, incident=incident, now=now)
    before = {"status": pm.status, "chars": len(pm.body)}
    published = pm.status != "published" and status == "published"
    pm.body = body.replace("\r\n", "\n")
    pm.status = status or pm.status
    pm.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="edit",
        object_type="Postmortem",
        object_id=str(incident.number),
        at=now,
        before=before,
        after={"status": pm.status, "chars": len(pm.body)},
    )
    if published:
        runtime.bus.publish(session, PostmortemPublished(**_fields(session, incident, now=now), by=actor.name), now=now)
    return pm
