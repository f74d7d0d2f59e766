"""How a drill hears of the world (subscribers wired in `mamori.wiring`): incidents' events for its alerts join
its timeline; a real incident as severe as its abort condition, or a real SLO burn on its service, aborts it;
a release freeze of its service is recorded."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.audit import Actor
from mamori.core.events import Event
from mamori.core.jobs import JobContext
from mamori.gamedays import payloads, scoring
from mamori.gamedays.models import Drill
from mamori.gamedays.scenario import GameDaySpec
from mamori.gamedays.service import drills
from mamori.gamedays.service.entries import add_entry

log = logging.getLogger(__name__)

RESPONSE_KINDS = {
    "incidents.alert_group_opened": scoring.ALERT_OPENED,
    "incidents.alert_group_paged": scoring.PAGED,
    "incidents.alert_group_acknowledged": scoring.ACKNOWLEDGED,
    "incidents.alert_group_resolved": scoring.ALERT_RESOLVED,
    "incidents.incident_declared": scoring.DECLARED,
    "incidents.incident_severity_changed": scoring.SEVERITY_CHANGED,
    "incidents.incident_role_assigned": scoring.ROLE_ASSIGNED,
    "incidents.incident_status_updated": scoring.STATUS_UPDATED,
    "incidents.incident_update_posted": scoring.UPDATE_POSTED,
    "incidents.incident_resolved": scoring.INCIDENT_RESOLVED,
    "incidents.postmortem_published": scoring.POSTMORTEM,
}
"""The incidents events a drill's timeline records (by their type names; gamedays imports no other domain)."""
KEPT_FIELDS = (
    "group_id",
    "incident_id",
    "number",
    "severity",
    "previous",
    "role",
    "person",
    "status",
    "step",
    "channel",
    "audience",
)


def _text(kind: str, data: dict[str, Any], actor: str | None) -> str:
    who = f" by {actor}" if actor else ""
    texts = {
        scoring.ALERT_OPENED: f"alert group opened: {data.get('title', '')}",
        scoring.PAGED: f"paged {data.get('person')} by {data.get('channel')} (step {data.get('step')})",
        scoring.ACKNOWLEDGED: f"acknowledged{who}",
        scoring.ALERT_RESOLVED: "alert group resolved",
        scoring.DECLARED: f"incident #{data.get('number')} declared {data.get('severity')}{who}",
        scoring.SEVERITY_CHANGED: f"severity {data.get('previous')} -> {data.get('severity')}{who}",
        scoring.ROLE_ASSIGNED: f"{data.get('person')} is {data.get('role')}{who}",
        scoring.STATUS_UPDATED: f"status {data.get('status')}{who}",
        scoring.UPDATE_POSTED: f"{data.get('audience', 'internal')} update posted{who}",
        scoring.INCIDENT_RESOLVED: f"incident #{data.get('number')} resolved{who}",
        scoring.POSTMORTEM: f"postmortem of #{data.get('number')} published{who}",
    }
    return texts.get(kind, kind)


def record_response(ctx: JobContext, event: Event) -> None:
    """Subscriber of incidents' events: a drill's (label `mamori_drill`) joins its timeline; a real incident as
    severe as a running drill's abort condition aborts that drill."""
    data = event.model_dump(mode="json")
    kind = RESPONSE_KINDS.get(event.type)
    if kind is None:
        return
    labels = data.get("labels") or {}
    drill_id = labels.get(payloads.DRILL_LABEL)
    at = datetime.fromisoformat(str(data["at"]))
    if not drill_id:
        if kind in (scoring.DECLARED, scoring.SEVERITY_CHANGED):
            _abort_on_real_incident(ctx, severity=str(data.get("severity")), number=data.get("number"), at=at)
        return
    drill = ctx.session.get(Drill, str(drill_id))
    if drill is None:
        log.warning("event %s names drill %s, which does not exist", event.type, drill_id)
        return
    actor = data.get("person") if kind == scoring.PAGED else data.get("by")
    kept = {k: data[k] for k in KEPT_FIELDS if data.get(k) is not None}
    if labels.get(payloads.INJECT_LABEL):
        kept["inject"] = labels[payloads.INJECT_LABEL]
    add_entry(
        ctx.session,
        drill,
        at=at,
        kind=kind,
        actor=str(actor) if actor else None,
        text=_text(kind, {**data, **kept}, str(actor) if actor and kind != scoring.PAGED else None),
        data=kept,
        dedupe_key=f"event:{event.event_id}",
    )


def _abort_on_real_incident(ctx: JobContext, *, severity: str, number: object, at: datetime) -> None:
    for drill in drills.list_drills(ctx.session, status="running"):
        if severity in drills.spec_of(drill).abort_on.severities:
            reason = f"a real {severity} incident (#{number}) was declared"
            drills.abort(ctx.session, ctx.runtime, drill_id=drill.id, reason=reason, actor=_system(), now=ctx.now)


def _system() -> Actor:
    return Actor.system("gamedays")


def abort_on_slo_burn(ctx: JobContext, event: Event) -> None:
    """Subscriber of the SLO engine's page-level burn alerts: a real burn on a drill's service aborts the drill."""
    data = event.model_dump(mode="json")
    if data.get("severity") != "page":
        return
    service = str(data.get("service"))
    for drill in drills.list_drills(ctx.session, status="running"):
        spec = drills.spec_of(drill)
        if spec.abort_on.slo_burn and service in spec.services:
            reason = f"a real SLO burn on {service} ({data.get('slo')})"
            drills.abort(ctx.session, ctx.runtime, drill_id=drill.id, reason=reason, actor=_system(), now=ctx.now)


def record_freeze(ctx: JobContext, event: Event) -> None:
    """Subscriber of release freezes: a freeze of a running drill's service joins its timeline."""
    data = event.model_dump(mode="json")
    service = str(data.get("service"))
    for drill in ctx.session.scalars(select(Drill).where(Drill.status == "running")):
        if service in GameDaySpec.model_validate(drill.spec).services:
            add_entry(
                ctx.session,
                drill,
                at=datetime.fromisoformat(str(data.get("since"))),
                kind=scoring.RELEASE_FROZEN,
                text=f"releases of {service} frozen: {data.get('reason')}",
                data={"service": service},
                dedupe_key=f"event:{event.event_id}:{drill.id}",
            )


def record_taken(
    session: Session, *, drill_id: str, inject_id: str, at: datetime, text: str, data: dict[str, Any]
) -> None:
    """What another domain made of one of the drill's injects (its drill-only SLO slice, its drill finding in the
    triage queue) joins the drill's timeline, once."""
    drill = session.get(Drill, drill_id)
    if drill is None:
        log.warning("inject %s names drill %s, which does not exist", inject_id, drill_id)
        return
    add_entry(
        session,
        drill,
        at=at,
        kind=scoring.INJECT_TAKEN,
        text=text,
        data={"inject": inject_id, **data},
        dedupe_key=f"taken:{drill_id}:{inject_id}",
    )
