"""Dashboard pages: alert groups and their detail (Ack/Resolve/Declare/Silence), the incident console (declare,
severity, roles, status updates, notes, resolve), postmortems, and who is on call now and next."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import catalog, deliveries, urls
from mamori.core.errors import InvalidInput, NotFound, ValidationFailed
from mamori.core.models import User
from mamori.incidents import slots as views
from mamori.incidents.alerts import service, silences
from mamori.incidents.alerts.matchers import Matcher
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import EscalationPolicySpec
from mamori.incidents.models import Alert, AlertGroup, Incident, IncidentEntry, Notification, NotificationAttempt
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


SILENCE_HOURS = (1, 2, 4, 8, 24, 72)
SILENCE_LABELS = ("alertname", "service", "instance", "job")


def _alert_context(session: Session, group: AlertGroup) -> dict[str, Any]:
    """What the alert page shows: the group's alerts, who was paged by which step and how each send went."""
    alerts = list(session.scalars(select(Alert).where(Alert.group_id == group.id).order_by(Alert.first_seen_at)))
    notes = list(
        session.scalars(
            select(Notification)
            .where(Notification.group_id == group.id)
            .order_by(Notification.round, Notification.step, Notification.created_at)
        )
    )
    tries: dict[str, list[NotificationAttempt]] = {n.id: [] for n in notes}
    if notes:
        query = select(NotificationAttempt).where(NotificationAttempt.notification_id.in_(list(tries)))
        for attempt in session.scalars(query.order_by(NotificationAttempt.at, NotificationAttempt.id)):
            tries[attempt.notification_id].append(attempt)
    links = [
        (key, value)
        for alert in alerts
        for key, value in sorted(alert.annotations.items())
        if urls.is_http_url(value) and urls.safe_href(value)
    ]
    first = alerts[0].labels if alerts else {}
    steps = _steps(group.policy_snapshot)
    matchers = [str(Matcher(k, "=", first[k])) for k in SILENCE_LABELS if isinstance(first.get(k), str)]
    return {
        "g": group,
        "alerts": alerts,
        "notes": [(n, tries[n.id], steps.get(n.step, "")) for n in notes],
        "links": list(dict.fromkeys(links)),
        "incident": session.get(Incident, group.incident_id) if group.incident_id else None,
        "deliveries": deliveries.for_subject(session, f"incidents:alert_group:{group.id}"),
        "severities": list(config.severities(session).values()),
        "silence_matchers": "\n".join(matchers),
        "silence_hours": SILENCE_HOURS,
    }


def _steps(snapshot: dict[str, Any] | None) -> dict[int, str]:
    """Whom each step of the group's escalation policy (as it was when the group opened) names."""
    if not snapshot:
        return {}
    out = {}
    for index, step in enumerate(EscalationPolicySpec.model_validate(snapshot["spec"]).steps):
        whom = [f"schedule {step.notify.schedule}"] if step.notify.schedule else []
        whom += list(step.notify.users) + ([f"team {step.notify.team}"] if step.notify.team else [])
        out[index] = ", ".join(whom)
    return out


@router.get("/alerts/{group_id}", response_class=HTMLResponse)
def alert(group_id: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    group = service.get_group(session, group_id)
    return render(request, "incidents/alert.html", _alert_context(session, group))


@router.post("/alerts/{group_id}/declare")
def declare_from_alert(  # noqa: PLR0917 - FastAPI passes form fields by name
    group_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    title: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    commander: Annotated[str, Form()] = "",
) -> Response:
    """Declare an incident from this alert group (which then links to it); an already linked group opens it."""
    group = service.get_group(session, group_id)
    authorize_for_team(who, group.team, "respond")
    if group.incident_id:
        return RedirectResponse(f"/incidents/{group.incident_id}", status_code=303)
    incident = response.declare(
        session,
        runtime,
        title=title.strip() or group.title,
        severity=severity or _severity_for(session, group.severity),
        group_id=group.id,
        commander=commander.strip() or None,
        actor=who.actor("ui"),
        now=runtime.now(),
    )
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


def _severity_for(session: Session, alert_severity: str) -> str:
    """An alert's own severity when it names a level (SEV2), else the least severe level that still pages."""
    levels = config.severities(session)
    if alert_severity in levels:
        return alert_severity
    paging = [s.name for s in levels.values() if s.page]
    return paging[-1] if paging else next(iter(levels))


@router.post("/alerts/{group_id}/silence")
def silence_alert(  # noqa: PLR0917 - FastAPI passes form fields by name
    group_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    matchers: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "2",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Silence alerts matching these labels (one matcher a line) for a few hours."""
    group = service.get_group(session, group_id)
    authorize_for_team(who, group.team, "respond")
    try:
        duration = timedelta(hours=float(hours))
    except (ValueError, OverflowError):
        raise InvalidInput(f"hours must be a number, not {hours[:50]!r}") from None
    if not timedelta(minutes=1) <= duration <= timedelta(days=30):
        raise InvalidInput("a silence from the alert page lasts between a minute and 30 days")
    now = runtime.now()
    silences.create_silence(
        session,
        matchers=[line.strip() for line in matchers.splitlines() if line.strip()],
        starts_at=now,
        ends_at=now + duration,
        comment=comment.strip() or f"silenced from the page of alert group {group.id}",
        actor=who.actor("ui"),
        now=now,
    )
    session.commit()
    return RedirectResponse(f"/alerts/{group.id}?silenced=1", status_code=303)


@router.post("/alerts/{group_id}/{action}", response_class=HTMLResponse)
def act(
    group_id: str,
    action: Literal["ack", "resolve"],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    who: Viewer,
    back: Annotated[str, Form()] = "",
) -> Response:
    """Ack or resolve: the list's htmx buttons get the row back, the alert page's forms (back=page) the page."""
    authorize_for_team(who, service.get_group(session, group_id).team, "respond")
    verb = service.acknowledge if action == "ack" else service.resolve
    group = verb(session, runtime, group_id=group_id, actor=who.actor("ui"), now=runtime.now())
    session.commit()
    if back == "page":
        return RedirectResponse(f"/alerts/{group.id}", status_code=303)
    return render(request, "incidents/_group_row.html", {"g": group})


ROLE_TITLES = {
    "commander": "Incident Commander",
    "deputy": "Deputy Incident Commander",
    "scribe": "Scribe",
    "communications": "Communications",
    "sme": "Subject-matter expert",
}
AUDIENCES = {"internal": "Internal", "external": "Customer-facing"}


def _people(session: Session) -> list[str]:
    return list(session.scalars(select(User.email).order_by(User.email)))


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    rows = session.scalars(select(Incident).order_by(Incident.number.desc()).limit(200)).all()
    ctx = {
        "incidents": rows,
        "severities": list(config.severities(session).values()),
        "services": [s.name for s in catalog.list_services(session)],
        "people": _people(session),
        "default_severity": _severity_for(session, ""),
    }
    return render(request, "incidents/incidents.html", ctx)


@router.post("/incidents")
def declare(  # noqa: PLR0917 - FastAPI passes form fields by name
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    title: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
    commander: Annotated[str, Form()] = "",
    summary: Annotated[str, Form()] = "",
) -> Response:
    """Declare an incident from scratch; a responder of the service's owner team may, as may org responders."""
    service_name = service.strip() or None
    if service_name is not None and service_name not in {s.name for s in catalog.list_services(session)}:
        raise InvalidInput(f"no service {service_name!r} in the catalog; pick one from the list or none")
    authorize_for_team(who, catalog.service_team(session, service_name) if service_name else None, "respond")
    incident = response.declare(
        session,
        runtime,
        title=title,
        severity=severity,
        service=service_name,
        commander=commander.strip() or None,
        summary=summary.strip(),
        actor=who.actor("ui"),
        now=runtime.now(),
    )
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


@router.get("/incidents/{ref}", response_class=HTMLResponse)
def incident(ref: str, request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    found = response.get(session, ref)
    items = response.full_timeline(session, found, now=runtime.now())
    sent = deliveries.for_subject(session, f"incidents:incident:{found.id}")
    if found.group_id:
        sent += deliveries.for_subject(session, f"incidents:alert_group:{found.group_id}")
    sent.sort(key=lambda d: (d.at, d.id), reverse=True)
    updates = session.scalars(
        select(IncidentEntry)
        .where(IncidentEntry.incident_id == found.id, IncidentEntry.kind == "update")
        .order_by(IncidentEntry.at.desc(), IncidentEntry.id.desc())
    ).all()
    ctx = {
        "i": found,
        "items": items,
        "deliveries": sent,
        "updates": updates,
        "severities": list(config.severities(session).values()),
        "statuses": response.STATUSES,
        "roles": ROLE_TITLES,
        "audiences": AUDIENCES,
        "people": _people(session),
        "group": session.get(AlertGroup, found.group_id) if found.group_id else None,
    }
    return render(request, "incidents/incident.html", ctx)


def _responder_of(session: Session, who: Principal, ref: str) -> Incident:
    """The incident, once the caller may respond to it (org-wide, or in the incident's team)."""
    found = response.get(session, ref)
    authorize_for_team(who, found.team, "respond")
    return found


def _back(session: Session, incident: Incident) -> RedirectResponse:
    """Commit the change, then show the incident again (post/redirect/get)."""
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


@router.post("/incidents/{ref}/severity")
def change_severity(
    ref: str, session: SessionDep, runtime: RuntimeDep, who: Viewer, severity: Annotated[str, Form()] = ""
) -> Response:
    found = _responder_of(session, who, ref)
    return _back(
        session,
        response.set_severity(
            session, runtime, ref=found.id, severity=severity, actor=who.actor("ui"), now=runtime.now()
        ),
    )


@router.post("/incidents/{ref}/roles")
def assign_role(  # noqa: PLR0917 - FastAPI passes form fields by name
    ref: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    role: Annotated[str, Form()] = "",
    user: Annotated[str, Form()] = "",
) -> Response:
    found = _responder_of(session, who, ref)
    if not user.strip():
        raise InvalidInput("name the person to assign: their email")
    return _back(
        session,
        response.assign_role(
            session, runtime, ref=found.id, role=role, user=user.strip(), actor=who.actor("ui"), now=runtime.now()
        ),
    )


@router.post("/incidents/{ref}/updates")
def post_update(  # noqa: PLR0917 - FastAPI passes form fields by name
    ref: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    text: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    audience: Annotated[str, Form()] = "internal",
) -> Response:
    found = _responder_of(session, who, ref)
    if not text.strip():
        raise InvalidInput("a status update needs some text")
    updated = response.post_update(
        session,
        runtime,
        ref=found.id,
        text=text.strip(),
        status=status or None,
        audience=audience,
        actor=who.actor("ui"),
        now=runtime.now(),
    )
    return _back(session, updated)


@router.post("/incidents/{ref}/notes")
def add_note(
    ref: str, session: SessionDep, runtime: RuntimeDep, who: Viewer, text: Annotated[str, Form()] = ""
) -> Response:
    found = _responder_of(session, who, ref)
    if not text.strip():
        raise InvalidInput("a note needs some text")
    return _back(
        session, response.add_note(session, ref=found.id, text=text.strip(), actor=who.actor("ui"), now=runtime.now())
    )


@router.post("/incidents/{ref}/resolve")
def resolve_incident(
    ref: str, session: SessionDep, runtime: RuntimeDep, who: Viewer, text: Annotated[str, Form()] = ""
) -> Response:
    """Resolve with a closing update (internal); a severity that needs a postmortem gets its draft now."""
    found = _responder_of(session, who, ref)
    if found.status == "resolved":
        return _back(session, found)
    closing = text.strip() or "Resolved."
    return _back(
        session,
        response.post_update(
            session, runtime, ref=found.id, text=closing, status="resolved", actor=who.actor("ui"), now=runtime.now()
        ),
    )


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
