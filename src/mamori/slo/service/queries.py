"""Read use cases: SLO statuses and alerts, SLOs by service and user story, one SLO's history and charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from mamori.core.errors import NotFound
from mamori.core.models import TimelineEvent
from mamori.slo import charts, definitions
from mamori.slo.definitions import CompiledObjective
from mamori.slo.evaluate import to_minute
from mamori.slo.models import SloAlert, SloBucket, SloStatus
from mamori.slo.service import enforcement
from mamori.slo.service.objectives import Plans, list_objectives

MARKER_KINDS = ("deploy", "flag_change", "incident", "slo_burn", "slo_policy")
POINTS = 120


def get_status(session: Session, *, slo: str) -> list[SloStatus]:
    rows = list(session.scalars(select(SloStatus).where(SloStatus.slo == slo).order_by(SloStatus.objective)))
    if not rows:
        raise NotFound(f"no SLO named {slo!r} has been evaluated")
    return rows


def list_status(session: Session) -> list[SloStatus]:
    return list(
        session.scalars(
            select(SloStatus).order_by(SloStatus.service, SloStatus.user_story, SloStatus.slo, SloStatus.objective)
        )
    )


def list_alerts(session: Session, *, status: str | None = None) -> list[SloAlert]:
    query = select(SloAlert).order_by(SloAlert.started_at.desc())
    if status:
        query = query.where(SloAlert.status == status)
    return list(session.scalars(query))


@dataclass
class StoryRow:
    status: SloStatus
    bar: str
    firing: list[str]


@dataclass
class ServiceGroup:
    service: str
    stories: dict[str, list[StoryRow]] = field(default_factory=dict)


def overview(session: Session) -> list[ServiceGroup]:
    firing: dict[str, list[str]] = {}
    for alert in list_alerts(session, status="firing"):
        firing.setdefault(alert.series, []).append(f"{alert.severity} {alert.long_window}/{alert.short_window}")
    groups: dict[str, ServiceGroup] = {}
    for status in list_status(session):
        group = groups.setdefault(status.service, ServiceGroup(status.service))
        group.stories.setdefault(status.user_story, []).append(
            StoryRow(status, charts.budget_bar(status.remaining), firing.get(status.series, []))
        )
    return list(groups.values())


def history(
    session: Session, objective: CompiledObjective, *, start: datetime, end: datetime, step_minutes: int
) -> list[tuple[datetime, int, int]]:
    """(step start, good, total) per step of the built-in source's buckets."""
    step = max(step_minutes, 1)
    # The step is inlined (an int computed here): with a bound parameter PostgreSQL cannot match the
    # SELECT and GROUP BY expressions.
    key = SloBucket.minute // literal_column(str(int(step)))
    rows = session.execute(
        select(key, func.sum(SloBucket.good), func.sum(SloBucket.total))
        .where(
            SloBucket.series == objective.series,
            SloBucket.minute >= to_minute(start),
            SloBucket.minute < to_minute(end),
        )
        .group_by(key)
        .order_by(key)
    ).all()
    return [(datetime.fromtimestamp(int(k) * step * 60, start.tzinfo), int(g), int(t)) for k, g, t in rows]


def _markers(session: Session, service_name: str, start: datetime, end: datetime) -> list[charts.Marker]:
    rows = session.scalars(
        select(TimelineEvent)
        .where(
            TimelineEvent.service == service_name,
            TimelineEvent.kind.in_(MARKER_KINDS),
            TimelineEvent.at >= start,
            TimelineEvent.at < end,
        )
        .order_by(TimelineEvent.at)
        .limit(500)
    )
    return [charts.Marker(r.at, r.kind, f"{r.at:%Y-%m-%d %H:%M} {r.title}") for r in rows]


def _series(
    rows: list[tuple[datetime, int, int]], target: float, carry: tuple[int, int] = (0, 0)
) -> tuple[list[tuple[datetime, float | None]], list[tuple[datetime, float | None]]]:
    """The SLI per step and the budget left after it; `carry` (good, total) counts the window before the rows."""
    sli: list[tuple[datetime, float | None]] = []
    remaining: list[tuple[datetime, float | None]] = []
    good_sum, total_sum = carry
    allowed = 1 - Fraction(str(target))
    for at, good, total in rows:
        sli.append((at, good / total if total else None))
        good_sum, total_sum = good_sum + good, total_sum + total
        used = Fraction(total_sum - good_sum) / (total_sum * allowed) if total_sum else Fraction(0)
        remaining.append((at, float(1 - used)))
    return sli, remaining


def _weighted(parts: list[tuple[float, list[tuple[datetime, float | None]]]]) -> list[tuple[datetime, float | None]]:
    """Weighted mean, per point in time, of the members' series that have a value there (composite SLOs)."""
    at_time: dict[datetime, list[tuple[float, float]]] = {}
    for weight, series in parts:
        for at, value in series:
            if value is not None:
                at_time.setdefault(at, []).append((weight, value))
    return [(at, sum(w * v for w, v in vs) / sum(w for w, _ in vs)) for at, vs in sorted(at_time.items())]


def _item(
    session: Session,
    objective: CompiledObjective,
    status: SloStatus | None,
    *,
    sli: list[tuple[datetime, float | None]],
    remaining: list[tuple[datetime, float | None]],
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    markers = _markers(session, objective.service, start, end)
    low = min([objective.target - (1 - objective.target)] + [v for _, v in sli if v is not None])
    return {
        "objective": objective,
        "status": status,
        "result": status.result if status else None,
        "sli_chart": charts.line_chart(
            sli,
            start=start,
            end=end,
            low=max(low, 0.0),
            high=1.0,
            reference=objective.target,
            markers=markers,
            title=f"SLI of {objective.display_name} ({objective.name})",
        ),
        "budget_chart": charts.line_chart(
            remaining,
            start=start,
            end=end,
            low=min([0.0] + [v for _, v in remaining if v is not None]),
            high=1.0,
            reference=0.0,
            markers=markers,
            title=f"Error budget remaining of {objective.display_name}",
        ),
        "alerts": list(
            session.scalars(
                select(SloAlert)
                .where(SloAlert.series == objective.series)
                .order_by(SloAlert.started_at.desc())
                .limit(50)
            )
        ),
        "markers": markers,
    }


def detail(
    session: Session, *, slo: str, now: datetime, plans: Plans | None = None, view: timedelta | None = None
) -> list[dict[str, Any]]:
    """Each objective of an SLO with its charts (over its window, or the last `view` of it); a composite SLO
    also shows its combined objective."""
    statuses = {s.objective: s for s in get_status(session, slo=slo)}
    members = [o for o in list_objectives(session, plans) if o.slo == slo]
    out = []
    sli_parts, budget_parts = [], []
    for objective in members:
        start, end = objective.window.bounds(now)
        carry = (0, 0)
        if view is not None and end - view > start:
            before = history(session, objective, start=start, end=end - view, step_minutes=10**7)
            carry = (sum(g for _, g, _ in before), sum(t for _, _, t in before))
            start = end - view
        step = max(int((end - start) / timedelta(minutes=1)) // POINTS, 1)
        rows = history(session, objective, start=start, end=end, step_minutes=step)
        sli, remaining = _series(rows, objective.target, carry)
        weight = objective.composite_weight or 1.0
        sli_parts.append((weight, sli))
        budget_parts.append((weight, remaining))
        out.append(
            _item(session, objective, statuses.get(objective.index), sli=sli, remaining=remaining, start=start, end=end)
        )
    if len(members) > 1 and all(m.composite for m in members):
        composite = definitions.composite_objective(members)
        start, end = composite.window.bounds(now)
        if view is not None and end - view > start:
            start = end - view
        used = _weighted([(w, [(at, None if v is None else 1 - v) for at, v in r]) for w, r in budget_parts])
        out.append(
            _item(
                session,
                composite,
                statuses.get(definitions.COMPOSITE_INDEX),
                sli=_weighted(sli_parts),
                remaining=[(at, None if v is None else 1 - v) for at, v in used],
                start=start,
                end=end,
            )
        )
    actions = enforcement.list_actions(session, slo=slo)
    return [dict(item, actions=actions) for item in out]
