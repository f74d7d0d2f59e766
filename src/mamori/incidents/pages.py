"""Dashboard pages: alert groups with Ack/Resolve (htmx), incidents, and who is on call now and next."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from mamori.core import deliveries
from mamori.core.errors import InvalidInput, NotFound, ValidationFailed
from mamori.incidents import slots as views
from mamori.incidents.alerts import service
from mamori.incidents.kinds import stored as config
from mamori.incidents.models import Incident
from mamori.incidents.oncall import feeds
from mamori.incidents.response import metrics
from mamori.incidents.response import service as response
from mamori.web.deps import Principal, RuntimeDep, SessionDep, authorize_for_team, require
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]
Responder = Annotated[Principal, Depends(require("respond"))]


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return render(request, "incidents/alerts.html", {"groups": service.list_groups(session)})


@router.post("/alerts/{group_id}/{action}", response_class=HTMLResponse)
def act(
    group_id: str,
    action: Literal["ack", "resolve"],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    who: Viewer,
) -> HTMLResponse:
    authorize_for_team(who, service.get_group(session, group_id).team, "respond")
    verb = service.acknowledge if action == "ack" else service.resolve
    group = verb(session, runtime, group_id=group_id, actor=who.actor("ui"), now=runtime.now())
    session.commit()
    return render(request, "incidents/_group_row.html", {"g": group})


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    rows = session.scalars(select(Incident).order_by(Incident.number.desc()).limit(200)).all()
    return render(request, "incidents/incidents.html", {"incidents": rows})


@router.get("/incidents/{ref}", response_class=HTMLResponse)
def incident(ref: str, request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    found = response.get(session, ref)
    items = response.full_timeline(session, found, now=runtime.now())
    sent = deliveries.for_subject(session, f"incidents:incident:{found.id}")
    if found.group_id:
        sent += deliveries.for_subject(session, f"incidents:alert_group:{found.group_id}")
    sent.sort(key=lambda d: (d.at, d.id), reverse=True)
    return render(request, "incidents/incident.html", {"i": found, "items": items, "deliveries": sent})


@router.get("/oncall", response_class=HTMLResponse)
def oncall(request: Request, session: SessionDep, runtime: RuntimeDep, who: Viewer) -> HTMLResponse:
    mine = None
    if who.user is not None:
        try:
            mine = feeds.feed_url(runtime.settings, kind="user", name=who.user.email.lower())
        except ValidationFailed:  # no secret key configured: no feed links
            mine = None
    return render(
        request, "incidents/oncall.html", {"rows": views.on_call(session, now=runtime.now()), "my_ical": mine}
    )


@router.get("/oncall/health", response_class=HTMLResponse)
def oncall_health(request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    until = runtime.now()
    since = until - timedelta(days=28)
    people = metrics.oncall_load(session, since=since, until=until)
    trends = metrics.incident_trends(session, since=until - timedelta(days=84), until=until)
    summary = metrics.response_times(session, since=since, until=until)
    ctx = {"people": [p.as_dict() for p in people], "trends": trends, "summary": summary, "since": since}
    return render(request, "incidents/health.html", ctx)


@router.get("/incidents/{ref}/postmortem", response_class=HTMLResponse)
def postmortem_editor(ref: str, request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    incident = response.get(session, ref)
    pm = response.postmortem_of(session, incident)
    body = pm.body if pm is not None else response.render_template(session, incident, now=runtime.now())
    ctx = {"i": incident, "pm": pm, "body": body, "statuses": response.POSTMORTEM_STATUSES, "error": None}
    return render(request, "incidents/postmortem.html", ctx)


@router.post("/incidents/{ref}/postmortem", response_class=HTMLResponse)
def save_postmortem(  # noqa: PLR0917 - FastAPI passes form fields by name
    ref: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Responder,
    body: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "draft",
) -> Response:
    """Save the Markdown (the form carries the session's CSRF token, checked by the Responder dependency)."""
    incident = response.get(session, ref)
    try:
        response.save_postmortem(
            session, runtime, ref=ref, body=body, status=status, actor=who.actor("ui"), now=runtime.now()
        )
    except ValidationFailed as exc:
        session.rollback()
        ctx = {
            "i": incident,
            "pm": response.postmortem_of(session, incident),
            "body": body,
            "statuses": response.POSTMORTEM_STATUSES,
            "error": exc.detail,
        }
        return render(request, "incidents/postmortem.html", ctx, status_code=422)
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}/postmortem?saved=1", status_code=303)


@router.get("/incidents/{ref}/postmortem.md")
def export_postmortem(ref: str, session: SessionDep, _: Viewer) -> Response:
    incident = response.get(session, ref)
    pm = response.postmortem_of(session, incident)
    if pm is None:
        raise NotFound(f"incident #{incident.number} has no postmortem yet")
    return Response(
        pm.body,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="postmortem-{incident.number}.md"'},
    )


@router.get("/escalation-policies", response_class=HTMLResponse)
def policies(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return render(request, "incidents/policies.html", {"policies": views.policies(session)})


@router.get("/escalation-policies/{name}", response_class=HTMLResponse)
def policy(name: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    found = [p for p in views.policies(session) if p.name == name]
    if not found:
        raise NotFound(f"no EscalationPolicy named {name!r}")
    return render(request, "incidents/policy.html", {"p": found[0]})


@router.get("/oncall/schedules/{name}", response_class=HTMLResponse)
def schedule_calendar(
    name: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    _: Viewer,
    week: Annotated[str | None, Query(description="any day of the week, YYYY-MM-DD")] = None,
) -> HTMLResponse:
    spec = config.schedule(session, name)
    if week:
        try:
            day = date.fromisoformat(week)
        except ValueError:
            raise InvalidInput(f"week must be a date YYYY-MM-DD, not {week!r}") from None
        monday = day - timedelta(days=day.weekday())
    else:
        monday = views.local_monday(spec, runtime.now())
    grid = views.week_grid(name, spec, monday)
    try:
        url = feeds.feed_url(runtime.settings, kind="schedule", name=name)
    except ValidationFailed:
        url = None
    ctx = {
        "g": grid,
        "prev": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
        "ical_url": url,
    }
    return render(request, "incidents/schedule.html", ctx)
