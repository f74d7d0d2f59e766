"""A postmortem's action items in the dashboard: list them, add one (title, owner, due date), mark it done,
and file it to Jira or GitHub (the filing is a durable job: `response/actions.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import MamoriError, NotFound
from mamori.incidents.models import ActionItem, Incident
from mamori.incidents.pages.routing import Responder, router
from mamori.incidents.response import actions
from mamori.incidents.response import service as response
from mamori.integrations.tickets import TRACKERS
from mamori.web.deps import RuntimeDep, SessionDep
from mamori.web.forms import form_day
from mamori.web.templating import render


def items_of(session: Session, incident: Incident) -> list[ActionItem]:
    query = select(ActionItem).where(ActionItem.incident_id == incident.id).order_by(ActionItem.created_at)
    return list(session.scalars(query))


def context(session: Session, incident: Incident) -> dict[str, Any]:
    """What the postmortem page needs to show and edit the incident's action items."""
    return {"action_items": items_of(session, incident), "trackers": TRACKERS}


def _again(request: Request, session: Session, incident: Incident, error: str) -> Response:
    """The postmortem page again with the error, nothing of the failed change kept."""
    session.rollback()
    pm = response.postmortem_of(session, incident)
    body = pm.body if pm is not None else ""
    ctx = {"i": incident, "pm": pm, "body": body, "statuses": response.POSTMORTEM_STATUSES, "error": error}
    return render(request, "incidents/postmortem.html", {**ctx, **context(session, incident)}, status_code=422)


def _done(session: Session, incident: Incident) -> Response:
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}/postmortem#action-items", status_code=303)


@router.post("/incidents/{ref}/action-items", response_class=HTMLResponse)
def add_item(  # noqa: PLR0917 - FastAPI passes form fields by name
    ref: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    _: Responder,
    title: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
) -> Response:
    incident = response.get(session, ref)
    if not title.strip():
        return _again(request, session, incident, "action item: a title is needed")
    try:
        day = form_day(due)
    except ValueError:
        return _again(request, session, incident, f"action item due date: not a date: {due!r}")
    response.add_action_item(
        session, ref=incident.id, title=title.strip()[:500], owner=owner.strip() or None, due_at=day, now=runtime.now()
    )
    return _done(session, incident)


@router.post("/incidents/{ref}/action-items/{item_id}/file", response_class=HTMLResponse)
def file_item(  # noqa: PLR0917 - FastAPI passes form fields by name
    ref: str,
    item_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Responder,
    tracker: Annotated[str, Form()] = "jira",
    target: Annotated[str, Form()] = "",
) -> Response:
    incident = response.get(session, ref)
    try:
        actions.file_item(
            session,
            runtime,
            item_id=_item_of(session, incident, item_id).id,
            tracker_name=tracker,
            target=target.strip() or None,
            actor=who.actor("ui"),
            now=runtime.now(),
        )
    except MamoriError as exc:
        return _again(request, session, incident, f"filing the action item: {exc.detail}")
    return _done(session, incident)


@router.post("/incidents/{ref}/action-items/{item_id}/done", response_class=HTMLResponse)
def complete_item(ref: str, item_id: str, session: SessionDep, runtime: RuntimeDep, _: Responder) -> Response:
    incident = response.get(session, ref)
    response.complete_action_item(session, item_id=_item_of(session, incident, item_id).id, now=runtime.now())
    return _done(session, incident)


def _item_of(session: Session, incident: Incident, item_id: str) -> ActionItem:
    item = actions.get_item(session, item_id)
    if item.incident_id != incident.id:
        raise NotFound(f"no action item {item_id!r} on incident #{incident.number}")
    return item
