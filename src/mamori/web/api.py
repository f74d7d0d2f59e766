"""The core HTTP API: who am I, users, teams, services, tokens, audit log, timeline, jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from mamori.core import audit, auth, catalog, deliveries, jobs, reliability, timeline
from mamori.core.clock import utc
from mamori.core.errors import NotFound, ValidationFailed
from mamori.core.models import ApiToken, Service, Team
from mamori.core.runtime import Runtime
from mamori.web.deps import Admin, Reader, RuntimeDep, SessionDep, Writer
from mamori.web.schemas import (
    AuditOut,
    IssuedTokenOut,
    JobOut,
    ReliabilityOut,
    ServiceOut,
    TeamOut,
    TimelineIn,
    TimelineOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)

router = APIRouter(tags=["core"])


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@router.get("/me", response_model=UserOut | None)
def me(principal: Reader) -> object:
    return principal.user


@router.get("/users", response_model=list[UserOut])
def list_users(_: Reader, session: SessionDep) -> object:
    return catalog.list_users(session)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, principal: Admin, session: SessionDep, runtime: RuntimeDep) -> object:
    user = auth.create_user(
        session,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        time_zone=catalog.check_time_zone(body.time_zone),
        now=runtime.now(),
        actor=principal.actor(),
    )
    session.commit()
    return user


def _team_out(team: Team) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        display_name=team.display_name,
        slack_channel=team.slack_channel,
        members=[{"email": m.user.email, "role": m.role} for m in team.memberships],
    )


@router.get("/teams", response_model=list[TeamOut])
def list_teams(_: Reader, session: SessionDep) -> object:
    return [_team_out(t) for t in catalog.list_teams(session)]


def service_out(session: Session, runtime: Runtime, service: Service, slots: dict[str, dict[str, str]]) -> ServiceOut:
    return ServiceOut(
        name=service.name,
        display_name=service.display_name,
        description=service.description,
        owner=service.owner_team.name if service.owner_team else None,
        tier=service.tier,
        repository=service.repository,
        links=service.links,
        slots={key: values.get(service.name, "") for key, values in slots.items()},
    )


def catalog_slots(session: Session, runtime: Runtime, names: list[str]) -> dict[str, dict[str, str]]:
    """Each domain's slot values for the given services, keyed by slot."""
    now = runtime.now()
    return {
        slot.key: slot.render(session, names, now)
        for plugin in runtime.plugins
        for slot in sorted(plugin.slots, key=lambda s: s.order)
    }


@router.get("/services", response_model=list[ServiceOut])
def list_services(_: Reader, session: SessionDep, runtime: RuntimeDep) -> object:
    services = catalog.list_services(session)
    slots = catalog_slots(session, runtime, [s.name for s in services])
    return [service_out(session, runtime, s, slots) for s in services]


@router.get("/services/{name}", response_model=ServiceOut)
def get_service(name: str, _: Reader, session: SessionDep, runtime: RuntimeDep) -> object:
    service = catalog.get_service(session, name)
    return service_out(session, runtime, service, catalog_slots(session, runtime, [name]))


@router.get("/services/{name}/reliability", response_model=ReliabilityOut)
def get_service_reliability(name: str, _: Reader, session: SessionDep, runtime: RuntimeDep) -> object:
    """Where the service stands in the Service Reliability Hierarchy, each domain's signals with their evidence."""
    catalog.get_service(session, name)
    return reliability.standings(runtime, session, [name])[name].as_json()


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(principal: Reader, session: SessionDep) -> object:
    return auth.list_tokens(session, user=None if principal.allows("admin") else principal.user)


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
def create_token(body: TokenIn, principal: Admin, session: SessionDep, runtime: RuntimeDep) -> object:
    issued = auth.create_token(
        session,
        user=principal.user,
        scopes=body.scopes,
        name=body.name,
        environment=body.environment,
        expires_in=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
        now=runtime.now(),
        actor=principal.actor(),
    )
    session.commit()
    return IssuedTokenOut(**TokenOut.model_validate(issued.token).model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: str, principal: Admin, session: SessionDep, runtime: RuntimeDep) -> ApiToken:
    token = auth.revoke_token(session, token_id=token_id, now=runtime.now(), actor=principal.actor())
    session.commit()
    return token


@router.get("/audit", response_model=list[AuditOut])
def list_audit(
    *,
    _: Reader,
    session: SessionDep,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> object:
    if source is not None and source not in audit.SOURCES:
        raise ValidationFailed(f"unknown source {source!r}; expected one of {', '.join(audit.SOURCES)}")
    return audit.list_entries(
        session,
        object_type=object_type,
        object_id=object_id,
        actor=actor,
        source=source,
        since=utc(since) if since else None,
        until=utc(until) if until else None,
        limit=limit,
    )


@router.get("/timeline", response_model=list[TimelineOut])
def list_timeline(
    *,
    _: Reader,
    session: SessionDep,
    service: str | None = Query(default=None, description="comma-separated service names"),
    kind: str | None = Query(default=None, description="comma-separated kinds"),
    team: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=500, ge=1, le=5000),
) -> object:
    return timeline.list_events(
        session,
        services=_csv(service),
        kinds=_csv(kind),
        team=team,
        since=utc(since) if since else None,
        until=utc(until) if until else None,
        limit=limit,
    )


@router.post("/timeline", response_model=TimelineOut, status_code=201)
def add_timeline_event(body: TimelineIn, principal: Writer, session: SessionDep, runtime: RuntimeDep) -> object:
    if body.service is not None:
        catalog.get_service(session, body.service)
    event = timeline.record(
        session,
        at=utc(body.at) if body.at else runtime.now(),
        kind=body.kind,
        source="api",
        title=body.title,
        service=body.service,
        team=catalog.service_team(session, body.service) if body.service else None,
        data={**body.data, "by": principal.name},
    )
    session.commit()
    return event


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(_: Admin, session: SessionDep, status: str | None = None, kind: str | None = None) -> object:
    return jobs.list_jobs(session, status=status, kind=kind)


@router.post("/jobs/{job_id}/retry", response_model=dict[str, bool])
def retry_job(job_id: int, principal: Admin, session: SessionDep, runtime: RuntimeDep) -> dict[str, bool]:
    if not jobs.retry(session, job_id=job_id, now=runtime.now(), actor=principal.actor()):
        raise NotFound(f"no failed job {job_id}")
    session.commit()
    return {"requeued": True}


class DeliveryOut(BaseModel):
    """One outbound attempt: what, on which channel, to whom, when, and whether it was delivered."""

    at: datetime
    source: str
    kind: str
    channel: str
    target: str
    subject: str
    ok: bool
    detail: str
    attempt: int


@router.get("/deliveries", response_model=list[DeliveryOut])
def list_deliveries(  # noqa: PLR0917 - FastAPI passes query parameters by name
    _: Reader,
    session: SessionDep,
    source: str | None = None,
    kind: str | None = None,
    ok: bool | None = None,
    subject: Annotated[str | None, Query(description="a subject or a prefix, e.g. incidents:alert_group:")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> object:
    """The delivery log, newest first."""
    rows = deliveries.search(session, source=source, kind=kind, ok=ok, subject=subject, limit=limit)
    return [DeliveryOut.model_validate(row, from_attributes=True) for row in rows]
