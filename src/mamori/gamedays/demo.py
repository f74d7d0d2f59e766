"""Demo data: two scenarios (a checkout outage after a deploy, a vendor OAuth-token leak) with their drill paging
set-up; the first already run three days ago (its recorded timeline, scored), the second scheduled."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.gamedays import scoring
from mamori.gamedays.models import Drill, DrillInject
from mamori.gamedays.service import drills, reports
from mamori.gamedays.service.entries import add_entry

DEMO_DIR = Path(__file__).resolve().parent / "demo"
RUN = "checkout-outage"
SCHEDULED = "vendor-oauth-leak"

# The run drill's responses, as minutes after the start: (minute, kind, actor, text, data)
RESPONSES: list[tuple[int, str, str | None, str, dict[str, object]]] = [
    (
        1,
        scoring.INJECT_FIRED,
        "gamedays",
        "alert sent to drills: [DRILL] Checkout 5xx above 20% on jobs-api",
        {"inject": "checkout-errors", "inject_kind": "alert"},
    ),
    (1, scoring.ALERT_OPENED, None, "alert group opened", {"group_id": "demo-drill-group"}),
    (1, scoring.PAGED, "bob@jobs.example", "paged bob@jobs.example by email (step 0)", {"person": "bob@jobs.example"}),
    (4, scoring.ACKNOWLEDGED, "bob@jobs.example", "acknowledged by bob@jobs.example", {"group_id": "demo-drill-group"}),
    (7, scoring.DECLARED, "bob@jobs.example", "incident declared SEV3 by bob@jobs.example", {"severity": "SEV3"}),
    (
        9,
        scoring.ROLE_ASSIGNED,
        "bob@jobs.example",
        "alice@jobs.example is commander by bob@jobs.example",
        {"role": "commander", "person": "alice@jobs.example"},
    ),
    (
        10,
        scoring.SEVERITY_CHANGED,
        "alice@jobs.example",
        "severity SEV3 -> SEV2 by alice@jobs.example",
        {"severity": "SEV2", "previous": "SEV3"},
    ),
    (
        11,
        scoring.CLUE_REVEALED,
        "erin@jobs.example",
        "clue: the deploy log shows the new-search ramp went out",
        {"inject": "deploy-clue", "inject_kind": "clue"},
    ),
    (
        13,
        scoring.STATUS_UPDATED,
        "alice@jobs.example",
        "status identified by alice@jobs.example",
        {"status": "identified"},
    ),
    (
        18,
        scoring.FLAG_CHANGED,
        "alice@jobs.example",
        "flag new-search toggle in production by alice@jobs.example",
        {"flag": "new-search", "environment": "production"},
    ),
    (
        25,
        scoring.STATUS_UPDATED,
        "alice@jobs.example",
        "status monitoring by alice@jobs.example",
        {"status": "monitoring"},
    ),
    (40, scoring.STATUS_UPDATED, "alice@jobs.example", "status resolved by alice@jobs.example", {"status": "resolved"}),
    (40, scoring.INCIDENT_RESOLVED, "alice@jobs.example", "incident resolved by alice@jobs.example", {}),
]


def _recorded_drill(runtime: Runtime, *, start: datetime) -> None:
    """The run drill as its timeline was recorded (no alert is sent again: it happened three days ago)."""
    with runtime.sessions.begin() as session:
        spec = drills.scenario_spec(session, RUN)
        drill = Drill(
            scenario=RUN,
            title=spec.title,
            kind=spec.kind,
            spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            status="finished",
            started_at=start,
            ended_at=start + timedelta(minutes=45),
            created_by="erin@jobs.example",
            created_at=start,
            notes="Declared SEV3 first; the deploy clue was needed before anyone looked at the ramp.",
            action_items=["Link the deploy log from the jobs-api alert", "Name a communications lead in the runbook"],
        )
        session.add(drill)
        session.flush()
        for inject in spec.injects:
            fired = inject.id in ("checkout-errors", "deploy-clue")
            session.add(
                DrillInject(
                    drill_id=drill.id,
                    inject_id=inject.id,
                    kind=inject.kind,
                    due_at=start + inject.at if inject.at is not None else None,
                    status="fired" if fired else "cancelled",
                    fired_at=start + timedelta(minutes=1 if inject.id == "checkout-errors" else 11) if fired else None,
                )
            )
        add_entry(session, drill, at=start, kind="started", actor="erin@jobs.example", text="drill started")
        for minute, kind, actor, text, data in RESPONSES:
            add_entry(
                session, drill, at=start + timedelta(minutes=minute), kind=kind, actor=actor, text=text, data=dict(data)
            )
        add_entry(
            session,
            drill,
            at=start + timedelta(minutes=45),
            kind="ended",
            actor="erin@jobs.example",
            text="drill finished",
        )
        reports.score(session, drill_id=drill.id, now=runtime.now())


def seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_DIR, runtime.kinds), actor=Actor(name="demo", source="config"))
    with runtime.sessions() as session:
        if session.scalar(select(Drill.id).limit(1)) is not None:
            return
    now = runtime.now()
    _recorded_drill(runtime, start=now - timedelta(days=3))
    with runtime.sessions.begin() as session:
        when = now + timedelta(days=2)
        drills.create(
            session,
            runtime,
            scenario=SCHEDULED,
            actor=Actor(name="alice@jobs.example", source="ui"),
            now=now,
            start_at=when,
        )
