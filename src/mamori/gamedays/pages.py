"""Dashboard pages for game days: the list of scenarios and drills, and the live drill page for the game master
(the script, what fired, what responders did, reveal buttons, the abort switch, the score and the debrief)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mamori.core.errors import MamoriError
from mamori.gamedays import scoring
from mamori.gamedays.service import drills, entries, reports
from mamori.web.deps import Reader, Responder, RuntimeDep, SessionDep, Writer
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/gamedays", response_class=HTMLResponse)
def index(request: Request, _: Reader, session: SessionDep, runtime: RuntimeDep) -> Response:
    context = {
        "scenarios": drills.scenarios(session),
        "drills": [drills.describe(session, d) for d in drills.list_drills(session)],
        "trends": reports.trends(session, now=runtime.now()),
        "never_practised": reports.never_practised(session),
        "error": request.query_params.get("error"),
    }
    return render(request, "gamedays/index.html", context)


def _drill_page(
    request: Request, session: Session, runtime: Any, drill_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    drill = drills.get(session, drill_id)
    spec = drills.spec_of(drill)
    result = reports.score(session, drill_id=drill.id, now=runtime.now(), keep=False) if drill.started_at else None
    people = [p.user for p in result.participants] if result else []
    teams = scoring.team_scores(result, reports.teams_of(session, people)) if result else []
    context = {
        "drill": drills.describe(session, drill),
        "row": drill,
        "spec": spec,
        "entries": entries.entries_of(session, drill.id),
        "score": result,
        "teams": teams,
        "error": error,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "gamedays/drill.html", context, status_code=status)


@router.get("/gamedays/drills/{drill_id}/report.md", response_class=PlainTextResponse)
def report_markdown(drill_id: str, _: Reader, session: SessionDep, runtime: RuntimeDep) -> Response:
    """The drill's report as a Markdown file (for the debrief's notes or a wiki)."""
    text = reports.report_markdown(session, drill_id=drill_id, now=runtime.now())
    headers = {"Content-Disposition": f'attachment; filename="drill-{drill_id[:32]}.md"'}
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8", headers=headers)


@router.get("/gamedays/drills/{drill_id}/timeline", response_class=HTMLResponse)
def timeline_rows(request: Request, drill_id: str, _: Reader, session: SessionDep) -> Response:
    """The live page's timeline alone (htmx polls it while the drill runs)."""
    drill = drills.get(session, drill_id)
    context = {"drill": drills.describe(session, drill), "entries": entries.entries_of(session, drill.id)}
    return render(request, "gamedays/_timeline.html", context)


@router.get("/gamedays/drills/{drill_id}", response_class=HTMLResponse)
def drill_page(request: Request, drill_id: str, _: Reader, session: SessionDep, runtime: RuntimeDep) -> Response:
    return _drill_page(request, session, runtime, drill_id)


def _act(request: Request, session: Session, runtime: Any, drill_id: str, *, work: Callable[[], object]) -> Response:
    try:
        work()
    except MamoriError as exc:
        session.rollback()
        details = "; ".join(p.render() for p in exc.problems)
        return _drill_page(
            request, session, runtime, drill_id, error=f"{exc.detail} {details}".strip(), status=exc.status
        )
    session.commit()
    return RedirectResponse(f"/gamedays/drills/{drill_id}?notice=saved", status_code=303)


@router.post("/gamedays/drills")
def create_form(
    request: Request, *, scenario: Annotated[str, Form()], who: Writer, session: SessionDep, runtime: RuntimeDep
) -> Response:
    try:
        drill = drills.create(session, runtime, scenario=scenario, actor=who.actor(source="ui"), now=runtime.now())
    except MamoriError as exc:
        session.rollback()
        return RedirectResponse(f"/gamedays?error={exc.detail[:200]}", status_code=303)
    session.commit()
    return RedirectResponse(f"/gamedays/drills/{drill.id}", status_code=303)


@router.post("/gamedays/drills/{drill_id}/reveal/{inject_id}")
def reveal_form(
    request: Request, drill_id: str, inject_id: str, *, who: Writer, session: SessionDep, runtime: RuntimeDep
) -> Response:
    actor, now = who.actor(source="ui"), runtime.now()
    return _act(
        request,
        session,
        runtime,
        drill_id,
        work=lambda: drills.reveal(session, runtime, drill_id=drill_id, inject_id=inject_id, actor=actor, now=now),
    )


@router.post("/gamedays/drills/{drill_id}/abort")
def abort_form(
    request: Request,
    drill_id: str,
    *,
    reason: Annotated[str, Form()],
    who: Responder,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    actor, now = who.actor(source="ui"), runtime.now()
    return _act(
        request,
        session,
        runtime,
        drill_id,
        work=lambda: drills.abort(session, runtime, drill_id=drill_id, reason=reason, actor=actor, now=now),
    )


@router.post("/gamedays/drills/{drill_id}/start")
def start_form(request: Request, drill_id: str, who: Writer, session: SessionDep, runtime: RuntimeDep) -> Response:
    actor, now = who.actor(source="ui"), runtime.now()

    def work() -> object:
        return drills.start(session, runtime, drill=drills.get(session, drill_id, lock=True), actor=actor, now=now)

    return _act(request, session, runtime, drill_id, work=work)


@router.post("/gamedays/drills/{drill_id}/finish")
def finish_form(request: Request, drill_id: str, who: Writer, session: SessionDep, runtime: RuntimeDep) -> Response:
    actor, now = who.actor(source="ui"), runtime.now()
    return _act(
        request,
        session,
        runtime,
        drill_id,
        work=lambda: drills.finish(session, runtime, drill_id=drill_id, actor=actor, now=now),
    )


@router.post("/gamedays/drills/{drill_id}/record")
def record_form(
    request: Request,
    drill_id: str,
    *,
    kind: Annotated[str, Form()],
    name: Annotated[str, Form()],
    who: Responder,
    session: SessionDep,
    runtime: RuntimeDep,
    by: Annotated[str, Form()] = "",
) -> Response:
    now = runtime.now()

    def work() -> object:
        drill = drills.get(session, drill_id)
        return entries.record(session, drill=drill, kind=kind, name=name, caller=who.name, by=by, at=now)

    return _act(request, session, runtime, drill_id, work=work)


@router.post("/gamedays/drills/{drill_id}/debrief")
def debrief_form(
    request: Request,
    drill_id: str,
    *,
    version: Annotated[int, Form()],
    who: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    notes: Annotated[str, Form()] = "",
    action_items: Annotated[str, Form()] = "",
) -> Response:
    items = action_items.splitlines()
    now = runtime.now()
    return _act(
        request,
        session,
        runtime,
        drill_id,
        work=lambda: reports.update_debrief(
            session, drill_id=drill_id, notes=notes, action_items=items, version=version, now=now
        ),
    )
