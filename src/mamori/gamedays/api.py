"""Gamedays HTTP API under /api/v1/gamedays: scenarios, drills (start, schedule, reveal, record, abort, finish),
Chaos Toolkit journals, scores, reports (JSON, Markdown) and trends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, PayloadTooLarge
from mamori.gamedays.schemas import (
    AbortIn,
    DebriefIn,
    DrillCreateIn,
    DrillOut,
    EntryOut,
    ImportedOut,
    RecordIn,
    ReportOut,
    ScenarioOut,
    ScoreOut,
    TrendOut,
    TrendsOut,
)
from mamori.gamedays.service import drills, entries, reports
from mamori.web.deps import Reader, Responder, RuntimeDep, SessionDep, Writer

router = APIRouter(prefix="/gamedays", tags=["gamedays"])
MAX_JOURNAL_BYTES = 5 * 1024 * 1024


@router.get("/scenarios", response_model=list[ScenarioOut])
def list_scenarios(session: SessionDep, _: Reader) -> list[ScenarioOut]:
    return drills.scenarios(session)


@router.get("/drills", response_model=list[DrillOut])
def list_drills(session: SessionDep, _: Reader, status: str | None = None) -> list[DrillOut]:
    return [drills.describe(session, d) for d in drills.list_drills(session, status=status)]


@router.post("/drills", response_model=DrillOut, status_code=201)
def create_drill(body: DrillCreateIn, session: SessionDep, runtime: RuntimeDep, who: Writer) -> DrillOut:
    now = runtime.now()
    start_at = now if body.now else body.start_at
    if start_at is not None and start_at.tzinfo is None:
        raise InvalidInput("start_at needs an offset (Z or +01:00)")
    drill = drills.create(session, runtime, scenario=body.scenario, actor=who.actor(), now=now, start_at=start_at)
    out = drills.describe(session, drill)
    session.commit()
    return out


@router.get("/drills/{drill_id}", response_model=DrillOut)
def get_drill(drill_id: str, session: SessionDep, _: Reader) -> DrillOut:
    return drills.describe(session, drills.get(session, drill_id))


@router.post("/drills/{drill_id}/start", response_model=DrillOut)
def start_drill(drill_id: str, session: SessionDep, runtime: RuntimeDep, who: Writer) -> DrillOut:
    drill = drills.get(session, drill_id, lock=True)
    drills.start(session, runtime, drill=drill, actor=who.actor(), now=runtime.now())
    out = drills.describe(session, drill)
    session.commit()
    return out


@router.post("/drills/{drill_id}/injects/{inject_id}/reveal", response_model=DrillOut)
def reveal(drill_id: str, inject_id: str, session: SessionDep, runtime: RuntimeDep, who: Writer) -> DrillOut:
    drill = drills.reveal(
        session, runtime, drill_id=drill_id, inject_id=inject_id, actor=who.actor(), now=runtime.now()
    )
    out = drills.describe(session, drill)
    session.commit()
    return out


@router.post("/drills/{drill_id}/abort", response_model=DrillOut)
def abort(drill_id: str, body: AbortIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> DrillOut:
    """The abort switch: any responder may pull it."""
    drill = drills.abort(session, runtime, drill_id=drill_id, reason=body.reason, actor=who.actor(), now=runtime.now())
    out = drills.describe(session, drill)
    session.commit()
    return out


@router.post("/drills/{drill_id}/finish", response_model=DrillOut)
def finish(drill_id: str, session: SessionDep, runtime: RuntimeDep, who: Writer) -> DrillOut:
    drill = drills.finish(session, runtime, drill_id=drill_id, actor=who.actor(), now=runtime.now())
    out = drills.describe(session, drill)
    session.commit()
    return out


@router.get("/drills/{drill_id}/timeline", response_model=list[EntryOut])
def timeline(drill_id: str, session: SessionDep, _: Reader) -> list[Any]:
    drills.get(session, drill_id)
    return list(entries.entries_of(session, drill_id))


@router.post("/drills/{drill_id}/record", response_model=EntryOut, status_code=201)
def record(drill_id: str, body: RecordIn, session: SessionDep, runtime: RuntimeDep, who: Responder) -> Any:
    """A step done during the drill (runbook step, credential rotated, flag flipped, freeze, note)."""
    drill = drills.get(session, drill_id)
    entry = entries.record(
        session,
        drill=drill,
        kind=body.kind,
        name=body.name,
        caller=who.name,
        by=body.by,
        at=runtime.now(),
        text=body.text,
    )
    session.commit()
    return entry


def _store(session: Session, drill_id: str, store: Callable[..., int], text: str, actor: str) -> ImportedOut:
    """Database work of the upload routes, off the event loop (they are async only to read the raw body)."""
    added = store(session, drill=drills.get(session, drill_id), text=text, actor=actor)
    session.commit()
    return ImportedOut(added=added)


@router.post("/drills/{drill_id}/chaos-journal", response_model=ImportedOut)
async def import_journal(drill_id: str, request: Request, session: SessionDep, who: Writer) -> ImportedOut:
    """A Chaos Toolkit journal.json (the body) onto the drill's timeline, in one transaction."""
    body = await request.body()
    if len(body) > MAX_JOURNAL_BYTES:
        raise PayloadTooLarge(f"a journal may be at most {MAX_JOURNAL_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the journal is not UTF-8") from None
    return await run_in_threadpool(_store, session, drill_id, entries.import_journal, text, who.name)


@router.post("/drills/{drill_id}/fis-events", response_model=ImportedOut)
async def import_fis_events(drill_id: str, request: Request, session: SessionDep, who: Writer) -> ImportedOut:
    """AWS FIS "Experiment State Change" events (EventBridge's JSON, one or a list) onto the drill's timeline."""
    body = await request.body()
    if len(body) > MAX_JOURNAL_BYTES:
        raise PayloadTooLarge(f"at most {MAX_JOURNAL_BYTES} bytes of events")
    text = body.decode("utf-8", errors="replace")
    return await run_in_threadpool(_store, session, drill_id, entries.import_fis_events, text, who.name)


@router.post("/drills/{drill_id}/score", response_model=ScoreOut)
def score(
    drill_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Writer,
    scenario: Annotated[Literal["recorded", "current"], Query()] = "recorded",
) -> Any:
    """Score the drill from its recorded timeline and keep the score: against the scenario as it was when the
    drill ran, or (`scenario=current`) as applied now, after its expectations changed."""
    if scenario == "current":
        reports.adopt_current_scenario(session, drill_id=drill_id, actor=who.name, now=runtime.now())
    result = reports.score(session, drill_id=drill_id, now=runtime.now())
    session.commit()
    return reports.score_json(result, reports.teams_of(session, [p.user for p in result.participants]))


@router.get("/drills/{drill_id}/report", response_model=ReportOut)
def report(  # the Markdown report is at /gamedays/drills/{drill_id}/report.md
    drill_id: str, session: SessionDep, runtime: RuntimeDep, _: Reader
) -> Any:
    return reports.report_json(session, drill_id=drill_id, now=runtime.now())


@router.put("/drills/{drill_id}/debrief", response_model=DrillOut)
def debrief(drill_id: str, body: DebriefIn, session: SessionDep, runtime: RuntimeDep, _: Writer) -> DrillOut:
    drill = reports.update_debrief(
        session,
        drill_id=drill_id,
        notes=body.notes,
        action_items=body.action_items,
        version=body.version,
        now=runtime.now(),
    )
    out = drills.describe(session, drill)
    session.commit()
    return out


@router.get("/trends", response_model=TrendsOut)
def trends(
    session: SessionDep, runtime: RuntimeDep, _: Reader, scenario: Annotated[str | None, Query(max_length=200)] = None
) -> TrendsOut:
    points = reports.trends(session, now=runtime.now(), scenario=scenario)
    return TrendsOut(
        drills=[
            TrendOut(
                drill_id=p.drill_id,
                scenario=p.scenario,
                title=p.title,
                started_at=p.started_at,
                status=p.status,
                team_percent=p.team_percent,
                time_to_acknowledge_seconds=reports.seconds(p.time_to_acknowledge),
                time_to_declare_seconds=reports.seconds(p.time_to_declare),
                time_to_mitigate_seconds=reports.seconds(p.time_to_mitigate),
            )
            for p in points
        ],
        never_practised=reports.never_practised(session),
    )
