"""Dashboard pages of the sast domain: repositories, a repository's findings, a finding with its code and
history across scans (and the triage form), the pull-request gate view, and the tool scorecards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.core.errors import MamoriError, NotFound
from mamori.sast import charts
from mamori.sast.service import gate, queries, scoring, triage
from mamori.web.deps import Principal, RuntimeDep, SessionDep, Writer, require
from mamori.web.forms import form_day
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]
DECISIONS = [s for s in triage.STATES if s != "new"]


@router.get("/sast", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return render(
        request, "sast/overview.html", {"repos": queries.repos(session), "scans": queries.list_scans(session, limit=20)}
    )


@router.get("/sast/repos/{repo:path}", response_class=HTMLResponse)
def repo_findings(request: Request, repo: str, session: SessionDep, _: Viewer, show: str = "open") -> HTMLResponse:
    rows = queries.list_findings(session, repo=repo, open_only=show == "open")
    return render(
        request,
        "sast/findings.html",
        {
            "repo": repo,
            "base_path": f"/sast/repos/{repo}",
            "show": show,
            "findings": rows,
            "tools": queries.tools_by_finding(session, [f.id for f in rows]),
            "scans": queries.list_scans(session, repo=repo, limit=20),
        },
    )


@router.get("/sast/services/{service}", response_class=HTMLResponse)
def service_findings(
    request: Request, service: str, session: SessionDep, _: Viewer, show: str = "open"
) -> HTMLResponse:
    rows = queries.list_findings(session, service=service, open_only=show == "open")
    return render(
        request,
        "sast/findings.html",
        {
            "repo": f"service {service}",
            "base_path": f"/sast/services/{service}",
            "show": show,
            "findings": rows,
            "tools": queries.tools_by_finding(session, [f.id for f in rows]),
            "scans": [],
        },
    )


def _detail(request: Request, session: SessionDep, finding_id: str, error: str | None = None) -> HTMLResponse:
    finding = triage.get_finding(session, finding_id)
    return render(
        request,
        "sast/finding.html",
        {
            "f": finding,
            "sources": queries.sources(session, finding_id),
            "history": queries.history(session, finding_id),
            "decisions": queries.triage_log(session, finding_id),
            "states": DECISIONS,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/sast/findings/{finding_id}", response_class=HTMLResponse)
def finding_page(finding_id: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return _detail(request, session, finding_id)


@router.post("/sast/findings/{finding_id}/triage", response_model=None)
def triage_form(  # noqa: PLR0917 - FastAPI passes form fields by name
    finding_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Writer,
    state: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    accepted_until: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    try:
        until = form_day(accepted_until)
    except ValueError:
        return _detail(request, session, finding_id, error=f"accepted until: not a date: {accepted_until!r}")
    try:
        triage.triage(
            session, finding_id=finding_id, state=state, reason=reason, accepted_until=until,
            expected_version=version, actor=who.actor("ui"), now=runtime.now(), bus=runtime.bus,
        )  # fmt: skip
    except NotFound:
        raise
    except MamoriError as exc:
        session.rollback()
        return _detail(request, session, finding_id, error=exc.detail)
    session.commit()
    return RedirectResponse(f"/sast/findings/{finding_id}", status_code=303)


@router.get("/sast/gate", response_class=HTMLResponse)
def gate_page(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    _: Viewer,
    repo: str = "",
    base: str = "",
    head: str = "",
) -> HTMLResponse:
    verdict, error = None, None
    if repo and base and head:
        try:
            verdict = gate.evaluate(session, repo=repo, base=base, head=head, now=runtime.now())
        except MamoriError as exc:
            error = exc.detail
    context = {"verdict": verdict, "error": error, "repo": repo, "base": base, "head": head}
    return render(request, "sast/gate.html", context, status_code=404 if error else 200)


@router.get("/sast/scorecards", response_class=HTMLResponse)
def scorecards_page(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    latest = scoring.latest(session)
    bar_rows = [(f"{r.tool} ({r.suite})", float(r.overall["tpr"]), float(r.overall["fpr"])) for r in latest]
    return render(
        request,
        "sast/scorecards.html",
        {
            "latest": latest,
            "bars": charts.bars(bar_rows) if bar_rows else "",
            "trend": charts.trend(scoring.trend(session)),
            "triage": scoring.triage_scores(session),
            "pentest": scoring.pentest_report(session),
        },
    )
