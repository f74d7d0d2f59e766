"""Counting a batch of NDJSON lines: the four tiers, and judging one rebuilt event per distinct key. No I/O."""

from __future__ import annotations

from collections import _count_elements  # type: ignore[attr-defined]
from datetime import datetime
from typing import Any

import msgspec
import orjson

from mamori.core.errors import InvalidInput, Problem
from mamori.slo import filter as event_filter
from mamori.slo.counting.keys import MISSING_FIELD, Path, Use
from mamori.slo.counting.plan import CountPlan
from mamori.slo.counting.tally import MAX_REPORTED_PROBLEMS, NO_SLICE, Tally, event_minute, slice_value
from mamori.slo.definitions import CompiledObjective


def _representative(consts: tuple[int | float, ...], position: int) -> int | float:
    """A number with the given position among `consts` (the inverse of the key's reduction)."""
    below, equal = divmod(position, 2)
    if equal:
        return consts[below]
    if below == 0:
        return consts[0] - 1
    if below == len(consts):
        return consts[-1] + 1
    return (consts[below - 1] + consts[below]) / 2


def _rebuild(paths: list[tuple[Path, Use]], fields: tuple[Any, ...]) -> dict[str, Any]:
    """An event with the same values, for every field the SLIs read, as the events of one key."""
    event: dict[str, Any] = {}
    i = 0
    for path, use in paths:
        part = fields[i]
        if use == event_filter.TEXT:
            value, i = part, i + 1
        elif use is None or isinstance(use, str):
            value, i = part, i + 2
        else:
            value = _representative(use, part) if type(part) is int else part[0]
            i += 1
        if value is MISSING_FIELD:
            continue
        target = event
        for name in path[:-1]:
            inner = target.setdefault(name, {})
            if not isinstance(inner, dict):
                break
            target = inner
        else:
            target.setdefault(path[-1], value)
    return event


def _verdicts(members: list[CompiledObjective], event: dict[str, Any]) -> list[tuple[CompiledObjective, str, bool]]:
    out = []
    for objective in members:
        assert objective.counter is not None
        verdict = objective.counter.judge(event)
        if verdict is not None:
            part = slice_value(event, objective.slice_by) if objective.slice_by else NO_SLICE
            out.append((objective, part, verdict))
    return out


class Careful:
    """Lines off the fast path: blank, invalid, another timestamp form, or an unhashable field value."""

    def __init__(self, plan: CountPlan, source: str) -> None:
        self.plan, self.source = plan, source
        self.problems: list[Problem] = []
        self.bad = 0
        self.odd: list[tuple[int, dict[str, Any]]] = []  # judged one by one

    def __call__(self, number: int, line: bytes) -> tuple[Any, ...] | None:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                return None
            wide = self.wide(line)
            if wide is None:
                return self._bad(number, f"invalid JSON: {exc}")
            event = wide
        if type(event) is not dict:
            return self._bad(number, "expected a JSON object")
        service, ts = event.get("service"), event.get("ts")
        if type(service) is not str or not service:
            return self._bad(number, "service is required: a non-empty string")
        try:
            stamps = self.plan.stamps
            minute = (
                stamps.prefixes[ts[:16]]
                if type(ts) is str and stamps.remember_ts(ts)
                else event_minute(ts, stamps.minutes)
            )
        except ValueError as exc:
            return self._bad(number, str(exc))
        key = self.plan.keyof(event, service, minute)
        try:
            hash(key)
        except TypeError:  # e.g. a nested object where a filter expects a value
            self.odd.append((minute, event))
            return None
        return key

    def wide(self, line: bytes) -> dict[str, Any] | None:
        """The fields read from a line orjson refuses but the typed decoder reads: valid JSON with a number
        beyond the double range in a field no SLI reads. The columnar path counts such lines, and so does this."""
        if self.plan.columns is None:
            return None
        try:
            line.decode()
            return _as_event(self.plan.columns.decode(line))
        except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None

    def _bad(self, number: int, reason: str) -> tuple[Any, ...] | None:
        """Record a bad line; nothing to count (None)."""
        self.bad += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(Problem(loc=f"line {number}", msg=reason, file=self.source))
        return None


def _as_event(struct: Any) -> dict[str, Any]:
    """The fields of a decoded struct as an event (missing fields left out)."""
    out: dict[str, Any] = {}
    for info in msgspec.structs.fields(struct):
        value = getattr(struct, info.name)
        if isinstance(value, msgspec.Struct):
            value = _as_event(value)
        if value is not MISSING_FIELD:
            out[info.encode_name] = value
    return out


def count_lines(lines: list[bytes], plan: CountPlan, *, source: str = "body") -> Tally:
    """Parse, check and count NDJSON lines; raises InvalidInput listing bad lines (nothing counted).

    Four ways, each taken only when the one before cannot count the batch: the compiled scanner (typical
    batches), msgspec and whole columns, line by line with a generated key function, and carefully line by
    line (names every bad line)."""
    counted = plan.columns.count(lines) if plan.columns is not None else None
    if counted is not None:
        return tally_keys(plan, counted[0], [], path=counted[1])
    careful = Careful(plan, source)
    counts: dict[tuple[Any, ...], int] = {}
    path = "lines"
    try:
        _count_elements(counts, plan.scan(lines, careful))
        fast_ok = all(type(key[0]) is str and key[0] for key in counts)
    except TypeError:  # an unhashable value on the fast path
        fast_ok = False
    if not fast_ok:  # count this batch the careful way (it also names the lines with a bad service)
        careful, counts, path = Careful(plan, source), {}, "careful"
        for number, line in enumerate(lines, 1):
            key = careful(number, line)
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
    if careful.problems:
        raise InvalidInput(f"{careful.bad} bad event line(s); nothing was counted", problems=careful.problems)
    return tally_keys(plan, counts, careful.odd, path=path)


def tally_keys(
    plan: CountPlan, counts: dict[tuple[Any, ...], int], odd: list[tuple[int, dict[str, Any]]], *, path: str
) -> Tally:
    """Judge one rebuilt event per distinct key and add each key's count to the objectives it belongs to."""
    tally = Tally(events=sum(counts.values()) + len(odd), path=path)
    judged: dict[tuple[Any, ...], list[tuple[CompiledObjective, str, bool]]] = {}
    for key, n in counts.items():
        members = plan.services.get(key[0])
        if members is None:
            continue
        what = (key[0], *key[2:])
        verdicts = judged.get(what)
        if verdicts is None:
            verdicts = judged[what] = _verdicts(members, _rebuild(plan.paths, key[2:]))
        minute = key[1] if type(key[1]) is int else plan.stamps.prefixes.get(key[1])
        if minute is None:  # the timestamp cache was cleared meanwhile
            minute = int(datetime.fromisoformat(key[1].replace("t", "T") + ":00+00:00").timestamp() // 60)
        _add_verdicts(tally, verdicts, minute, n)
    for minute, event in odd:
        _add_verdicts(tally, _verdicts(plan.services.get(event["service"], []), event), minute, 1)
    return tally


def _add_verdicts(tally: Tally, verdicts: list[tuple[CompiledObjective, str, bool]], minute: int, n: int) -> None:
    counted = False
    counts = tally.counts
    for objective, part, good in verdicts:
        if objective.maintenance and any(a <= minute < b for a, b in objective.maintenance):
            continue
        key = (objective.series, part, minute)
        acc = counts.get(key)
        if acc is None:
            acc = counts[key] = [0, 0]
        acc[1] += n
        if good:
            acc[0] += n
        counted = True
    if counted:
        tally.counted += n


def count_events(events: list[tuple[int, dict[str, Any]]], plan: CountPlan) -> Tally:
    """Count already parsed (minute, event) pairs (OTLP), judging each event directly."""
    tally = Tally(events=len(events))
    for minute, event in events:
        members = plan.services.get(event["service"])
        if members:
            _add_verdicts(tally, _verdicts(members, event), minute, 1)
    return tally
