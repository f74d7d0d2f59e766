"""Drill use cases: create (now or at a scheduled time), start, fire injects (each by its durable job, once),
reveal clues, finish and abort. Each function runs in the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit, jobs, manifest, timeline
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, NotFound, Problem, ValidationFailed
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.gamedays import fis, payloads, scoring
from mamori.gamedays.events import (
    DrillAlertInjected,
    DrillEnded,
    DrillNewsInjected,
    DrillSloEventsInjected,
    DrillStarted,
)
from mamori.gamedays.kinds import KIND
from mamori.gamedays.models import Drill, DrillInject
from mamori.gamedays.scenario import GameDaySpec, Inject
from mamori.gamedays.schemas import DrillOut, InjectOut, ScenarioOut
from mamori.gamedays.service import rollbacks
from mamori.gamedays.service.entries import add_entry, drill_ids_of, entries_of

log = logging.getLogger(__name__)

START_JOB = "gamedays.start_drill"
INJECT_JOB = "gamedays.run_inject"
END_JOB = "gamedays.end_drill"
ACTIVE = ("scheduled", "running")


def scenario_spec(session: Session, name: str) -> GameDaySpec:
    spec = manifest.stored_specs(session, kind=KIND).get(name)
    if spec is None:
        raise NotFound(f"no GameDay scenario {name!r} (apply it first: mamori apply --config <dir>)")
    return GameDaySpec.model_validate(spec)


def spec_of(drill: Drill) -> GameDaySpec:
    return GameDaySpec.model_validate(drill.spec)


def get(session: Session, drill_id: str, *, lock: bool = False) -> Drill:
    drill = session.get(Drill, drill_id, with_for_update=lock)
    if drill is None:
        raise NotFound(f"no drill {drill_id!r}")
    return drill


def list_drills(session: Session, *, status: str | None = None, limit: int = 200) -> list[Drill]:
    query = select(Drill)
    if status:
        query = query.where(Drill.status == status)
    return list(session.scalars(query.order_by(Drill.created_at.desc()).limit(limit)))


INTEGRATION_KIND = "Integration"
"""The kind of the applied document an alert inject names (incidents' webhook integrations), read as config."""


def check_integrations(session: Session, spec: GameDaySpec, *, scenario: str) -> None:
    """Every alert inject names an applied integration that takes its payload's source, or nothing starts."""
    known = manifest.stored_specs(session, kind=INTEGRATION_KIND)
    problems, ref = [], f"GameDay {scenario!r}"
    for index, inject in enumerate(spec.injects):
        if inject.alert is None:
            continue
        loc, name, source = f"spec.injects[{index}].alert", inject.alert.integration, inject.alert.source
        found = known.get(name)
        if found is None:
            problems.append(Problem(loc=f"{loc}.integration", msg=f"no Integration {name!r} is applied", document=ref))
        elif found.get("type") != source and not (source == "alertmanager" and found.get("type") == "grafana"):
            msg = f"Integration {name!r} takes {found.get('type')} payloads, not {source}"
            problems.append(Problem(loc=f"{loc}.source", msg=msg, document=ref))
    if problems:
        raise ValidationFailed(f"GameDay {scenario!r} cannot run: {problems[0].msg}", problems=problems)


def create(
    session: Session, runtime: Runtime, *, scenario: str, actor: Actor, now: datetime, start_at: datetime | None = None
) -> Drill:
    """A drill of an applied scenario: started now, or scheduled for `start_at` (else the scenario's start)."""
    spec = scenario_spec(session, scenario)
    check_integrations(session, spec, scenario=scenario)
    when = start_at or (datetime.fromisoformat(spec.schedule.start) if spec.schedule.start else None)
    drill = Drill(
        scenario=scenario,
        title=spec.title,
        kind=spec.kind,
        spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        status="scheduled",
        scheduled_for=when,
        created_by=actor.name,
        created_at=now,
    )
    session.add(drill)
    session.flush()
    audit.record(session, actor=actor, action="create", object_type="Drill", object_id=drill.id, at=now)
    if when is not None and when > now:
        jobs.enqueue(
            session,
            kind=START_JOB,
            now=now,
            run_at=when,
            payload={"drill": drill.id},
            dedupe_key=f"gameday:{drill.id}:start",
        )
        add_entry(session, drill, at=now, kind="note", actor=actor.name, text=f"scheduled for {when.isoformat()}")
    else:
        start(session, runtime, drill=drill, actor=actor, now=now)
    return drill


def start(session: Session, runtime: Runtime, *, drill: Drill, actor: Actor, now: datetime) -> Drill:
    """Start a scheduled drill: one durable job per timed inject, and one for the drill's end."""
    if drill.status != "scheduled":
        raise Conflict(f"drill {drill.id} is {drill.status}, not scheduled")
    spec = spec_of(drill)
    check_integrations(session, spec, scenario=drill.scenario)
    drill.status, drill.started_at, drill.version = "running", now, drill.version + 1
    for inject in spec.injects:
        row = DrillInject(
            drill_id=drill.id,
            inject_id=inject.id,
            kind=inject.kind,
            due_at=now + inject.at if inject.at is not None else None,
            status="pending",
        )
        session.add(row)
        if row.due_at is not None:
            job = jobs.enqueue(
                session,
                kind=INJECT_JOB,
                now=now,
                run_at=row.due_at,
                payload={"drill": drill.id, "inject": inject.id},
                dedupe_key=f"gameday:{drill.id}:inject:{inject.id}",
            )
            row.job_id = job.id
    jobs.enqueue(
        session,
        kind=END_JOB,
        now=now,
        run_at=now + spec.schedule.duration,
        payload={"drill": drill.id},
        dedupe_key=f"gameday:{drill.id}:end",
    )
    add_entry(session, drill, at=now, kind="started", actor=actor.name, text=f"drill started: {drill.title}")
    timeline.record(
        session,
        at=now,
        kind="note",
        source="gamedays",
        title=f"[DRILL] game day started: {drill.title}",
        service=spec.services[0] if spec.services else None,
        ref=f"/gamedays/drills/{drill.id}",
        dedupe_key=f"gameday:{drill.id}:started",
    )
    event = DrillStarted(
        drill_id=drill.id,
        scenario=drill.scenario,
        title=drill.title,
        services=spec.services,
        participants=[p.user for p in spec.participants],
        at=now,
    )
    runtime.bus.publish(session, event, now=now)
    return drill


def _inject_row(session: Session, drill: Drill, inject_id: str) -> DrillInject:
    row = session.scalar(
        select(DrillInject).where(DrillInject.drill_id == drill.id, DrillInject.inject_id == inject_id)
    )
    if row is None:
        raise NotFound(f"drill {drill.id} has no inject {inject_id!r}")
    return row


def _publish_inject(session: Session, runtime: Runtime, drill: Drill, inject: Inject, *, now: datetime) -> str:
    """Send one inject on its way; returns the timeline text."""
    bus, ids = runtime.bus, {"drill_id": drill.id, "inject_id": inject.id, "at": now}
    if inject.alert is not None:
        body = payloads.alert_body(inject.alert, drill_id=drill.id, inject_id=inject.id, status="firing", at=now)
        bus.publish(
            session,
            DrillAlertInjected(
                **ids, integration=inject.alert.integration, source=inject.alert.source, status="firing", body=body
            ),
            now=now,
        )
        return f"alert sent to {inject.alert.integration}: {payloads.drill_title(inject.alert.title)}"
    if inject.news is not None:
        news = inject.news
        title = payloads.drill_title(news.title)
        bus.publish(
            session,
            DrillNewsInjected(**ids, title=title, vendor=news.vendor, summary=news.summary, link=news.link),
            now=now,
        )
        return f"news: {title}"
    if inject.slo_events is not None:
        events = inject.slo_events
        bus.publish(
            session,
            DrillSloEventsInjected(
                **ids, slo=events.slo, good=events.good, total=events.total, over_seconds=events.over.total_seconds()
            ),
            now=now,
        )
        return f"SLO events for {events.slo}: {events.good} good of {events.total}"
    if inject.clue is not None:
        return f"clue: {inject.clue.text}"
    if inject.fis is not None:
        what = fis.summary(inject.fis.document or {})
        return f"AWS FIS experiment due: {what}; its state-change events join this timeline"
    assert inject.chaos is not None
    title = (inject.chaos.document or {}).get("title", inject.chaos.experiment)
    return f"chaos experiment due: {title} (run it with chaos run, then import its journal)"


def fire(session: Session, runtime: Runtime, *, drill_id: str, inject_id: str, actor: Actor, now: datetime) -> bool:
    """Fire one inject of a running drill, once: a repeated job, a drill no longer running or an inject already
    fired or cancelled changes nothing (returns False)."""
    drill = get(session, drill_id, lock=True)
    if drill.status != "running":
        return False
    row = _inject_row(session, drill, inject_id)
    if row.status != "pending":
        return False
    inject = next(i for i in spec_of(drill).injects if i.id == inject_id)
    text = _publish_inject(session, runtime, drill, inject, now=now)
    row.status, row.fired_at = "fired", now
    kind = scoring.CLUE_REVEALED if inject.clue is not None else scoring.INJECT_FIRED
    data = {"inject": inject.id, "inject_kind": inject.kind}
    add_entry(session, drill, at=now, kind=kind, actor=actor.name, text=text, data=data)
    if inject.clue is not None:  # a clue is also an inject that fired, for `after` anchors
        add_entry(session, drill, at=now, kind=scoring.INJECT_FIRED, actor=actor.name, text=text, data=data)
    return True


def reveal(session: Session, runtime: Runtime, *, drill_id: str, inject_id: str, actor: Actor, now: datetime) -> Drill:
    """The game master reveals a clue (or fires any pending inject early)."""
    drill = get(session, drill_id, lock=True)
    if drill.status != "running":
        raise Conflict(f"drill {drill_id} is {drill.status}; only a running drill reveals clues")
    row = _inject_row(session, drill, inject_id)
    if row.status != "pending":
        raise Conflict(f"inject {inject_id!r} is already {row.status}")
    fire(session, runtime, drill_id=drill_id, inject_id=inject_id, actor=actor, now=now)
    if row.job_id is not None:
        jobs.cancel(session, job_id=row.job_id, now=now)
    return drill


def _note_fault_to_undo(session: Session, drill: Drill, inject: Inject, *, aborted: bool, now: datetime) -> None:
    """Mamori runs no experiment itself (the game master runs it and imports its journal). The abort switch runs a
    chaos inject's rollbacks (`rollbacks.run`, a job); otherwise the timeline says what to undo, by name."""
    if inject.chaos is not None and inject.chaos.rollbacks and aborted:
        rollbacks.enqueue(session, drill, inject, now=now)
        return
    if inject.chaos is not None and inject.chaos.rollbacks:
        document = inject.chaos.document or {}
        names = [str(a.get("name")) for a in document.get("rollbacks") or [] if isinstance(a, dict)]
        title = document.get("title", inject.chaos.experiment)
        what = f"run the rollbacks of {title}: {', '.join(names) or 'none declared'}"
    elif inject.fis is not None:
        what = f"stop the AWS FIS experiment of {inject.fis.experiment_template_id or inject.fis.template}"
    else:
        return
    add_entry(
        session, drill, at=now, kind="note", actor="gamedays", text=what, data={"inject": inject.id, "undo": True}
    )


def _stop(session: Session, runtime: Runtime, drill: Drill, *, outcome: str, reason: str, now: datetime) -> None:
    spec = spec_of(drill)
    for row in session.scalars(select(DrillInject).where(DrillInject.drill_id == drill.id)):
        if row.status == "pending":
            row.status = "cancelled"
            if row.job_id is not None:
                jobs.cancel(session, job_id=row.job_id, now=now)
        elif row.status == "fired" and row.kind in ("chaos", "fis"):
            inject = next(i for i in spec.injects if i.id == row.inject_id)
            _note_fault_to_undo(session, drill, inject, aborted=outcome == "aborted", now=now)
        elif row.status == "fired" and row.kind == "alert":
            alert = next(i.alert for i in spec.injects if i.id == row.inject_id)
            assert alert is not None
            body = payloads.alert_body(alert, drill_id=drill.id, inject_id=row.inject_id, status="resolved", at=now)
            event = DrillAlertInjected(
                drill_id=drill.id,
                inject_id=row.inject_id,
                integration=alert.integration,
                source=alert.source,
                status="resolved",
                body=body,
                at=now,
            )
            runtime.bus.publish(session, event, now=now)
    groups, incidents = drill_ids_of(entries_of(session, drill.id))
    runtime.bus.publish(
        session,
        DrillEnded(drill_id=drill.id, outcome=outcome, reason=reason, group_ids=groups, incident_ids=incidents, at=now),
        now=now,
    )
    drill.status, drill.ended_at, drill.version = outcome, now, drill.version + 1


def finish(session: Session, runtime: Runtime, *, drill_id: str, actor: Actor, now: datetime) -> Drill:
    drill = get(session, drill_id, lock=True)
    if drill.status != "running":
        raise Conflict(f"drill {drill_id} is {drill.status}, not running")
    _stop(session, runtime, drill, outcome="finished", reason="", now=now)
    add_entry(session, drill, at=now, kind="ended", actor=actor.name, text="drill finished")
    audit.record(session, actor=actor, action="finish", object_type="Drill", object_id=drill.id, at=now)
    return drill


def abort(session: Session, runtime: Runtime, *, drill_id: str, reason: str, actor: Actor, now: datetime) -> Drill:
    """The abort switch: stop every pending inject, resolve the drill's alerts and incidents (through events)."""
    drill = get(session, drill_id, lock=True)
    if drill.status not in ACTIVE:
        raise Conflict(f"drill {drill_id} is already {drill.status}")
    if not reason.strip():
        raise ValidationFailed("say why the drill is aborted")
    if drill.status == "scheduled":
        for job_id in session.scalars(
            select(Job.id).where(Job.dedupe_key == f"gameday:{drill.id}:start", Job.status == "queued")
        ):
            jobs.cancel(session, job_id=job_id, now=now)
    _stop(session, runtime, drill, outcome="aborted", reason=reason, now=now)
    drill.abort_reason = reason.strip()[:2000]
    add_entry(session, drill, at=now, kind="aborted", actor=actor.name, text=f"drill aborted: {reason.strip()}")
    audit.record(session, actor=actor, action="abort", object_type="Drill", object_id=drill.id, at=now)
    log.warning("drill %s aborted by %s: %s", drill.id, actor.name, reason)
    return drill


def abort_running(
    session: Session, runtime: Runtime, *, reason: str, now: datetime, services: set[str] | None = None
) -> list[str]:
    """Abort every running drill (or those on one of `services`); returns their ids."""
    aborted = []
    for drill in list_drills(session, status="running"):
        spec = spec_of(drill)
        if services is not None and not (services & set(spec.services)):
            continue
        abort(session, runtime, drill_id=drill.id, reason=reason, actor=Actor.system("gamedays"), now=now)
        aborted.append(drill.id)
    return aborted


def describe(session: Session, drill: Drill) -> DrillOut:
    injects = session.scalars(select(DrillInject).where(DrillInject.drill_id == drill.id).order_by(DrillInject.id))
    return DrillOut(
        id=drill.id,
        scenario=drill.scenario,
        title=drill.title,
        kind=drill.kind,
        status=drill.status,
        scheduled_for=drill.scheduled_for,
        started_at=drill.started_at,
        ended_at=drill.ended_at,
        abort_reason=drill.abort_reason,
        version=drill.version,
        injects=[
            InjectOut(inject_id=i.inject_id, kind=i.kind, due_at=i.due_at, status=i.status, fired_at=i.fired_at)
            for i in injects
        ],
    )


def scenarios(session: Session) -> list[ScenarioOut]:
    out = []
    for name, raw in sorted(manifest.stored_specs(session, kind=KIND).items()):
        spec = GameDaySpec.model_validate(raw)
        out.append(
            ScenarioOut(
                name=name,
                title=spec.title,
                kind=spec.kind,
                services=spec.services,
                participants=len(spec.participants),
                injects=len(spec.injects),
                expectations=len(spec.expectations),
                schedule_start=spec.schedule.start,
            )
        )
    return out
