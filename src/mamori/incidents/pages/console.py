"""The incident console: the incidents list with a declare form, an incident's page and its forms (severity,
roles, status updates, notes, resolve), each posting to a page route; the postmortem editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import catalog, deliveries
from mamori.core.errors import InvalidInput, NotFound, ValidationFailed
from mamori.core.models import User
from mamori.incidents.kinds import stored as config
from mamori.incidents.models import AlertGroup, Incident, IncidentEntry
from mamori.incidents.pages import action_items
from mamori.incidents.pages.routing import Responder, Viewer, router
from mamori.incidents.response import service as response
from mamori.web import markdown
from mamori.web.deps import Principal, RuntimeDep, SessionDep, authorize_for_team
from mamori.web.templating import render

ROLE_TITLES = {
    "commander": "Incident Commander",
    "deputy": "Deputy Incident Commander",
    "scribe": "Scribe",
    "communications": "Communications",
    "sme": "Subject-matter expert",
}
AUDIENCES = {"internal": "Internal", "external": "Customer-facing"}


def severity_for(session: Session, alert_severity: str) -> str:
    """An alert's own severity when it names a level (SEV2), else the least severe level that still pages."""
    levels = config.severities(session)
    if alert_severity in levels:
        return alert_severity
    paging = [s.name for s in levels.values() if s.page]
    return paging[-1] if paging else next(iter(levels))


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
        "default_severity": severity_for(session, ""),
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


@router.get("/incidents/severities", response_class=HTMLResponse)
def severity_levels(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    """Each severity level on a page of its own (before `/incidents/{ref}`, which would take the path)."""
    return render(request, "incidents/severities.html", {"severities": list(config.severities(session).values())})


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


@router.get("/incidents/{ref}/postmortem", response_class=HTMLResponse)
def postmortem_editor(ref: str, request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    incident = response.get(session, ref)
    pm = response.postmortem_of(session, incident)
    body = pm.body if pm is not None else response.render_template(session, incident, now=runtime.now())
    ctx = {"i": incident, "pm": pm, "body": body, "statuses": response.POSTMORTEM_STATUSES, "error": None}
    return render(request, "incidents/postmortem.html", {**ctx, **action_items.context(session, incident)})


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
            **action_items.context(session, incident),
        }
        return render(request, "incidents/postmortem.html", ctx, status_code=422)
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}/postmortem?saved=1", status_code=303)


@router.post("/incidents/{ref}/postmortem/preview", response_class=HTMLResponse)
def preview_postmortem(
    ref: str, request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer, body: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """The editor's live preview: the Markdown as the page would show it (a fragment; nothing is saved). Without
    script, the editor's Preview button posts here and gets the editor back with the preview filled in."""
    if request.headers.get("x-preview") == "fragment":
        return HTMLResponse(markdown.to_html(body))
    incident = response.get(session, ref)
    ctx = {
        "i": incident,
        "pm": response.postmortem_of(session, incident),
        "body": body,
        "statuses": response.POSTMORTEM_STATUSES,
        "error": None,
        **action_items.context(session, incident),
    }
    return render(request, "incidents/postmortem.html", ctx)


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
