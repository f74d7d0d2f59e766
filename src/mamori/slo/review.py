"""SLO reviews of a period: attainment, budget used, alerts, incidents and deploys, and suggestions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.core.models import TimelineEvent
from mamori.slo import service
from mamori.slo.budget import budget
from mamori.slo.evaluate import to_minute
from mamori.slo.models import SloAlert, SloPolicyEpisode

HEADROOM = 0.1  # budget used below this share in a period, with no alert, is "never at risk"


@dataclass
class ObjectiveReview:
    slo: str
    objective: str
    service: str
    user_story: str
    target: float
    attainment: float | None
    good: int
    total: int
    budget_used: float
    page_alerts: int
    ticket_alerts: int
    exhausted_episodes: int
    incidents: int
    deploys: int
    suggestions: list[str] = field(default_factory=list)


def _count(session: Session, model: Any, *conditions: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _suggest(item: ObjectiveReview) -> list[str]:
    out = []
    if item.total and item.budget_used < HEADROOM and not item.page_alerts and not item.ticket_alerts:
        out.append(
            f"Never at risk: {item.budget_used:.0%} of the budget used. Consider a tighter target than "
            f"{item.target:.3%} or spending the headroom on faster releases."
        )
    if item.exhausted_episodes >= 2 or (item.budget_used >= 1 and item.page_alerts >= 2):
        out.append(
            "Exhausted again and again: revisit the target with the product owner, or plan reliability work "
            "before new features."
        )
    if item.total == 0:
        out.append("No events in the period: check that the SLI's source still sends data.")
    return out


def review(session: Session, *, since: datetime, until: datetime) -> list[ObjectiveReview]:
    if until <= since:
        raise InvalidInput("--until must be after --since")
    store = service.DbStore(session)
    out = []
    for objective in service.list_objectives(session):
        good, total = store.totals(objective.series, to_minute(since), to_minute(until))
        used = budget(good=good, total=total, target=objective.target)
        in_period = (SloAlert.series == objective.series, SloAlert.started_at >= since, SloAlert.started_at < until)
        events = (TimelineEvent.service == objective.service, TimelineEvent.at >= since, TimelineEvent.at < until)
        item = ObjectiveReview(
            slo=objective.slo,
            objective=objective.name,
            service=objective.service,
            user_story=objective.user_story,
            target=objective.target,
            attainment=used.sli,
            good=good,
            total=total,
            budget_used=used.consumed,
            page_alerts=_count(session, SloAlert, *in_period, SloAlert.severity == "page"),
            ticket_alerts=_count(session, SloAlert, *in_period, SloAlert.severity == "ticket"),
            exhausted_episodes=_count(
                session,
                SloPolicyEpisode,
                SloPolicyEpisode.series == objective.series,
                SloPolicyEpisode.started_at >= since,
                SloPolicyEpisode.started_at < until,
                SloPolicyEpisode.reason.contains("exhausted"),
            ),
            incidents=_count(session, TimelineEvent, *events, TimelineEvent.kind == "incident"),
            deploys=_count(session, TimelineEvent, *events, TimelineEvent.kind == "deploy"),
        )
        item.suggestions = _suggest(item)
        out.append(item)
    return out


def as_json(items: list[ObjectiveReview]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]


def as_markdown(items: list[ObjectiveReview], *, since: datetime, until: datetime) -> str:
    lines = [
        f"# SLO review {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC",
        "",
        "| Service | User story | SLO | Target | Attainment | Budget used | Page / ticket alerts | Incidents "
        "| Deploys |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i in items:
        attained = f"{i.attainment:.3%}" if i.attainment is not None else "no data"
        lines.append(
            f"| {i.service} | {i.user_story} | {i.slo} ({i.objective}) | {i.target:.3%} | {attained} | "
            f"{i.budget_used:.0%} | {i.page_alerts} / {i.ticket_alerts} | {i.incidents} | {i.deploys} |"
        )
    suggestions = [(i, s) for i in items for s in i.suggestions]
    if suggestions:
        lines += ["", "## Suggestions", ""]
        lines += [f"- **{i.slo}** ({i.objective}): {s}" for i, s in suggestions]
    return "\n".join(lines) + "\n"
