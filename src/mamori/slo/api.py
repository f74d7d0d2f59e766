"""HTTP API of the slo domain: event ingest, SLO status and alerts, the deploy gate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from mamori.core.catalog import service_team
from mamori.core.errors import InvalidInput, NotFound
from mamori.slo import service
from mamori.slo.models import SloFreeze
from mamori.slo.schemas import (
    DeployFrozen,
    DeployGate,
    FreezeBypassIn,
    FreezeLiftIn,
    FreezeOut,
    IngestSummary,
    OtlpExportResponse,
    PolicyActionOut,
    SloAlertOut,
    SloResult,
)
from mamori.slo.service import enforcement, freezes
from mamori.web.deps import Ingester, Principal, Reader, RuntimeDep, SessionDep, authorize_for_team
from mamori.web.problem import PROBLEM_TYPE

router = APIRouter(tags=["slo"])


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of an answer given as `responses=` content; the models it refers to are components
    already (they are in a route's response model)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


@router.post("/ingest/events", response_model=IngestSummary)
async def ingest_events(
    request: Request, principal: Ingester, session: SessionDep, runtime: RuntimeDep
) -> IngestSummary:
    """Count a batch of NDJSON request events (gzip accepted) into the SLO buckets; all or nothing."""
    data = await request.body()
    plans = runtime.state(service.Plans)
    summary = await run_in_threadpool(_committed, service.ingest, session, data=data, source="body", plans=plans)
    return IngestSummary(**summary)


def _committed(use_case: Callable[..., dict[str, Any]], session: Session, **kwargs: Any) -> dict[str, Any]:
    """Run an ingest use case and commit, in the threadpool: the database is blocking, and the event loop
    must keep serving other requests while a batch is counted (or waits for SQLite's write lock)."""
    summary = use_case(session, **kwargs)
    session.commit()
    return summary


@router.post("/ingest/otlp/v1/logs", response_model=OtlpExportResponse)
async def ingest_otlp_logs(
    request: Request, principal: Ingester, session: SessionDep, runtime: RuntimeDep
) -> JSONResponse:
    """OTLP/HTTP JSON logs (an ExportLogsServiceRequest); each log record is one request event."""
    return await _otlp(request, session, runtime.state(service.Plans), "logs")


@router.post("/ingest/otlp/v1/traces", response_model=OtlpExportResponse)
async def ingest_otlp_traces(
    request: Request, principal: Ingester, session: SessionDep, runtime: RuntimeDep
) -> JSONResponse:
    """OTLP/HTTP JSON traces (an ExportTraceServiceRequest); each span is one request event."""
    return await _otlp(request, session, runtime.state(service.Plans), "traces")


async def _otlp(request: Request, session: Session, plans: service.Plans, signal: str) -> JSONResponse:
    if "protobuf" in request.headers.get("content-type", ""):
        raise InvalidInput("OTLP protobuf is not accepted; send OTLP/HTTP JSON (Content-Type: application/json)")
    data = await request.body()
    summary = await run_in_threadpool(_committed, service.ingest_otlp, session, data=data, signal=signal, plans=plans)
    # The body is an (empty) Export*ServiceResponse, as OTLP exporters expect; the counts go in a header.
    return JSONResponse({}, headers={"X-Mamori-Counted": f"{summary['counted']}/{summary['events']}"})


# Stored evaluations are answered as they were stored: keys they do not have are left out, not set to null.
@router.get("/slos", response_model=list[SloResult], response_model_exclude_unset=True)
def list_slos(_: Reader, session: SessionDep) -> list[SloResult]:
    """The latest evaluation of every SLO objective."""
    return [SloResult.model_validate(row.result) for row in service.list_status(session)]


@router.get("/slos/{name}", response_model=list[SloResult], response_model_exclude_unset=True)
def get_slo(name: str, _: Reader, session: SessionDep) -> list[SloResult]:
    """The latest evaluation of each objective of one SLO (404 before its first evaluation)."""
    return [SloResult.model_validate(row.result) for row in service.get_status(session, slo=name)]


@router.get("/slo-alerts", response_model=list[SloAlertOut])
def list_alerts(_: Reader, session: SessionDep, status: str | None = None) -> list[SloAlertOut]:
    """Burn alerts, newest first; `status=firing` or `status=resolved` to filter."""
    return [
        SloAlertOut(
            id=a.id,
            slo=a.slo,
            objective=a.objective,
            service=a.service,
            severity=a.severity,
            long_window=a.long_window,
            short_window=a.short_window,
            threshold=a.threshold,
            burn_rate=a.burn_rate,
            status=a.status,
            started_at=a.started_at.isoformat(),
            resolved_at=a.resolved_at.isoformat() if a.resolved_at else None,
        )
        for a in service.list_alerts(session, status=status)
    ]


@router.get(
    "/gates/deploy",
    response_model=DeployGate,
    responses={
        423: {
            "content": {PROBLEM_TYPE: {"schema": _inline_schema(DeployFrozen)}},
            "description": "Releases of the service are frozen (problem JSON).",
        },
        404: {"description": "Neither the catalog nor any SLO knows the service (problem JSON)."},
    },
)
def deploy_gate(service: str, _: Reader, session: SessionDep, runtime: RuntimeDep) -> DeployGate | JSONResponse:
    """200 when `service` may deploy (with `detail` "allowed: bypass by X until T: reason" while a person bypassed
    the freeze; each such answer counts one deploy of the bypass); 423 with the reasons and since when while an
    error-budget policy froze it; 404 for a service neither the catalog nor any SLO knows (a typo must not let a
    deploy through unchecked)."""
    gate = enforcement.deploy_gate(session, service=service, now=runtime.now(), count=True)
    if gate["allowed"]:
        session.commit()  # the bypass's deploy count
        return DeployGate.model_validate(gate)
    body = {
        "type": "about:blank",
        "title": "Locked",
        "status": 423,
        **gate,
        "detail": f"releases of {service} are frozen since {gate['since']}",
    }
    return JSONResponse(body, status_code=423, media_type=PROBLEM_TYPE)


def _freeze_out(view: freezes.FreezeView) -> FreezeOut:
    return FreezeOut.model_validate(view.as_json())


@router.get("/slo-freezes", response_model=list[FreezeOut])
def list_freezes(_: Reader, session: SessionDep, runtime: RuntimeDep, service: str | None = None) -> list[FreezeOut]:
    """Release freezes still holding (of one service with `service=`), with their cause and usable bypass."""
    return [_freeze_out(v) for v in freezes.active(session, now=runtime.now(), service=service)]


def authorize(principal: Principal, session: Session, freeze_id: int, scope: str) -> None:
    """Lifting a freeze needs `write` (an editor), bypassing it `respond` (a responder), in the organisation or in
    the service's owner team; a viewer can do neither."""
    freeze = session.get(SloFreeze, freeze_id)
    if freeze is None:
        raise NotFound(f"no release freeze {freeze_id}")
    authorize_for_team(principal, service_team(session, freeze.service), scope)


@router.post("/slo-freezes/{freeze_id}/lift", response_model=FreezeOut)
def lift_freeze(
    freeze_id: int, body: FreezeLiftIn, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> FreezeOut:
    """End a release freeze now, with a reason (audited, on the timeline); 409 when it already ended."""
    authorize(principal, session, freeze_id, "write")
    now = runtime.now()
    before = next((v for v in freezes.active(session, now=now) if v.id == freeze_id), None)
    freeze = freezes.lift(
        session, runtime.bus, freeze_id=freeze_id, actor=principal.actor("api"), reason=body.reason, now=now
    )
    out = FreezeOut(
        id=freeze.id,
        service=freeze.service,
        reason=freeze.reason,
        since=freeze.since.isoformat(),
        slo=before.slo if before else None,
        bypass=None,
        lifted_by=freeze.lifted_by,
        lift_reason=freeze.lift_reason,
    )
    session.commit()
    return out


@router.post("/slo-freezes/{freeze_id}/bypass", response_model=FreezeOut, status_code=201)
def bypass_freeze(
    freeze_id: int, body: FreezeBypassIn, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> FreezeOut:
    """Let deploys through a freeze for `expires_in_minutes` (and `max_deploys` deploys when given), with a
    reason; the deploy gate then answers "allowed: bypass by X until T: reason"."""
    authorize(principal, session, freeze_id, "respond")
    now = runtime.now()
    freezes.bypass(
        session,
        freeze_id=freeze_id,
        actor=principal.actor("api"),
        reason=body.reason,
        expires_in=timedelta(minutes=body.expires_in_minutes),
        max_deploys=body.max_deploys,
        now=now,
    )
    view = next(v for v in freezes.active(session, now=now) if v.id == freeze_id)
    session.commit()
    return _freeze_out(view)


@router.get("/slo-policy-actions", response_model=list[PolicyActionOut])
def list_policy_actions(_: Reader, session: SessionDep, slo: str | None = None) -> list[PolicyActionOut]:
    """Error-budget policy actions, newest first (of one SLO with `slo=`), with their outcome or error."""
    return [
        PolicyActionOut(
            id=a.id,
            policy=e.policy,
            rule=e.rule,
            slo=e.slo,
            service=e.service,
            episode=e.id,
            episode_status=e.status,
            type=a.type,
            status=a.status,
            outcome=a.outcome,
            error=a.error,
        )
        for e, a in enforcement.list_actions(session, slo=slo)
    ]
