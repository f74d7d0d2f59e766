"""Evaluate compiled objectives at an instant over any store of per-minute counts. No I/O of its own.

`at` is taken at whole minutes (seconds are dropped): a window `[at - w, at)` is the sum of the
buckets of the minutes that start inside it, so it is exact and counts only completed minutes.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any, Protocol

from mamori.core.duration import format_duration
from mamori.slo.budget import BURN_WINDOWS, BurnRule, exact, timeslice_units
from mamori.slo.counting import Tally, minute_start
from mamori.slo.definitions import CompiledObjective


class CountStore(Protocol):
    def totals(self, series: str, start: int, end: int) -> tuple[float, float]:
        """(good, total) summed over the minutes [start, end) (epoch minutes), over all slices."""
        ...

    def minutes(self, series: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """(minute, good, total) for each minute with events in [start, end), in order."""
        ...


class MemoryStore:
    """Counts held in memory (the offline command); prefix sums make each window two lookups."""

    def __init__(self, tally: Tally) -> None:
        per_series: dict[str, dict[int, list[int]]] = {}
        for (series, _slice, minute), (good, total) in tally.counts.items():
            acc = per_series.setdefault(series, {}).setdefault(minute, [0, 0])
            acc[0] += good
            acc[1] += total
        self._rows: dict[str, tuple[list[int], list[int], list[int], list[tuple[int, int, int]]]] = {}
        for series, by_minute in per_series.items():
            keys = sorted(by_minute)
            good_sums, total_sums = [0], [0]
            for key in keys:
                good_sums.append(good_sums[-1] + by_minute[key][0])
                total_sums.append(total_sums[-1] + by_minute[key][1])
            rows = [(k, by_minute[k][0], by_minute[k][1]) for k in keys]
            self._rows[series] = (keys, good_sums, total_sums, rows)

    def totals(self, series: str, start: int, end: int) -> tuple[int, int]:
        if series not in self._rows:
            return 0, 0
        keys, good_sums, total_sums, _ = self._rows[series]
        lo, hi = bisect_left(keys, start), bisect_left(keys, end)
        return good_sums[hi] - good_sums[lo], total_sums[hi] - total_sums[lo]

    def minutes(self, series: str, start: int, end: int) -> list[tuple[int, int, int]]:
        if series not in self._rows:
            return []
        keys, _, _, rows = self._rows[series]
        return rows[bisect_left(keys, start) : bisect_left(keys, end)]


def to_minute(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp() // 60)


@dataclass(frozen=True)
class Measured:
    good: float  # whole numbers for counted events; queried sources may answer rates
    total: float
    error_ratio: Fraction | None  # None without data
    events: float = 0  # events in the range (the minimum-events guard counts events for every method)


def measure(objective: CompiledObjective, store: CountStore, start: int, end: int) -> Measured:
    """Good/total units over [start, end): events (Occurrences) or time slices (Timeslices)."""
    if objective.budgeting_method == "Occurrences":
        good, total = store.totals(objective.series, start, end)
        if total <= 0:
            return Measured(good, total, None, total)
        if type(good) is int and type(total) is int:
            return Measured(good, total, Fraction(total - good, total), total)
        return Measured(good, total, Fraction(total - good) / Fraction(total), total)
    rows = store.minutes(objective.series, start, end)
    if objective.budgeting_method == "Timeslices":
        slice_target = objective.slice_target if objective.slice_target is not None else objective.target
        units = timeslice_units(
            [(minute_start(m), g, t) for m, g, t in rows],
            slice_minutes=objective.slice_minutes,
            slice_target=slice_target,
        )
        return Measured(
            units.good,
            units.total,
            Fraction(units.total - units.good) / Fraction(units.total) if units.total else None,
            sum(t for _m, _g, t in rows),
        )
    # RatioTimeslices: the SLI is the mean of the slices' good ratios.
    slices: dict[int, list[int]] = {}
    for minute, good, total in rows:
        acc = slices.setdefault(minute // objective.slice_minutes, [0, 0])
        acc[0] += good
        acc[1] += total
    ratios = [Fraction(g, t) for g, t in slices.values() if t]
    good = sum(g for g, _ in slices.values())
    total = sum(t for _, t in slices.values())
    return Measured(good, total, 1 - sum(ratios, Fraction(0)) / len(ratios) if ratios else None, total)


@lru_cache(maxsize=4096)
def _allowed(target: float) -> tuple[int, int]:
    """1 - target as an exact (numerator, denominator)."""
    allowed = 1 - exact(target)
    return allowed.numerator, allowed.denominator


def _burn(measured: Measured, target: float) -> float:
    """error ratio / (1 - target), exactly: one correctly rounded integer division."""
    if measured.error_ratio is None:
        return 0.0
    num, den = _allowed(target)
    ratio = measured.error_ratio
    return (ratio.numerator * den) / (ratio.denominator * num)


def firing_rules(
    objective: CompiledObjective, measured: dict[timedelta, Measured], burns: dict[timedelta, float]
) -> list[BurnRule]:
    """The burn rules that fire: both windows burn faster than the threshold, and the long window saw at least
    `min_events` events.

    Alerts use the same burn rate as the budget, per budgeting method, so that an alert means "the budget, as
    this SLO counts it, is going at this speed": Occurrences -> bad events / events; Timeslices -> bad slices /
    slices; RatioTimeslices -> 1 - the mean of the slices' good ratios (each slice weighs the same however busy
    it is), each divided by 1 - target. A burst of errors inside one busy minute therefore burns a
    RatioTimeslices budget only as much as that one slice, exactly as the budget itself is charged."""
    fired = []
    for rule in objective.rules:
        if measured[rule.long_window].events < objective.min_events:
            continue
        if burns[rule.long_window] > rule.threshold and burns[rule.short_window] > rule.threshold:
            fired.append(rule)
    return fired


def _windows(objective: CompiledObjective) -> set[timedelta]:
    return (
        set(BURN_WINDOWS.values())
        | {r.long_window for r in objective.rules}
        | {r.short_window for r in objective.rules}
    )


def _measure_all(
    objective: CompiledObjective, store: CountStore, at: datetime
) -> tuple[Measured, dict[timedelta, Measured]]:
    end = to_minute(at)
    window_start, _ = objective.window.bounds(minute_start(end))
    overall = measure(objective, store, to_minute(window_start), end)
    measured = {w: measure(objective, store, end - int(w.total_seconds() // 60), end) for w in _windows(objective)}
    return overall, measured


def _result(
    objective: CompiledObjective,
    *,
    good: float,
    total: float,
    sli: float | None,
    consumed: float,
    remaining: float,
    burns: dict[timedelta, float],
    fired: list[BurnRule],
) -> dict[str, Any]:
    return {
        "slo": objective.slo,
        "service": objective.service,
        "target": objective.target,
        "window": objective.window_text,
        "sli": sli,
        "good": good,
        "total": total,
        "error_budget": {"consumed": consumed, "remaining": remaining},
        "burn_rates": {name: burns[w] for name, w in BURN_WINDOWS.items()},
        "alerts": [
            {
                "severity": r.severity,
                "long_window": format_duration(r.long_window),
                "short_window": format_duration(r.short_window),
                "threshold": r.threshold,
            }
            for r in fired
        ],
    }


def evaluate(objective: CompiledObjective, store: CountStore, at: datetime) -> dict[str, Any]:
    """One objective at `at`, in the shape `mamori slo evaluate` prints."""
    overall, measured = _measure_all(objective, store, at)
    # Exact fractions throughout: for Occurrences this is bad / (total x (1 - target)).
    sli: float | None = None
    consumed, remaining = 0.0, 1.0
    if overall.error_ratio is not None:
        used = overall.error_ratio / (1 - exact(objective.target))
        sli, consumed, remaining = float(1 - overall.error_ratio), float(used), float(1 - used)
    burns = {w: _burn(m, objective.target) for w, m in measured.items()}
    fired = firing_rules(objective, measured, burns)
    return _result(
        objective,
        good=overall.good,
        total=overall.total,
        sli=sli,
        consumed=consumed,
        remaining=remaining,
        burns=burns,
        fired=fired,
    )


def evaluate_composite(
    composite: CompiledObjective, members: list[CompiledObjective], stores: list[CountStore], at: datetime
) -> dict[str, Any]:
    """A composite SLO (OpenSLO objectives with `compositeWeight`, default 1) as one weighted objective.

    Each member's budget consumption and burn rate are first normalised by its own target (error ratio /
    (1 - target)); the composite's are their weighted means: consumed = sum(w_i x consumed_i) / sum(w_i) and
    burn(window) = sum(w_i x burn_i(window)) / sum(w_i), each over the members that saw events in that window
    (a member without data neither consumes nor dilutes). The composite SLI is the weighted mean of the
    members' SLIs, its target the weighted mean of their targets; alerts apply the SLO's burn rules to the
    composite burn rates, with the minimum-events guard on all members' events together."""
    parts = [(m.composite_weight or 1.0, m, *_measure_all(m, s, at)) for m, s in zip(members, stores, strict=True)]
    with_data = [(w, m, overall) for w, m, overall, _ in parts if overall.error_ratio is not None]
    sli: float | None = None
    consumed = 0.0
    if with_data:
        weight = sum(w for w, _m, _o in with_data)
        consumed = sum(w * _burn(o, m.target) for w, m, o in with_data) / weight
        sli = sum(w * float(1 - (o.error_ratio or 0)) for w, _m, o in with_data) / weight
    burns: dict[timedelta, float] = {}
    measured: dict[timedelta, Measured] = {}
    for window in _windows(composite):
        seen = [(w, m, ms[window]) for w, m, _o, ms in parts if window in ms and ms[window].error_ratio is not None]
        weight = sum(w for w, _m, _x in seen)
        burns[window] = sum(w * _burn(x, m.target) for w, m, x in seen) / weight if weight else 0.0
        events = sum(ms[window].events for _w, _m, _o, ms in parts if window in ms)
        measured[window] = Measured(0, 0, None, events)
    fired = firing_rules(composite, measured, burns)
    result = _result(
        composite,
        good=sum(o.good for _w, _m, o, _ in parts),
        total=sum(o.total for _w, _m, o, _ in parts),
        sli=sli,
        consumed=consumed,
        remaining=1 - consumed,
        burns=burns,
        fired=fired,
    )
    result["objective"] = composite.name
    result["components"] = [
        {
            "objective": m.name,
            "weight": w,
            "target": m.target,
            "sli": float(1 - o.error_ratio) if o.error_ratio is not None else None,
        }
        for w, m, o, _ in parts
    ]
    return result


def long_burn(objective: CompiledObjective, store: CountStore, at: datetime, window: timedelta) -> float:
    """The burn rate over one window (what a fired alert reports)."""
    end = to_minute(at)
    return _burn(measure(objective, store, end - int(window.total_seconds() // 60), end), objective.target)
