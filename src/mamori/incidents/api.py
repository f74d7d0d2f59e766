"""HTTP API edge for alert groups, silences and incidents (mounted under /api/v1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from mamori.core.clock import utc
from mamori.core.errors import NotFound
from mamori.incidents import response, service
from mamori.incidents.models import Postmortem
from mamori.incidents.schemas import DeclareIn, GroupOut, IncidentOut, NoteIn, RoleIn, SilenceIn, UpdateIn
from mamori.web.deps import Reader, Responder, RuntimeDep, SessionDep

router = APIRouter(tags=["incidents"])


@router.get("/alert-groups", response_model=list[GroupOut])
def list_groups(session: SessionDep, _: Reader, status: str | None = None) -> Any:
    return service.list_groups(session, status=status)


@router.post("/alert-groups/{group_id}/acknowledge", response_model=GroupOut)
def acknowledge(group_id: str, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    group = service.acknowledge(session, group_id=group_id, actor=who.actor(), now=runtime.now())
    session.commit()
    return group


@router.post("/alert-groups/{group_id}/resolve", response_model=GroupOut)
def resolve(group_id: str, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    group = service.resolve(session, group_id=group_id, actor=who.actor(), now=runtime.now())
    session.commit()
    return group


@router.post("/silences", status_code=201)
def create_silence(body: SilenceIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> dict[str, str]:
    now = runtime.now()
    silence = service.create_silence(
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


@router.get("/incidents/{ref}/timeline")
def incident_timeline(ref: str, session: SessionDep, runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    items = response.full_timeline(session, response.get(session, ref), now=runtime.now())
    return [{"at": i.at, "kind": i.kind, "text": i.text, "actor": i.actor} for i in items]


@router.post("/incidents/{ref}/updates", response_model=IncidentOut)
def post_update(ref: str, body: UpdateIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.post_update(
        session,
        ref=ref,
        text=body.text,
        status=body.status,
        audience=body.audience,
        actor=who.actor(),
        now=runtime.now(),
    )
    session.commit()
    return incident


@router.post("/incidents/{ref}/roles", response_model=IncidentOut)
def assign_role(ref: str, body: RoleIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.assign_role(
        session, ref=ref, role=body.role, user=body.user, actor=who.actor(), now=runtime.now()
    )
    session.commit()
    return incident


@router.post("/incidents/{ref}/notes", response_model=IncidentOut)
def add_note(ref: str, body: NoteIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    incident = response.add_note(session, ref=ref, text=body.text, actor=who.actor(), now=runtime.now())
    session.commit()
    return incident


@router.get("/incidents/{ref}/postmortem")
def get_postmortem(ref: str, session: SessionDep, _: Reader) -> dict[str, Any]:
    incident = response.get(session, ref)
    pm = session.scalar(select(Postmortem).where(Postmortem.incident_id == incident.id))
    if pm is None:
        raise NotFound(f"incident #{incident.number} has no postmortem yet")
    return {"status": pm.status, "due_at": pm.due_at, "markdown": pm.body}
