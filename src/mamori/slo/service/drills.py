"""A game day's SLO events, kept in a drill-only slice: per-minute rows of a series of their own
(`drill:<drill id>:<slo>#<objective>`), which no budget, burn alert, error-budget policy or release freeze reads
(they all read the objective's own series). What the events would have done is worked out here and handed back
for the drill's timeline: the SLI of the slice, its burn rate and the burn rules it would have tripped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import NotFound
from mamori.slo.evaluate import to_minute
from mamori.slo.models import SloBucket
from mamori.slo.service.ingest import _upsert
from mamori.slo.service.objectives import Plans, compiled

DRILL_SERIES = "drill:"


def drill_series(drill_id: str, series: str) -> str:
    return f"{DRILL_SERIES}{drill_id}:{series}"


@dataclass(frozen=True)
class DrillObjectiveSlice:
    series: str
    """The drill-only series the events were stored under."""
    objective: str
    target: float
    sli: float
    burn_rate: float
    would_fire: tuple[str, ...]
    """The burn rules (`severity long/short > threshold`) these events alone would have tripped."""


@dataclass(frozen=True)
class DrillSlice:
    slo: str
    service: str
    good: int
    total: int
    objectives: tuple[DrillObjectiveSlice, ...]

    def text(self) -> str:
        parts = [
            f"{o.objective}: SLI {o.sli:.2%} (target {o.target:.2%}), burn {o.burn_rate:.1f}x"
            + (f", would fire {'; '.join(o.would_fire)}" if o.would_fire else ", would fire no burn alert")
            for o in self.objectives
        ]
        return f"drill-only SLO slice of {self.slo} ({self.good} good of {self.total}): " + " | ".join(parts)


def _minutes(text: timedelta) -> str:
    minutes = int(text.total_seconds() // 60)
    return f"{minutes // 1440}d" if minutes % 1440 == 0 else f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def take_drill_events(
    session: Session,
    *,
    drill_id: str,
    inject_id: str,
    slo: str,
    good: int,
    total: int,
    over: timedelta,
    at: datetime,
    plans: Plans | None = None,
) -> DrillSlice:
    """Store a drill's `good` of `total` events, spread over the minutes of `over` up to `at`, in the drill-only
    series of each objective of `slo`; NotFound when no applied SLO has that name."""
    objectives = [o for o in compiled(session, plans)[0] if o.slo == slo]
    if not objectives:
        raise NotFound(f"no SLO {slo!r} is applied: the drill's SLO events were not taken")
    end = to_minute(at)
    width = max(1, math.ceil(over.total_seconds() / 60))
    rows, slices = [], []
    for objective in objectives:
        series = drill_series(drill_id, objective.series)
        for i in range(width):
            share_good, share_total = _share(good, width, i), _share(total, width, i)
            if share_total or share_good:
                rows.append(
                    {
                        "series": series,
                        "slice": inject_id,
                        "minute": end - width + i,
                        "good": share_good,
                        "total": share_total,
                    }
                )
        sli = min(good, total) / total if total else 1.0
        burn = (1 - sli) / max(1 - objective.target, 1e-9)
        fired = tuple(
            f"{r.severity} {_minutes(r.long_window)}/{_minutes(r.short_window)} > {r.threshold:g}x"
            for r in objective.rules
            if burn > r.threshold
        )
        slices.append(DrillObjectiveSlice(series, objective.name, objective.target, sli, burn, fired))
    rows.sort(key=lambda r: (r["series"], r["slice"], r["minute"]))
    taken = select(SloBucket.minute).where(SloBucket.series == slices[0].series, SloBucket.slice == inject_id)
    if session.scalar(taken.limit(1)) is None:  # a repeated delivery adds nothing twice
        _upsert(session, SloBucket, ["series", "slice", "minute"], rows)
    return DrillSlice(slo, objectives[0].service, good, total, tuple(slices))


def _share(count: int, parts: int, i: int) -> int:
    """The i-th of `parts` near-equal shares of `count` (the shares add up to `count`)."""
    return count // parts + (1 if i < count % parts else 0)
