"""On-call schedule maths: layer rotations in local wall-clock time, restrictions, precedence, overrides, gaps.

Pure: no I/O, no clock. Handoffs are wall-clock times in the schedule's zone, so a DST change moves
the UTC instant of a handoff, never its local time. A later layer wins wherever it has someone on call;
an override beats every layer (a later override beats an earlier one).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mamori.incidents.kinds.documents import DAYS, Layer, Restriction, ScheduleSpec, parse_clock

OVERRIDE = "override"


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    user: str | None
    layer: str | None

    def as_dict(self) -> dict[str, object]:
        return {"start": _iso(self.start), "end": _iso(self.end), "user": self.user, "layer": self.layer}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A schedule-local wall time (naive) or an instant with an offset, as aware UTC."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=tz).astimezone(UTC)


def _to_local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None) if at.tzinfo is not None else at


@dataclass(frozen=True)
class _Rotation:
    start: datetime  # local naive
    anchor: datetime  # first regular handoff at or after start, local naive
    period: timedelta

    def handoff(self, j: int) -> datetime:
        if j <= 0:
            return self.start
        offset = 0 if self.anchor == self.start else 1
        return self.anchor + (j - offset) * self.period

    def index_near(self, local: datetime) -> int:
        offset = 0 if self.anchor == self.start else 1
        if local < self.anchor:
            return 0
        return offset + int((local - self.anchor) / self.period)


def _rotation(layer: Layer, tz: ZoneInfo) -> _Rotation:
    assert layer.start is not None and layer.rotation is not None  # checked by the spec model
    start = _to_local(layer.start, tz)
    rot = layer.rotation
    if rot.type == "custom":
        assert rot.length is not None
        return _Rotation(start, start, rot.length)
    handoff = rot.handoff or ("Mon 09:00" if rot.type == "weekly" else "09:00")
    parts = handoff.split()
    at = parse_clock(parts[-1])
    anchor = datetime.combine(start.date(), at)
    if rot.type == "daily":
        if anchor < start:
            anchor += timedelta(days=1)
        return _Rotation(start, anchor, timedelta(days=1))
    anchor += timedelta(days=(DAYS.index(parts[0]) - start.weekday()) % 7)
    if anchor < start:
        anchor += timedelta(days=7)
    return _Rotation(start, anchor, timedelta(days=7))


def layer_shifts(layer: Layer, tz: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """The layer's own shifts overlapping [start, end), before restrictions."""
    if layer.shifts is not None:
        return _fixed_shifts(layer, tz, start, end)
    rot = _rotation(layer, tz)
    layer_start = local_to_utc(rot.start, tz)
    layer_end = local_to_utc(layer.end, tz) if layer.end is not None else None
    lo = max(start, layer_start)
    hi = min(end, layer_end) if layer_end is not None else end
    if lo >= hi:
        return []
    j = rot.index_near(_to_local(lo, tz))
    while j > 0 and local_to_utc(rot.handoff(j), tz) > lo:
        j -= 1
    while local_to_utc(rot.handoff(j + 1), tz) <= lo:
        j += 1
    shifts: list[Shift] = []
    while True:
        s, e = local_to_utc(rot.handoff(j), tz), local_to_utc(rot.handoff(j + 1), tz)
        if s >= hi:
            break
        shifts.append(Shift(max(s, lo), min(e, hi), layer.users[j % len(layer.users)], layer.name))
        j += 1
    return shifts


def _fixed_shifts(layer: Layer, tz: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    lo = max(start, local_to_utc(layer.start, tz)) if layer.start is not None else start
    hi = min(end, local_to_utc(layer.end, tz)) if layer.end is not None else end
    out = []
    for fixed in layer.shifts or []:
        s, e = max(local_to_utc(fixed.from_, tz), lo), min(local_to_utc(fixed.to, tz), hi)
        if s < e:
            out.append(Shift(s, e, fixed.user, layer.name))
    return sorted(out, key=lambda x: x.start)


def _windows(
    restrictions: list[Restriction], tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    first = _to_local(start, tz).date() - timedelta(days=1)
    last = _to_local(end, tz).date() + timedelta(days=1)
    out: list[tuple[datetime, datetime]] = []
    day: date = first
    while day <= last:
        for r in restrictions:
            if DAYS[day.weekday()] not in r.days:
                continue
            begin = datetime.combine(day, parse_clock(r.from_))
            finish = (
                datetime.combine(day, time(0)) + timedelta(days=1)
                if r.to == "24:00"
                else datetime.combine(day, parse_clock(r.to))
            )
            if finish <= begin:
                finish += timedelta(days=1)
            out.append((local_to_utc(begin, tz), local_to_utc(finish, tz)))
        day += timedelta(days=1)
    return out


def restricted_shifts(layer: Layer, tz: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    shifts = layer_shifts(layer, tz, start, end)
    if not layer.restrictions:
        return shifts
    windows = _windows(layer.restrictions, tz, start, end)
    out: list[Shift] = []
    for shift in shifts:
        for ws, we in windows:
            s, e = max(shift.start, ws), min(shift.end, we)
            if s < e:
                out.append(Shift(s, e, shift.user, shift.layer))
    return out


def final_shifts(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    """The schedule as people experience it over [start, end): consecutive shifts, gaps have user None."""
    tz = ZoneInfo(spec.time_zone)
    per_layer = [restricted_shifts(layer, tz, start, end) for layer in spec.layers]
    overrides = [
        Shift(max(local_to_utc(o.from_, tz), start), min(local_to_utc(o.to, tz), end), o.user, OVERRIDE)
        for o in spec.overrides
    ]
    overrides = [o for o in overrides if o.start < o.end]
    points = {start, end}
    for shift in [s for layer in per_layer for s in layer] + overrides:
        points.update((shift.start, shift.end))
    ordered = sorted(p for p in points if start <= p <= end)
    merged: list[Shift] = []
    for s, e in itertools.pairwise(ordered):
        user, layer = _winner(per_layer, overrides, s)
        if merged and merged[-1].user == user and merged[-1].layer == layer and merged[-1].end == s:
            merged[-1] = Shift(merged[-1].start, e, user, layer)
        else:
            merged.append(Shift(s, e, user, layer))
    return merged


def _winner(per_layer: list[list[Shift]], overrides: list[Shift], at: datetime) -> tuple[str | None, str | None]:
    for o in reversed(overrides):
        if o.start <= at < o.end:
            return o.user, OVERRIDE
    for shifts in reversed(per_layer):
        for shift in shifts:
            if shift.start <= at < shift.end:
                return shift.user, shift.layer
    return None, None


def who(spec: ScheduleSpec, at: datetime) -> Shift:
    """The shift in force at `at` (user None in a gap)."""
    return final_shifts(spec, at, at + timedelta(seconds=1))[0]


def gaps(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    return [s for s in final_shifts(spec, start, end) if s.user is None]


def next_shift(spec: ScheduleSpec, at: datetime, *, horizon: timedelta = timedelta(days=60)) -> Shift | None:
    """The next shift after the one in force at `at` with a different person on call."""
    shifts = final_shifts(spec, at, at + horizon)
    current = shifts[0].user if shifts else None
    for shift in shifts[1:]:
        if shift.user is not None and shift.user != current:
            return shift
    return None
