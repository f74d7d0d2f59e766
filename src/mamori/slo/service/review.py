"""SLO reviews of a period: attainment, budget used, alerts, incidents and deploys, and suggestions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.core.models import TimelineEvent
from mamori.slo.budget import budget
from mamori.slo.definitions import CompiledObjective
from mamori.slo.evaluate import to_minute
from mamori.slo.models import SloAlert, SloPolicyEpisode, SloTotal
from mamori.slo.service.objectives import Plans, list_objectives
from mamori.slo.service.store import DbStore

HEADROOM = 0.25
"""At most this share of the budget used in every SLO window of the period, with no alert: "never at risk"."""
SAFE_SHARE = 0.5  # a suggested tighter target must still leave half the budget in the period's worst window
TARGETS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999)
DAY = 1440


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
    worst_window_used: float | None = None
    """The most budget used in any SLO window ending in the period (None: not counted by Mamori)."""
    exhaustions: int = 0
    """How many times the budget of the trailing SLO window became exhausted during the period."""
    suggested_target: float | None = None
    suggestions: list[str] = field(default_factory=list)


def _count(session: Session, model: Any, *conditions: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _suggest(item: ObjectiveReview) -> list[str]:
    out = []
    quiet = not item.page_alerts and not item.ticket_alerts
    worst = item.worst_window_used if item.worst_window_used is not None else item.budget_used
    if item.total and quiet and worst < HEADROOM and item.budget_used < HEADROOM:
        text = (
            f"Never at risk: at most {worst:.0%} of the budget was used in any SLO window of the period, "
            "with no burn alert."
        )
        if item.suggested_target is not None:
            text += (
                f" A target of {item.suggested_target:.2%} (now {item.target:.2%}) would still have left half "
                "of the budget in the worst window; or spend the headroom on faster releases."
            )
        else:
            text += " Consider a tighter target or spending the headroom on faster releases."
        out.append(text)
    exhausted = max(item.exhaustions, item.exhausted_episodes)
    if exhausted >= 2:
        out.append(
            f"Exhausted again and again: the budget ran out {exhausted} times in the period. Revisit the target "
            "with the product owner (is it what users need?), or plan reliability work before new features."
        )
    if item.total == 0:
        out.append("No events in the period: check that the SLI's source still sends data.")
    return out


def _all_days(session: Session, first: int, last: int) -> dict[str, dict[int, tuple[int, int]]]:
    """Good/total per series per UTC day (epoch minute of its midnight) in [first, last): one range query."""
    rows = session.execute(
        select(SloTotal.series, SloTotal.start, SloTotal.good, SloTotal.total).where(
            SloTotal.level == 2, SloTotal.start >= first, SloTotal.start < last
        )
    )
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for series, start, good, total in rows:
        out.setdefault(series, {})[int(start)] = (int(good), int(total))
    return out


def _window_days(objective: CompiledObjective) -> int:
    return max(1, -(-int(objective.window.period.total_seconds() // 60) // DAY))


def _day_ends(since: datetime, until: datetime) -> list[int]:
    """Every UTC midnight inside the period, and the end of its last day (epoch minutes)."""
    start, end = to_minute(since), to_minute(until)
    first_end = -(-start // DAY) * DAY
    last_end = -(-end // DAY) * DAY
    return list(range(first_end if first_end > start else first_end + DAY, last_end + 1, DAY)) or [last_end]


def risk_profile(
    objective: CompiledObjective, days: dict[int, tuple[int, int]], ends: list[int]
) -> tuple[float, int, float | None]:
    """(worst window used, exhaustions, suggested target) over trailing SLO windows of whole UTC days.

    The window is evaluated at every UTC midnight inside the period and at the end of the period's last day
    (windows are rounded to whole days: a review shows the course, the exact budget is `budget_used`)."""
    width = _window_days(objective)
    allowed = 1 - objective.target
    worst_used, worst_ratio, exhaustions, was_exhausted = 0.0, 0.0, 0, False
    for stop in ends:
        good = total = 0
        for day in range(stop - width * DAY, stop, DAY):
            g, t = days.get(day, (0, 0))
            good, total = good + g, total + t
        ratio = (total - good) / total if total else 0.0
        used = ratio / allowed
        worst_used, worst_ratio = max(worst_used, used), max(worst_ratio, ratio)
        exhausted = used >= 1
        exhaustions += exhausted and not was_exhausted
        was_exhausted = exhausted
    tighter = [t for t in TARGETS if t > objective.target and worst_ratio / (1 - t) <= SAFE_SHARE]
    return worst_used, exhaustions, (max(tighter) if tighter else None)


def review(session: Session, *, since: datetime, until: datetime, plans: Plans | None = None) -> list[ObjectiveReview]:
    if until <= since:
        raise InvalidInput("--until must be after --since")
    store = DbStore(session)
    objectives = list_objectives(session, plans)
    store.prefetch([o.series for o in objectives], {to_minute(since)}, to_minute(until))
    ends = _day_ends(since, until)
    widest = max((_window_days(o) for o in objectives), default=1)
    days = _all_days(session, ends[0] - widest * DAY, ends[-1])
    out = []
    for objective in objectives:
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
        if objective.counter is not None and objective.budgeting_method == "Occurrences":
            item.worst_window_used, item.exhaustions, item.suggested_target = risk_profile(
                objective, days.get(objective.series, {}), ends
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
