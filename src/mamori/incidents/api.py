"""HTTP API edge for alert groups, silences and incidents (mounted under /api/v1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from mamori.core import auth
from mamori.core.clock import utc
from mamori.core.errors import Forbidden, NotFound
from mamori.incidents.alerts import service, silences
from mamori.incidents.kinds import stored as config
from mamori.incidents.models import ActionItem, Postmortem
from mamori.incidents.oncall import feeds
from mamori.incidents.response import actions, metrics
from mamori.incidents.response import service as response
from mamori.incidents.schemas import (
    ActionItemIn,
    ActionItemOut,
    CreatedOut,
    DeclareIn,
    FileIn,
    GroupOut,
    IncidentMetricsOut,
    IncidentOut,
    MaintenanceIn,
    MaintenanceOut,
    NoteIn,
    OncallHealthOut,
    PostmortemIn,
    PostmortemOut,
    RoleIn,
    ScheduleFeedOut,
    SeverityIn,
    SilenceIn,
    TimelineItemOut,
    UpdateIn,
    UserFeedOut,
)
from mamori.web.deps import Reader, Responder, RuntimeDep, SessionDep, authorize_for_team

router = APIRouter(tags=["incidents"])


@router.get("/alert-groups", response_model=list[GroupOut])
def list_groups(session: SessionDep, _: Reader, status: str | None = None) -> Any:
    return service.list_groups(session, status=status)


@router.post("/alert-groups/{group_id}/acknowledge", response_model=GroupOut)
def acknowledge(group_id: str, session: SessionDep, runtime: RuntimeDep, who: Reader) -> Any:
    authorize_for_team(who, service.get_group(session, group_id).team, "respond")
    group = service.acknowledge(session, runtime, group_id=group_id, actor=who.actor(), now=runtime.now())
    session.commit()
    return group


@router.post("/alert-groups/{group_id}/resolve", response_model=GroupOut)
def resolve(group_id: str, session: SessionDep, runtime: RuntimeDep, who: Reader) -> Any:
    authorize_for_team(who, service.get_group(session, group_id).team, "respond")
    group = service.resolve(session, runtime, group_id=group_id, actor=who.actor(), now=runtime.now())
    session.commit()
    return group


@router.post("/silences", status_code=201, response_model=CreatedOut)
def create_silence(body: SilenceIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> dict[str, str]:
    now = runtime.now()
    silence = silences.create_silence(
        session,
        matchers=body.matchers,
        starts_at=utc(body.starts_at or now),
        ends_at=utc(body.ends_at),
        comment=body.comment,
        actor=who.actor(),
        now=now,
    )
    session.commit()
    return {"id": silence.id}


@router.post("/incidents", response_model=IncidentOut, status_code=201)
def declare(body: DeclareIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.declare(
        session,
        runtime,
        title=body.title,
        severity=body.severity,
        service=body.service,
        group_id=body.group_id,
        commander=body.commander,
        summary=body.summary,
        actor=who.actor(),
        now=runtime.now(),
    )
    session.commit()
    return incident


@router.get("/incidents/{ref}", response_model=IncidentOut)
def get_incident(ref: str, session: SessionDep, _: Reader) -> Any:
    return response.get(session, ref)


@router.get("/incidents/{ref}/timeline", response_model=list[TimelineItemOut])
def incident_timeline(ref: str, session: SessionDep, runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    items = response.full_timeline(session, response.get(session, ref), now=runtime.now())
    return [{"at": i.at, "kind": i.kind, "text": i.text, "actor": i.actor} for i in items]


@router.post("/incidents/{ref}/updates", response_model=IncidentOut)
def post_update(ref: str, body: UpdateIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.post_update(
        session,
        runtime,
        ref=ref,
        text=body.text,
        status=body.status,
        audience=body.audience,
        actor=who.actor(),
        now=runtime.now(),
    )
    session.commit()
    return incident


@router.post("/incidents/{ref}/severity", response_model=IncidentOut)
def set_severity(ref: str, body: SeverityIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.set_severity(
        session, runtime, ref=ref, severity=body.severity, actor=who.actor(), now=runtime.now()
    )
    session.commit()
    return incident


@router.post("/incidents/{ref}/roles", response_model=IncidentOut)
def assign_role(ref: str, body: RoleIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.assign_role(
        session, runtime, ref=ref, role=body.role, user=body.user, actor=who.actor(), now=runtime.now()
    )
    session.commit()
    return incident


@router.post("/incidents/{ref}/notes", response_model=IncidentOut)
def add_note(ref: str, body: NoteIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.add_note(session, ref=ref, text=body.text, actor=who.actor(), now=runtime.now())
    session.commit()
    return incident


@router.get("/incidents/{ref}/postmortem", response_model=PostmortemOut)
def get_postmortem(ref: str, session: SessionDep, _: Reader) -> dict[str, Any]:
    incident = response.get(session, ref)
    pm = session.scalar(select(Postmortem).where(Postmortem.incident_id == incident.id))
    if pm is None:
        raise NotFound(f"incident #{incident.number} has no postmortem yet")
    return {"status": pm.status, "due_at": pm.due_at, "markdown": pm.body}


@router.get("/oncall/schedules/{name}/ical", response_model=ScheduleFeedOut)
def schedule_ical_url(name: str, session: SessionDep, runtime: RuntimeDep, _: Reader) -> dict[str, str]:
    """The secret iCalendar feed URL of a schedule's final shifts."""
    config.schedule(session, name)  # 404 for an unknown schedule
    return {"schedule": name, "url": feeds.feed_url(runtime.settings, kind="schedule", name=name)}


@router.get("/oncall/users/{email}/ical", response_model=UserFeedOut)
def user_ical_url(email: str, session: SessionDep, runtime: RuntimeDep, who: Reader) -> dict[str, str]:
    """The secret iCalendar feed URL of one person's shifts across schedules: your own, or anyone's for admins."""
    email = email.lower()
    if not who.allows("admin") and (who.user is None or who.user.email.lower() != email):
        raise Forbidden("you can get only your own calendar link")
    if auth.find_user(session, email) is None:
        raise NotFound(f"no user with email {email!r}")
    return {"user": email, "url": feeds.feed_url(runtime.settings, kind="user", name=email)}


@router.get("/incidents/{ref}/action-items", response_model=list[ActionItemOut])
def list_action_items(ref: str, session: SessionDep, _: Reader) -> Any:
    incident = response.get(session, ref)
    query = select(ActionItem).where(ActionItem.incident_id == incident.id).order_by(ActionItem.created_at)
    return list(session.scalars(query))


@router.post("/incidents/{ref}/action-items", response_model=ActionItemOut, status_code=201)
def add_action_item(ref: str, body: ActionItemIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    now = runtime.now()
    item = response.add_action_item(
        session, ref=ref, title=body.title, owner=body.owner, due_at=utc(body.due_at) if body.due_at else None, now=now
    )
    if body.file is not None:
        actions.file_item(
            session,
            runtime,
            item_id=item.id,
            tracker_name=body.file.tracker,
            target=body.file.target,
            actor=who.actor(),
            now=now,
        )
    session.commit()
    return item


@router.post("/action-items/{item_id}/file", response_model=ActionItemOut, status_code=202)
def file_action_item(item_id: str, body: FileIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    """File the item to Jira or GitHub in the background; GET the item to see its issue key."""
    item = actions.file_item(
        session,
        runtime,
        item_id=item_id,
        tracker_name=body.tracker,
        target=body.target,
        actor=who.actor(),
        now=runtime.now(),
    )
    session.commit()
    return item


@router.get("/action-items/{item_id}", response_model=ActionItemOut)
def get_action_item(item_id: str, session: SessionDep, _: Reader) -> Any:
    return actions.get_item(session, item_id)


@router.post("/action-items/{item_id}/done", response_model=ActionItemOut)
def complete_action_item(item_id: str, session: SessionDep, runtime: RuntimeDep, _: Responder) -> Any:
    item = response.complete_action_item(session, item_id=item_id, now=runtime.now())
    session.commit()
    return item


@router.get("/metrics/oncall", response_model=OncallHealthOut)
def oncall_health(
    session: SessionDep, runtime: RuntimeDep, _: Reader, days: int = Query(default=28, ge=1, le=366)
) -> dict[str, Any]:
    """On-call load per person: pages, pages per week, pages out of hours in their own time zone."""
    until = runtime.now()
    since = until - timedelta(days=days)
    people = metrics.oncall_load(session, since=since, until=until)
    return {"since": since, "until": until, "people": [p.as_dict() for p in people]}


@router.get("/metrics/incidents", response_model=IncidentMetricsOut)
def incident_metrics(
    session: SessionDep, runtime: RuntimeDep, _: Reader, days: int = Query(default=90, ge=1, le=731)
) -> dict[str, Any]:
    """MTTA/MTTR of alert groups, and incidents per week by severity, service and team."""
    until = runtime.now()
    since = until - timedelta(days=days)
    return {
        "since": since,
        "until": until,
        **metrics.response_times(session, since=since, until=until),
        "trends": metrics.incident_trends(session, since=since, until=until),
    }


@router.put("/incidents/{ref}/postmortem", response_model=PostmortemOut)
def save_postmortem(ref: str, body: PostmortemIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    pm = response.save_postmortem(
        session, runtime, ref=ref, body=body.markdown, status=body.status, actor=who.actor(), now=runtime.now()
    )
    session.commit()
    return {"status": pm.status, "due_at": pm.due_at, "markdown": pm.body}


@router.get("/maintenance-windows", response_model=list[MaintenanceOut])
def list_maintenance(session: SessionDep, runtime: RuntimeDep, _: Reader, include_past: bool = False) -> Any:
    return silences.list_maintenance(session, now=runtime.now(), include_past=include_past)


@router.post("/maintenance-windows", response_model=MaintenanceOut, status_code=201)
def create_maintenance(body: MaintenanceIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    now = runtime.now()
    window = silences.create_maintenance(
        session,
        services=body.services,
        starts_at=utc(body.starts_at or now),
        ends_at=utc(body.ends_at),
        reason=body.reason,
        actor=who.actor(),
        now=now,
    )
    session.commit()
    return window


@router.delete("/maintenance-windows/{window_id}", status_code=204, response_model=None)
def delete_maintenance(window_id: str, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Response:
    silences.delete_maintenance(session, window_id=window_id, actor=who.actor(), now=runtime.now())
    session.commit()
    return Response(status_code=204)
