"""Evaluate compiled objectives at an instant over any store of per-minute counts. No I/O of its own.

`at` is taken at whole minutes (seconds are dropped): a window `[at - w, at)` is the sum of the
buckets of the minutes that start inside it, so it is exact and counts only completed minutes.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

from mamori.core.duration import format_duration
from mamori.slo.budget import BURN_WINDOWS, WindowCounts, exact, firing, timeslice_units
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


def measure(objective: CompiledObjective, store: CountStore, start: int, end: int) -> Measured:
    """Good/total units over [start, end): events (Occurrences) or time slices (Timeslices)."""
    if objective.budgeting_method == "Occurrences":
        good, total = store.totals(objective.series, start, end)
        return Measured(good, total, Fraction(total - good) / Fraction(total) if total > 0 else None)
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
    return Measured(good, total, 1 - sum(ratios, Fraction(0)) / len(ratios) if ratios else None)


def _burn(measured: Measured, target: float) -> float:
    if measured.error_ratio is None:
        return 0.0
    return float(measured.error_ratio / (1 - exact(target)))


def evaluate(objective: CompiledObjective, store: CountStore, at: datetime) -> dict[str, Any]:
    """One objective at `at`, in the shape `mamori slo evaluate` prints."""
    end = to_minute(at)
    at_minute = minute_start(end)
    window_start, _ = objective.window.bounds(at_minute)
    overall = measure(objective, store, to_minute(window_start), end)
    # Exact fractions throughout: for Occurrences this is bad / (total x (1 - target)).
    sli: float | None = None
    consumed, remaining = 0.0, 1.0
    if overall.error_ratio is not None:
        used = overall.error_ratio / (1 - exact(objective.target))
        sli, consumed, remaining = float(1 - overall.error_ratio), float(used), float(1 - used)
    windows = (
        set(BURN_WINDOWS.values())
        | {r.long_window for r in objective.rules}
        | {r.short_window for r in objective.rules}
    )
    measured = {w: measure(objective, store, end - int(w.total_seconds() // 60), end) for w in windows}
    counts = {w: WindowCounts(m.good, m.total) for w, m in measured.items()}
    fired = firing(objective.rules, counts, target=objective.target, min_events=objective.min_events)
    return {
        "slo": objective.slo,
        "service": objective.service,
        "target": objective.target,
        "window": objective.window_text,
        "sli": sli,
        "good": overall.good,
        "total": overall.total,
        "error_budget": {"consumed": consumed, "remaining": remaining},
        "burn_rates": {name: _burn(measured[w], objective.target) for name, w in BURN_WINDOWS.items()},
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


def long_burn(objective: CompiledObjective, store: CountStore, at: datetime, window: timedelta) -> float:
    """The burn rate over one window (what a fired alert reports)."""
    end = to_minute(at)
    return _burn(measure(objective, store, end - int(window.total_seconds() // 60), end), objective.target)
