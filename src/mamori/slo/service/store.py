"""Counts read back from the database for evaluation: window sums from slo_totals, minutes from slo_buckets."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.slo.models import SloBucket, SloTotal


def decompose(start: int, end: int) -> list[tuple[int, int, int]]:
    """[start, end) in epoch minutes as (level, from, to) ranges of whole minutes, hours and days (UTC).

    A 28-day window becomes at most 27 day rows, 2 x 23 hour rows and 2 x 59 minute rows per series."""
    if end <= start:
        return []
    hour_from, hour_to = -(-start // 60) * 60, end // 60 * 60
    if hour_from >= hour_to:
        return [(0, start, end)]
    parts = [(0, start, hour_from), (0, hour_to, end)]
    day_from, day_to = -(-hour_from // 1440) * 1440, hour_to // 1440 * 1440
    if day_from >= day_to:
        parts.append((1, hour_from, hour_to))
    else:
        parts += [(1, hour_from, day_from), (1, day_to, hour_to), (2, day_from, day_to)]
    return [p for p in parts if p[1] < p[2]]


class DbStore:
    """Counts read from slo_totals (window sums) and slo_buckets (per-minute rows for time slices).

    `prefetch` sums every window of every series with one grouped query per distinct (level, range): windows
    of the same length share their ranges, so a round over 1,000 SLOs is a few dozen small index-range scans,
    and the rows read do not grow with the number of events or with the window length beyond 27 day rows."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[str, int, int], tuple[int, int]] = {}
        self._ranges: dict[tuple[int, int, int], dict[str, tuple[int, int]]] = {}

    def _range(self, level: int, start: int, end: int, series: str | None = None) -> dict[str, tuple[int, int]]:
        key = (level, start, end)
        found = self._ranges.get(key)
        if found is not None:
            return found
        query = (
            select(SloTotal.series, func.sum(SloTotal.good), func.sum(SloTotal.total))
            .where(SloTotal.level == level, SloTotal.start >= start, SloTotal.start < end)
            .group_by(SloTotal.series)
        )
        if series is not None:
            query = query.where(SloTotal.series == series)
        rows = {name: (int(g), int(t)) for name, g, t in self.session.execute(query)}
        if series is None:
            self._ranges[key] = rows
        return rows

    def _sum(self, series: str, start: int, end: int, *, single: bool) -> tuple[int, int]:
        good = total = 0
        for level, a, b in decompose(start, end):
            g, t = self._range(level, a, b, series if single else None).get(series, (0, 0))
            good += g
            total += t
        return good, total

    def prefetch(self, series: list[str], starts: set[int], end: int) -> None:
        """Sum [start, end) for every start, for every series, in one query per distinct range."""
        if not series:
            return
        for start in starts:
            for name in series:
                self._cache[(name, start, end)] = self._sum(name, start, end, single=False)

    def totals(self, series: str, start: int, end: int) -> tuple[int, int]:
        cached = self._cache.get((series, start, end))
        if cached is not None:
            return cached
        return self._sum(series, start, end, single=True)

    def minutes(self, series: str, start: int, end: int) -> list[tuple[int, int, int]]:
        rows = self.session.execute(
            select(SloBucket.minute, func.sum(SloBucket.good), func.sum(SloBucket.total))
            .where(SloBucket.series == series, SloBucket.minute >= start, SloBucket.minute < end)
            .group_by(SloBucket.minute)
            .order_by(SloBucket.minute)
        ).all()
        return [(int(m), int(g), int(t)) for m, g, t in rows]
