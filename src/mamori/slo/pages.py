"""Dashboard pages of the slo domain: SLOs by service and user story, one SLO's history, reviews."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mamori.core import deliveries
from mamori.core.clock import parse_instant
from mamori.core.duration import parse_duration
from mamori.core.errors import InvalidInput, MamoriError
from mamori.slo.api import authorize
from mamori.slo.service import Plans, freezes, queries, review
from mamori.web.deps import Principal, RuntimeDep, SessionDep, require
from mamori.web.templating import render, service_notices

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


@router.get("/slos", response_class=HTMLResponse)
def slo_list(request: Request, _: Viewer, session: SessionDep, runtime: RuntimeDep) -> Response:
    frozen = [view.service for view in freezes.active(session, now=runtime.now())]
    notices = service_notices(session, runtime, frozen)
    return render(request, "slo/list.html", {"groups": queries.overview(session), "notices": notices})


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
    services = [item["objective"].service for item in objectives]
    context = {
        "name": name,
        "objectives": objectives,
        "actions": actions,
        "deliveries": sent,
        "notices": service_notices(session, runtime, services),
        "window": window,
        "windows": list(WINDOWS),
    }
    return render(request, "slo/detail.html", context)


def _back(target: str) -> str:
    """Where a freeze form returns to: a path on Mamori itself, else the SLO list."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\\\r\n\t"):
        return "/slos"
    return target


def _freeze_form(request: Request, session: Session, work: Callable[[], object], back: str) -> Response:
    try:
        work()
    except MamoriError as exc:
        session.rollback()
        message = f"{exc.detail} (the freeze is unchanged)"
        context = {"status": exc.status, "message": message, "back": _back(back)}
        return render(request, "error.html", context, status_code=exc.status)
    session.commit()
    return RedirectResponse(_back(back), status_code=303)


@router.post("/slos/freezes/{freeze_id}/lift")
def lift_form(
    *,
    freeze_id: int,
    request: Request,
    principal: Viewer,
    session: SessionDep,
    runtime: RuntimeDep,
    reason: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/slos",
) -> Response:
    def work() -> object:
        authorize(principal, session, freeze_id, "write")
        return freezes.lift(
            session, runtime.bus, freeze_id=freeze_id, actor=principal.actor("ui"), reason=reason, now=runtime.now()
        )

    return _freeze_form(request, session, work, next)


@router.post("/slos/freezes/{freeze_id}/bypass")
def bypass_form(
    *,
    freeze_id: int,
    request: Request,
    principal: Viewer,
    session: SessionDep,
    runtime: RuntimeDep,
    reason: Annotated[str, Form()] = "",
    expires_in: Annotated[str, Form()] = "2h",
    max_deploys: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/slos",
) -> Response:
    def work() -> object:
        authorize(principal, session, freeze_id, "respond")
        try:
            duration = parse_duration(expires_in)
            deploys = int(max_deploys) if max_deploys.strip() else None
        except ValueError as exc:
            raise InvalidInput(f"bypass duration or deploys: {exc}") from None
        return freezes.bypass(
            session,
            freeze_id=freeze_id,
            actor=principal.actor("ui"),
            reason=reason,
            expires_in=duration,
            max_deploys=deploys,
            now=runtime.now(),
        )

    return _freeze_form(request, session, work, next)
