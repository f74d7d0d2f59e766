"""Dashboard pages of the slo domain: SLOs by service and user story, one SLO's history, reviews."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from mamori.core import deliveries
from mamori.core.clock import parse_instant
from mamori.core.errors import InvalidInput
from mamori.slo.service import Plans, queries, review
from mamori.web.deps import Principal, RuntimeDep, SessionDep, require
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


@router.get("/slos", response_class=HTMLResponse)
def slo_list(request: Request, _: Viewer, session: SessionDep) -> Response:
    return render(request, "slo/list.html", {"groups": queries.overview(session)})


@router.get("/slos/review", response_class=HTMLResponse)
def slo_review(
    *,
    request: Request,
    _: Viewer,
    session: SessionDep,
    runtime: RuntimeDep,
    since: str | None = None,
    until: str | None = None,
    format: str = "html",
) -> Response:
    end = parse_instant(until) if until else runtime.now()
    start = parse_instant(since) if since else end - timedelta(days=28)
    items = review.review(session, since=start, until=end, plans=runtime.state(Plans))
    if format == "md":
        return PlainTextResponse(
            review.as_markdown(items, since=start, until=end),
            media_type="text/markdown",
            headers={"Content-Disposition": 'attachment; filename="slo-review.md"'},
        )
    return render(request, "slo/review.html", {"items": items, "since": start, "until": end})


WINDOWS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "1d": timedelta(days=1), "7d": timedelta(days=7)}
"""The chart windows one may pick on an SLO's page (the last hour ... week of its window); none: the whole window."""


@router.get("/slos/{name}", response_class=HTMLResponse)
def slo_detail(
    name: str, request: Request, _: Viewer, session: SessionDep, runtime: RuntimeDep, window: str = ""
) -> Response:
    if window and window not in WINDOWS:
        raise InvalidInput(f"window: one of {', '.join(WINDOWS)} (or none for the SLO's whole window), not {window!r}")
    view = WINDOWS.get(window)
    objectives = queries.detail(session, slo=name, now=runtime.now(), plans=runtime.state(Plans), view=view)
    actions = objectives[0]["actions"] if objectives else []
    sent = deliveries.for_subject(session, f"slo:slo:{name}")
    context = {
        "name": name,
        "objectives": objectives,
        "actions": actions,
        "deliveries": sent,
        "window": window,
        "windows": list(WINDOWS),
    }
    return render(request, "slo/detail.html", context)
