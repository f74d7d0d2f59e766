"""Dashboard pages of the findings domain: the queue across all sources with filters, one finding with each
tool's raw record and its history, counts and SLA per service and team, and what changed this week."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.core.errors import MamoriError
from mamori.findings.service import queries, triage
from mamori.findings.service.queries import Filters
from mamori.findings.states import JUSTIFICATIONS, STATES
from mamori.web.deps import Principal, RuntimeDep, SessionDep, Writer, require
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]
QUEUE_STATES = queries.QUEUE_STATES


@router.get("/findings", response_class=HTMLResponse)
def queue(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    _: Viewer,
    state: str = "open",
    tool: str = "",
    account: str = "",
    service: str = "",
    severity: str = "",
    sla: str = "",
) -> HTMLResponse:
    flt = Filters(
        tool=tool or None,
        account=account or None,
        service=service or None,
        severity=severity or None,
        state=state or "open",
        sla=sla or None,
    )
    now = runtime.now()
    return render(
        request,
        "findings/queue.html",
        {
            "findings": queries.list_findings(session, filters=flt, now=now),
            "f": flt,
            "states": QUEUE_STATES,
            "counts": queries.counts(session, now=now),
            "now": now,
        },
    )


@router.get("/findings/changes", response_class=HTMLResponse)
def changes(request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer, days: int = 7) -> HTMLResponse:
    since = runtime.now() - timedelta(days=max(1, min(days, 90)))
    return render(request, "findings/changes.html", {"c": queries.changes_since(session, since=since), "days": days})


def _detail(request: Request, session: SessionDep, finding_id: str, error: str | None = None) -> HTMLResponse:
    f = triage.get_finding(session, finding_id)
    raws = {s.id: json.dumps(s.raw, indent=2, sort_keys=True) for s in f.sources}
    return render(
        request,
        "findings/finding.html",
        {
            "f": f,
            "raws": raws,
            "history": queries.history(session, f.id),
            "states": STATES,
            "justifications": JUSTIFICATIONS,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
def finding(finding_id: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return _detail(request, session, finding_id)


@router.post("/findings/{finding_id}/triage", response_model=None)
def triage_form(  # noqa: PLR0917 - FastAPI passes form fields by name
    finding_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Writer,
    state: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    try:
        triage.triage(
            session,
            finding_id=finding_id,
            actor=who.actor("ui"),
            now=runtime.now(),
            state=state or None,
            justification=justification or None,
            assignee=assignee or None,
            comment=comment or None,
            expected_version=version,
        )
        session.commit()
    except MamoriError as exc:
        session.rollback()
        return _detail(request, session, finding_id, error=str(exc))
    return RedirectResponse(f"/findings/{finding_id}", status_code=303)
