"""HTTP API of the findings domain: imports (push), the queue with filters, one finding, triage, counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from mamori.core import jobs
from mamori.findings import vex
from mamori.findings.schemas import FindingOut, ImportOut, TriageIn, WriteBackIn, WriteBackOut, finding_out, import_out
from mamori.findings.service import intake, queries, triage, writeback
from mamori.findings.service.queries import Filters
from mamori.web.deps import Reader, RuntimeDep, SessionDep, Writer

router = APIRouter(prefix="/findings", tags=["findings"])


@router.post("/imports", response_model=ImportOut)
async def import_document(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    principal: Writer,
    runtime: RuntimeDep,
    format: str | None = None,
    name: str = "",
    repository: str = "",
) -> dict[str, Any]:
    """Import a document (ASFF, OCSF, Prowler CSV or v3 JSON, GuardDuty or Config events, Dependabot alerts,
    `snyk test --json`);
    bad records are listed in `problems` and the good ones are stored."""
    payload = await request.body()
    actor = principal.actor().name

    def work() -> dict[str, Any]:
        with intake.concurrent_changes_refused(), runtime.sessions.begin() as session:
            report = intake.import_payload(
                session,
                payload=payload,
                now=runtime.now(),
                actor=actor,
                fmt=format,
                name=name,
                bus=runtime.bus,
                repository=repository,
            )
            return import_out(report)

    return await run_in_threadpool(work)


@router.get("", response_model=list[FindingOut], response_model_exclude_none=True)
def list_findings(  # noqa: PLR0917 - FastAPI passes query parameters by name
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    tool: str | None = None,
    account: str | None = None,
    service: str | None = None,
    severity: str | None = None,
    state: str = "open",
    sla: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    flt = Filters(tool=tool, account=account, service=service, severity=severity, state=state, sla=sla, kind=kind)
    return [finding_out(f) for f in queries.list_findings(session, filters=flt, now=runtime.now(), limit=limit)]


@router.get("/counts", response_model=dict[str, Any])
def counts(_: Reader, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Open findings per service and team, by priority, with overdue and due-soon counts."""
    return queries.counts(session, now=runtime.now())


@router.get("/vex", response_model=dict[str, Any], responses={200: {"description": "an OpenVEX 0.2.0 document"}})
def export_vex(
    principal: Reader, session: SessionDep, runtime: RuntimeDep, service: str | None = None
) -> dict[str, Any]:
    """The decisions on package findings (dependencies and image vulnerabilities) as OpenVEX statements."""
    rows = queries.list_findings(
        session, filters=Filters(state="all", service=service), now=runtime.now(), limit=100_000
    )
    return vex.document(rows, author=principal.name, now=runtime.now())


@router.get("/{finding_id}", response_model=FindingOut, response_model_exclude_none=True)
def get_finding(finding_id: str, _: Reader, session: SessionDep) -> dict[str, Any]:
    f = triage.get_finding(session, finding_id)
    return finding_out(f, history=queries.history(session, f.id), detail=True)


@router.post("/{finding_id}/triage", response_model=FindingOut, response_model_exclude_none=True)
def triage_finding(
    finding_id: str, body: TriageIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    f = triage.triage(
        session,
        finding_id=finding_id,
        actor=principal.actor(),
        now=runtime.now(),
        state=body.state,
        justification=body.justification,
        accepted_until=body.accepted_until,
        assignee=body.assignee,
        comment=body.comment,
        expected_version=body.expected_version,
    )
    out = finding_out(f, history=queries.history(session, f.id), detail=True)
    session.commit()
    return out


@router.post("/{finding_id}/writeback", status_code=202, response_model=WriteBackOut)
def write_back(
    finding_id: str, body: WriteBackIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Queue the Security Hub update (BatchUpdateFindings) of this finding's records; the status defaults to
    the one that says the same as the triage state."""
    f, status = writeback.plan(session, finding_id=finding_id, status=body.status)
    note = body.note or f"Mamori triage: {f.state}"
    requests = writeback.requests_for(f, status=status, note=note, actor=principal.name)
    payload = writeback.WriteBackPayload(finding_id=f.id, status=status, note=note, actor=principal.name)
    job = jobs.enqueue(session, kind=writeback.WRITE_BACK_JOB, now=runtime.now(), payload=payload)
    session.commit()
    return {
        "job_id": job.id,
        "status": status,
        "requests": [{"region": r, "path": p, "body": b} for r, p, b in requests],
    }
