"""Dashboard pages of the vulns domain: exposure, triage queue and decisions, vendor incidents, advisories."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from mamori.core.errors import MamoriError, NotFound
from mamori.core.models import Service
from mamori.vulns import kinds, store
from mamori.vulns.models import VulnAdvisory, VulnFeedItem, VulnFinding, VulnSyncState
from mamori.vulns.service import findings, queries
from mamori.vulns.states import JUSTIFICATIONS, STATES
from mamori.web.deps import Principal, RuntimeDep, SessionDep, Writer, require
from mamori.web.forms import form_day
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


@router.get("/vulns", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    now = runtime.now()
    return render(
        request,
        "vulns/overview.html",
        {
            "summary": queries.exposure(session, now=now),
            "breaches": queries.sla_breaches(session, now=now),
            "sources": session.scalars(select(VulnSyncState).order_by(VulnSyncState.kind, VulnSyncState.name)).all(),
            "now": now,
        },
    )


@router.get("/vulns/findings", response_class=HTMLResponse)
def queue(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    session: SessionDep,
    _: Viewer,
    state: str = "open",
    service: str | None = None,
    kind: str | None = None,
    priority: str | None = None,
) -> HTMLResponse:
    return _queue_page(
        request,
        session,
        service or "",
        None,
        state=state,
        kind=kind or "",
        priority=priority or "",
        notice=request.query_params.get("notice"),
    )


def _queue_page(
    request: Request,
    session: Session,
    service: str,
    error: str | None,
    *,
    state: str = "open",
    kind: str = "",
    priority: str = "",
    notice: str | None = None,
) -> HTMLResponse:
    rows = queries.list_findings(
        session, state=[state] if state else None, service=service or None, kind=kind or None, priority=priority or None
    )
    return render(
        request,
        "vulns/queue.html",
        {
            "findings": rows,
            "state": state,
            "service": service,
            "kind": kind,
            "priority": priority,
            "states": ("open", *STATES),
            "services": session.scalars(select(Service.name).order_by(Service.name)).all(),
            "error": error,
            "notice": notice,
        },
        status_code=422 if error else 200,
    )


def _detail(request: Request, session: SessionDep, finding_id: str, error: str | None = None) -> HTMLResponse:
    f = queries.get_finding(session, finding_id)
    return render(
        request,
        "vulns/finding.html",
        {
            "f": f,
            "states": [s for s in STATES if s != "new"],
            "justifications": JUSTIFICATIONS,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/vulns/findings/{finding_id}", response_class=HTMLResponse)
def finding(finding_id: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return _detail(request, session, finding_id)


@router.post("/vulns/findings/{finding_id}/triage", response_model=None)
def triage(  # noqa: PLR0917 - FastAPI passes form fields by name
    finding_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Writer,
    state: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
    accepted_until: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        until = form_day(accepted_until)
    except ValueError:
        return _detail(request, session, finding_id, error=f"accepted until: not a date: {accepted_until!r}")
    try:
        findings.triage(
            session,
            finding_id=finding_id,
            actor=who.actor("ui"),
            now=runtime.now(),
            state=state or None,
            justification=justification or None,
            accepted_until=until,
            assignee=assignee if assignee else None,
            comment=comment or None,
            bus=runtime.bus,
        )
    except NotFound:
        raise
    except MamoriError as exc:
        session.rollback()
        return _detail(request, session, finding_id, error=exc.detail)
    session.commit()
    return RedirectResponse(f"/vulns/findings/{finding_id}", status_code=303)


@router.post("/vulns/scan", response_model=None)
async def scan_upload(request: Request, session: SessionDep, runtime: RuntimeDep, _: Writer) -> Response:
    """A lockfile from the dashboard: recorded for the service, matched against the stored advisories (rescan)."""
    form = await request.form()  # parsed (and cached) by the CSRF check already
    service, upload = str(form.get("service") or ""), form.get("lockfile")
    if not isinstance(upload, StarletteUpload):
        return await run_in_threadpool(_queue_page, request, session, service, "lockfile: choose a file to scan")
    try:
        data = await upload.read(store.MAX_UPLOAD_BYTES + 1)
    finally:
        await form.close()

    def work() -> Response:
        try:
            recorded = store.record_upload(
                session, service=service, filename=upload.filename or "", data=data, now=runtime.now()
            )
            result = findings.rescan(session, now=runtime.now(), bus=runtime.bus)
        except MamoriError as exc:
            session.rollback()
            return _queue_page(request, session, service, exc.detail)
        session.commit()
        notice = (
            f"Scanned {recorded.files[0]}: {recorded.components} packages; "
            f"{len(result.created) + len(result.reopened)} new or reopened finding(s), {len(result.fixed)} fixed."
        )
        query = urlencode({"service": service, "notice": notice})
        return RedirectResponse(f"/vulns/findings?{query}", status_code=303)

    return await run_in_threadpool(work)


@router.get("/vulns/vendors", response_class=HTMLResponse)
def vendors(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    incidents = session.scalars(
        select(VulnFinding).where(VulnFinding.kind == "vendor").order_by(VulnFinding.first_seen_at.desc()).limit(200)
    ).all()
    items = session.scalars(
        select(VulnFeedItem).order_by(VulnFeedItem.fetched_at.desc(), VulnFeedItem.id.desc()).limit(50)
    ).all()
    feeds = session.scalars(
        select(VulnSyncState).where(VulnSyncState.kind == "feed").order_by(VulnSyncState.name)
    ).all()
    return render(
        request,
        "vulns/vendors.html",
        {"incidents": incidents, "vendors": kinds.vendors(session), "items": items, "feeds": feeds},
    )


@router.get("/vulns/advisories/{advisory_id}", response_class=HTMLResponse)
def advisory(advisory_id: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    adv = session.get(VulnAdvisory, advisory_id)
    if adv is None:
        raise NotFound(f"no advisory {advisory_id!r} in the store")
    cves = [a for a in [adv.id, *adv.aliases] if a.startswith("CVE-")]
    related = session.scalars(select(VulnFinding).where(VulnFinding.advisory_id == adv.id)).all()
    return render(
        request,
        "vulns/advisory.html",
        {"adv": adv, "epss": store.epss_for(session, cves), "kev": store.kev_for(session, cves), "findings": related},
    )
