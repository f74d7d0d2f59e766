"""Scores, reports and trends: score a drill from its recorded timeline (again, with another scenario, after a
rule changed), keep the latest score, render the report, and follow times and practised roles across drills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mamori.core.errors import Conflict, ValidationFailed
from mamori.core.models import Team, TeamMembership, User
from mamori.gamedays import report, scoring
from mamori.gamedays.models import Drill, DrillScore
from mamori.gamedays.scenario import GameDaySpec
from mamori.gamedays.service import drills
from mamori.gamedays.service.entries import add_entry, as_scoring, collect_flag_changes, entries_of


def adopt_current_scenario(session: Session, *, drill_id: str, actor: str, now: datetime) -> Drill:
    """Score this drill from now on against its scenario as applied today (after its expectations changed):
    its recorded timeline stays as it was, only the rules it is judged by change."""
    drill = drills.get(session, drill_id, lock=True)
    current = drills.scenario_spec(session, drill.scenario).model_dump(mode="json", by_alias=True, exclude_none=True)
    if current != drill.spec:
        drill.spec, drill.version = current, drill.version + 1
        add_entry(session, drill, at=now, kind="note", actor=actor, text="now scored against the current scenario")
    return drill


def score(
    session: Session, *, drill_id: str, now: datetime, spec: GameDaySpec | None = None, keep: bool = True
) -> scoring.Score:
    """Score a drill from its timeline (with `spec`, against another version of its scenario); `keep` stores it."""
    drill = drills.get(session, drill_id)
    if drill.started_at is None:
        raise Conflict(f"drill {drill_id} has not started; there is nothing to score")
    if keep:
        collect_flag_changes(session, drill, now=now)
    entries = as_scoring(entries_of(session, drill.id))
    result = scoring.score(spec or drills.spec_of(drill), entries, start=drill.started_at, end=drill.ended_at, now=now)
    if keep:
        session.execute(delete(DrillScore).where(DrillScore.drill_id == drill.id))
        for o in result.outcomes:
            session.add(
                DrillScore(
                    drill_id=drill.id,
                    expectation_id=o.expectation,
                    kind=o.kind,
                    outcome=o.outcome,
                    points=o.points,
                    weight=o.weight,
                    met_at=o.met_at,
                    deadline=o.deadline,
                    detail={"note": o.note, "credited": list(o.credited), "evidence": [e.ref for e in o.evidence]},
                    scored_at=now,
                )
            )
        session.flush()
    return result


def seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def teams_of(session: Session, people: list[str]) -> dict[str, list[str]]:
    """Which Mamori teams each of these people (by e-mail) belongs to."""
    rows = session.execute(
        select(User.email, Team.name)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .join(Team)
        .where(User.email.in_(people))
    )
    out: dict[str, list[str]] = {}
    for email, team in rows:
        out.setdefault(email, []).append(team)
    return out


def score_json(result: scoring.Score, teams: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The score as plain data (the API's and the JSON report's shape); `teams`: person -> teams."""
    return {
        "teams": [
            {
                "team": t.team,
                "members": list(t.members),
                "points": t.points,
                "percent": t.percent,
                "credited": list(t.credited),
            }
            for t in scoring.team_scores(result, teams or {})
        ],
        "team_percent": result.team_percent,
        "points": result.points,
        "possible": result.possible,
        "time_to_acknowledge_seconds": seconds(result.time_to_acknowledge),
        "time_to_declare_seconds": seconds(result.time_to_declare),
        "time_to_mitigate_seconds": seconds(result.time_to_mitigate),
        "expectations": [
            {
                "id": o.expectation,
                "kind": o.kind,
                "outcome": o.outcome,
                "points": o.points,
                "weight": o.weight,
                "deadline": o.deadline.isoformat() if o.deadline else None,
                "met_at": o.met_at.isoformat() if o.met_at else None,
                "took_seconds": seconds(o.took),
                "evidence": [e.ref for e in o.evidence],
                "credited": list(o.credited),
                "note": o.note,
            }
            for o in result.outcomes
        ],
        "participants": [
            {
                "user": p.user,
                "role": p.role,
                "points": p.points,
                "credited": list(p.credited),
                "incident_roles": list(p.incident_roles),
                "acknowledged": p.acknowledged,
            }
            for p in result.participants
        ],
    }


def report_json(session: Session, *, drill_id: str, now: datetime) -> dict[str, Any]:
    drill = drills.get(session, drill_id)
    result = score(session, drill_id=drill_id, now=now)
    return {
        "drill": {
            "id": drill.id,
            "scenario": drill.scenario,
            "title": drill.title,
            "kind": drill.kind,
            "status": drill.status,
            "started_at": drill.started_at.isoformat() if drill.started_at else None,
            "ended_at": drill.ended_at.isoformat() if drill.ended_at else None,
            "abort_reason": drill.abort_reason,
        },
        "score": score_json(result, teams_of(session, [p.user for p in result.participants])),
        "timeline": [
            {"id": e.id, "at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "text": e.text, "data": e.data}
            for e in entries_of(session, drill.id)
        ],
        "notes": drill.notes,
        "action_items": list(drill.action_items),
    }


def report_markdown(session: Session, *, drill_id: str, now: datetime) -> str:
    drill = drills.get(session, drill_id)
    result = score(session, drill_id=drill_id, now=now)
    rows = entries_of(session, drill.id)
    return report.markdown(
        title=drill.title,
        drill_id=drill.id,
        status=drill.status,
        started_at=drill.started_at,
        ended_at=drill.ended_at,
        abort_reason=drill.abort_reason,
        score=result,
        entries=as_scoring(rows),
        texts={e.id: e.text for e in rows},
        notes=drill.notes,
        action_items=drill.action_items,
    )


def update_debrief(
    session: Session, *, drill_id: str, notes: str, action_items: list[str], version: int, now: datetime
) -> Drill:
    """Replace the debrief's notes and action items; `version` must be the one read (two editors do not clash)."""
    drill = drills.get(session, drill_id, lock=True)
    if drill.version != version:
        raise Conflict(f"drill {drill_id} changed since it was read (version {drill.version}, not {version}); reload")
    if len(notes) > 100_000 or len(action_items) > 200 or any(len(i) > 1000 for i in action_items):
        raise ValidationFailed("notes are at most 100000 characters; at most 200 action items of 1000 characters")
    drill.notes, drill.version = notes, drill.version + 1
    drill.action_items = [i.strip() for i in action_items if i.strip()]
    return drill


@dataclass(frozen=True)
class TrendPoint:
    drill_id: str
    scenario: str
    title: str
    started_at: datetime
    status: str
    team_percent: float
    time_to_acknowledge: timedelta | None
    time_to_declare: timedelta | None
    time_to_mitigate: timedelta | None


def trends(session: Session, *, now: datetime, scenario: str | None = None) -> list[TrendPoint]:
    """Every drill that ran, oldest first, with its times (scored afresh from its timeline, nothing stored)."""
    query = select(Drill).where(Drill.started_at.is_not(None)).order_by(Drill.started_at)
    if scenario:
        query = query.where(Drill.scenario == scenario)
    out = []
    for drill in session.scalars(query):
        assert drill.started_at is not None
        result = scoring.score(
            drills.spec_of(drill),
            as_scoring(entries_of(session, drill.id)),
            start=drill.started_at,
            end=drill.ended_at,
            now=now,
        )
        out.append(
            TrendPoint(
                drill.id,
                drill.scenario,
                drill.title,
                drill.started_at,
                drill.status,
                result.team_percent,
                result.time_to_acknowledge,
                result.time_to_declare,
                result.time_to_mitigate,
            )
        )
    return out


ROLES = ("commander", "communications", "scribe")


def never_practised(session: Session) -> dict[str, list[str]]:
    """Incident roles each responder named in any drill has never held in one: person -> roles (game masters and
    observers run and watch drills; they are not asked to practise)."""
    people: set[str] = set()
    held: dict[str, set[str]] = {}
    for drill in session.scalars(select(Drill)):
        people.update(
            p["user"] for p in drill.spec.get("participants", []) if p.get("role", "responder") == "responder"
        )
        for entry in entries_of(session, drill.id):
            if entry.kind == scoring.ROLE_ASSIGNED and entry.data.get("person"):
                held.setdefault(str(entry.data["person"]), set()).add(str(entry.data.get("role")))
    return {
        p: [r for r in ROLES if r not in held.get(p, set())] for p in sorted(people) if set(ROLES) - held.get(p, set())
    }
