"""Error-budget and burn-rate maths: windows, budgets, multiwindow multi-burn-rate alert thresholds. No I/O.

Semantics (also those of the offline `mamori slo evaluate`):

- windows are half-open, ``[at - w, at)``;
- SLI = good / total; no events means SLI None and nothing consumed;
- budget consumed = bad / (total x (1 - target)); remaining = 1 - consumed (may go negative);
- burn rate over w = (bad_w / total_w) / (1 - target), 0 when total_w is 0;
- alert thresholds scale with the SLO period as Sloth does: threshold = budget share x period / long window.

Targets are turned into exact fractions first, so that 1 - 0.999 is 0.001 and not 0.0010000000000000009.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

Severity = Literal["page", "ticket"]

BURN_WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
}
"""The windows whose burn rates every evaluation reports."""

_OPENSLO_DURATION = re.compile(r"^(\d+)([smhdwMQY])$")
_NOMINAL = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "M": timedelta(days=30),
    "Q": timedelta(days=90),
    "Y": timedelta(days=365),
}


def parse_openslo_duration(text: str) -> tuple[int, str]:
    """`28d` -> (28, "d"). OpenSLO units: s m h d w, and M (month) Q (quarter) Y (year) for calendars."""
    match = _OPENSLO_DURATION.match(str(text).strip())
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"expected a duration like 5m, 1h, 28d, 4w, 1M, 1Q or 1Y, got {text!r}")
    return int(match.group(1)), match.group(2)


def nominal_length(text: str) -> timedelta:
    """A duration's nominal length (a month counts 30 days): the 'period' the alert thresholds scale with."""
    count, unit = parse_openslo_duration(text)
    return _NOMINAL[unit] * count


@dataclass(frozen=True)
class Window:
    """An SLO time window: rolling (`[at - duration, at)`) or calendar-aligned in a time zone."""

    duration: str
    rolling: bool = True
    time_zone: str = "UTC"

    @property
    def period(self) -> timedelta:
        return nominal_length(self.duration)

    def bounds(self, at: datetime) -> tuple[datetime, datetime]:
        if self.rolling:
            return at - self.period, at
        return calendar_start(at, self.duration, self.time_zone), at


def calendar_start(at: datetime, duration: str, time_zone: str) -> datetime:
    """Start of the calendar period containing `at` (weeks start on Monday), as an aware UTC datetime.

    A count above one (e.g. `2w`) groups whole periods counted from the Unix epoch in that zone."""
    count, unit = parse_openslo_duration(duration)
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone)
    start: datetime
    if unit in ("s", "m", "h", "d", "w"):
        if unit == "w":
            day = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=local.weekday())
            index = (day.date().toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
            start = day - timedelta(weeks=index % count)
        elif unit == "d":
            day = local.replace(hour=0, minute=0, second=0, microsecond=0)
            start = day - timedelta(days=(day.date().toordinal() - 1) % count)
        else:
            step = int(_NOMINAL[unit].total_seconds()) * count
            epoch = int(at.timestamp())
            return datetime.fromtimestamp(epoch - epoch % step, at.tzinfo)
    else:
        months = {"M": 1, "Q": 3, "Y": 12}[unit] * count
        index = local.year * 12 + local.month - 1
        first = index - index % months
        start = local.replace(year=first // 12, month=first % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.replace(tzinfo=zone).astimezone(at.tzinfo)


@dataclass(frozen=True)
class Budget:
    sli: float | None
    consumed: float
    remaining: float


def exact(target: float) -> Fraction:
    return Fraction(str(target))


def budget(*, good: int, total: int, target: float) -> Budget:
    if total <= 0:
        return Budget(sli=None, consumed=0.0, remaining=1.0)
    allowed = exact(target)
    consumed = Fraction(total - good, 1) / (total * (1 - allowed))
    return Budget(sli=good / total, consumed=float(consumed), remaining=float(1 - consumed))


def burn_rate(*, good: float, total: float, target: float) -> float:
    if total <= 0:
        return 0.0
    return float(Fraction(total - good) / Fraction(total) / (1 - exact(target)))


@dataclass(frozen=True)
class BurnRule:
    """Fire `severity` when both the long and the short window burn faster than `threshold`."""

    severity: Severity
    long_window: timedelta
    short_window: timedelta
    threshold: float


DEFAULT_SHARES: tuple[tuple[Severity, timedelta, timedelta, Fraction], ...] = (
    ("page", timedelta(hours=1), timedelta(minutes=5), Fraction(2, 100)),
    ("page", timedelta(hours=6), timedelta(minutes=30), Fraction(5, 100)),
    ("ticket", timedelta(days=1), timedelta(hours=2), Fraction(10, 100)),
    ("ticket", timedelta(days=3), timedelta(hours=6), Fraction(10, 100)),
)


def scaled_threshold(share: Fraction, period: timedelta, long_window: timedelta) -> float:
    return float(share * Fraction(int(period.total_seconds())) / Fraction(int(long_window.total_seconds())))


def default_rules(period: timedelta) -> list[BurnRule]:
    """The SRE Workbook's four rules scaled to the SLO period: 30d -> 14.4, 6, 3, 1; 28d -> 13.44, 5.6, 2.8, 0.9333."""
    return [
        BurnRule(severity, long, short, scaled_threshold(share, period, long))
        for severity, long, short, share in DEFAULT_SHARES
    ]


@dataclass(frozen=True)
class WindowCounts:
    good: float  # whole numbers when counted; queried sources may answer rates
    total: float


def firing(
    rules: list[BurnRule],
    counts: dict[timedelta, WindowCounts],
    *,
    target: float,
    min_events: int,
) -> list[BurnRule]:
    """The rules that fire; the minimum-events guard needs `min_events` in the long window."""
    fired = []
    for rule in rules:
        long, short = counts[rule.long_window], counts[rule.short_window]
        if long.total < min_events:
            continue
        long_burn = burn_rate(good=long.good, total=long.total, target=target)
        short_burn = burn_rate(good=short.good, total=short.total, target=target)
        if long_burn > rule.threshold and short_burn > rule.threshold:
            fired.append(rule)
    return fired


def timeslice_units(
    minutes: list[tuple[datetime, int, int]],
    *,
    slice_minutes: int,
    slice_target: float,
) -> WindowCounts:
    """Turn per-minute (good, total) into slices: a slice with events is good when good/total >= slice_target.

    Slices are aligned to multiples of their width since the Unix epoch; empty slices are not counted."""
    grouped: dict[int, list[int]] = {}
    step = slice_minutes * 60
    for minute, good, total in minutes:
        key = int(minute.timestamp()) // step
        acc = grouped.setdefault(key, [0, 0])
        acc[0] += good
        acc[1] += total
    threshold = exact(slice_target)
    good_slices = sum(1 for g, t in grouped.values() if t > 0 and Fraction(g, t) >= threshold)
    total_slices = sum(1 for _g, t in grouped.values() if t > 0)
    return WindowCounts(good=good_slices, total=total_slices)
