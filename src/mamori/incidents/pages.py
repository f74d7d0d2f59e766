"""Dashboard pages: alert groups with Ack/Resolve (htmx), incidents, and who is on call now and next."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from mamori.incidents import response, service, views
from mamori.incidents.models import Incident
from mamori.web.deps import Principal, RuntimeDep, SessionDep, require
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
    who: Responder,
) -> HTMLResponse:
    verb = service.acknowledge if action == "ack" else service.resolve
    group = verb(session, group_id=group_id, actor=who.actor("ui"), now=runtime.now())
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
    return render(request, "incidents/incident.html", {"i": found, "items": items})


@router.get("/oncall", response_class=HTMLResponse)
def oncall(request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    return render(request, "incidents/oncall.html", {"rows": views.on_call(session, now=runtime.now())})
