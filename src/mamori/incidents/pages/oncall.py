"""On-call pages: who is on call now and next, on-call health, escalation policies and a schedule's week."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from mamori.core.errors import InvalidInput, NotFound, ValidationFailed
from mamori.incidents import slots as views
from mamori.incidents.kinds import stored as config
from mamori.incidents.oncall import feeds
from mamori.incidents.pages.routing import Viewer, router
from mamori.incidents.response import metrics
from mamori.web.deps import RuntimeDep, SessionDep
from mamori.web.templating import render


@router.get("/oncall", response_class=HTMLResponse)
def oncall(request: Request, session: SessionDep, runtime: RuntimeDep, who: Viewer) -> HTMLResponse:
    mine = None
    if who.user is not None:
        try:
            mine = feeds.feed_url(runtime.settings, kind="user", name=who.user.email.lower())
        except ValidationFailed:  # no secret key configured: no feed links
            mine = None
    return render(
        request, "incidents/oncall.html", {"rows": views.on_call(session, now=runtime.now()), "my_ical": mine}
    )


@router.get("/oncall/health", response_class=HTMLResponse)
def oncall_health(request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    until = runtime.now()
    since = until - timedelta(days=28)
    people = metrics.oncall_load(session, since=since, until=until)
    trends = metrics.incident_trends(session, since=until - timedelta(days=84), until=until)
    summary = metrics.response_times(session, since=since, until=until)
    ctx = {"people": [p.as_dict() for p in people], "trends": trends, "summary": summary, "since": since}
    return render(request, "incidents/health.html", ctx)


@router.get("/escalation-policies", response_class=HTMLResponse)
def policies(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return render(request, "incidents/policies.html", {"policies": views.policies(session)})


@router.get("/escalation-policies/{name}", response_class=HTMLResponse)
def policy(name: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    found = [p for p in views.policies(session) if p.name == name]
    if not found:
        raise NotFound(f"no EscalationPolicy named {name!r}")
    return render(request, "incidents/policy.html", {"p": found[0]})


@router.get("/oncall/schedules/{name}", response_class=HTMLResponse)
def schedule_calendar(
    name: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    _: Viewer,
    week: Annotated[str | None, Query(description="any day of the week, YYYY-MM-DD")] = None,
) -> HTMLResponse:
    spec = config.schedule(session, name)
    if week:
        try:
            day = date.fromisoformat(week)
        except ValueError:
            raise InvalidInput(f"week must be a date YYYY-MM-DD, not {week!r}") from None
        monday = day - timedelta(days=day.weekday())
    else:
        monday = views.local_monday(spec, runtime.now())
    grid = views.week_grid(name, spec, monday)
    try:
        url = feeds.feed_url(runtime.settings, kind="schedule", name=name)
    except ValidationFailed:
        url = None
    ctx = {
        "g": grid,
        "prev": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
        "ical_url": url,
    }
    return render(request, "incidents/schedule.html", ctx)
