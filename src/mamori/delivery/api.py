"""HTTP API of the delivery domain: per-service measures, deploys, and the generic record endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from mamori.delivery import kinds
from mamori.delivery.models import DeliveryDeploy
from mamori.delivery.schemas import BuildIn, DeployIn, DeployOut, MeasuresOut, RecordedOut, StepIn, measures_out
from mamori.delivery.service import generic, measures
from mamori.web.deps import Ingester, Reader, RuntimeDep, SessionDep

router = APIRouter(prefix="/delivery", tags=["delivery"])


@router.get("/services/{service}/measures", response_model=MeasuresOut)
def service_measures(
    service: str,
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    days: Annotated[
        int | None, Query(ge=1, le=366, description="the window; the policy's windowDays by default")
    ] = None,
) -> MeasuresOut:
    """DORA's five with their bands, and pull request phases, over the last `days`."""
    policy = kinds.policy(session)
    end = runtime.now()
    start = end - timedelta(days=days or policy.window_days)
    return measures_out(measures.measure(session, service=service, start=start, end=end, policy=policy))


@router.get("/deploys", response_model=list[DeployOut])
def list_deploys(
    _: Reader,
    session: SessionDep,
    service: str | None = None,
    environment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[DeployOut]:
    query = select(DeliveryDeploy).order_by(DeliveryDeploy.created_at.desc()).limit(limit)
    if service:
        query = query.where(DeliveryDeploy.service == service)
    if environment:
        query = query.where(DeliveryDeploy.environment == environment)
    return [DeployOut.model_validate(row, from_attributes=True) for row in session.scalars(query)]


@router.post("/deploys", response_model=RecordedOut, status_code=201)
def record_deploy(body: DeployIn, _: Ingester, session: SessionDep, runtime: RuntimeDep) -> RecordedOut:
    row, new = generic.record_deploy(session, bus=runtime.bus, body=body, now=runtime.now())
    session.commit()
    return RecordedOut(status="stored" if new else "duplicate", id=row.id)


@router.post("/builds", response_model=RecordedOut, status_code=201)
def record_build(body: BuildIn, _: Ingester, session: SessionDep, runtime: RuntimeDep) -> RecordedOut:
    row = generic.record_build(session, bus=runtime.bus, body=body, now=runtime.now())
    session.commit()
    return RecordedOut(status="stored", id=row.id)


@router.post("/steps", response_model=RecordedOut, status_code=201)
def record_step(body: StepIn, _: Ingester, session: SessionDep, runtime: RuntimeDep) -> RecordedOut:
    row = generic.record_step(session, bus=runtime.bus, body=body, now=runtime.now())
    session.commit()
    return RecordedOut(status="stored", id=str(row.id))
