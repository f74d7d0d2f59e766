"""HTTP API of the slo domain: event ingest, SLO status and alerts, the deploy gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.slo import service
from mamori.slo.schemas import (
    DeployFrozen,
    DeployGate,
    IngestSummary,
    OtlpExportResponse,
    PolicyActionOut,
    SloAlertOut,
    SloResult,
)
from mamori.slo.service import enforcement
from mamori.web.deps import Ingester, Reader, RuntimeDep, SessionDep
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
def deploy_gate(service: str, _: Reader, session: SessionDep) -> DeployGate | JSONResponse:
    """200 when `service` may deploy; 423 with the reasons and since when while an error-budget policy froze it;
    404 for a service neither the catalog nor any SLO knows (a typo must not let a deploy through unchecked)."""
    gate = enforcement.deploy_gate(session, service=service)
    if gate["allowed"]:
        return DeployGate.model_validate(gate)
    body = {
        "type": "about:blank",
        "title": "Locked",
        "status": 423,
        "detail": f"releases of {service} are frozen since {gate['since']}",
        **gate,
    }
    return JSONResponse(body, status_code=423, media_type=PROBLEM_TYPE)


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
