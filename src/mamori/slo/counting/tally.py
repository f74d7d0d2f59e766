"""Request events -> per-minute good/total tallies per SLI series and slice: the reference way. No I/O.

An event is a JSON object with at least `ts` (RFC 3339 or epoch milliseconds) and `service`.
A batch is checked completely before anything is counted: one bad line refuses the whole batch.
`count` judges every event and is the reference the grouped tiers (`mamori.slo.counting.batches`) are
tested against.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from mamori.core.errors import InvalidInput, PayloadTooLarge, Problem
from mamori.slo.definitions import CompiledObjective

MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_REPORTED_PROBLEMS = 20
NO_SLICE = ""
MISSING_SLICE = "(none)"

Key = tuple[str, str, int]  # series, slice, epoch minute


@dataclass
class Tally:
    """Good/total per (series, slice, minute), plus what was seen."""

    counts: dict[Key, list[int]] = field(default_factory=dict)
    events: int = 0
    counted: int = 0
    path: str = ""  # how the lines were counted: "native", "columns", "lines" or "careful" (see count_lines)

    def add(self, key: Key, good: bool) -> None:
        acc = self.counts.get(key)
        if acc is None:
            acc = self.counts[key] = [0, 0]
        acc[1] += 1
        if good:
            acc[0] += 1

    def merge(self, other: Tally) -> None:
        for key, (good, total) in other.counts.items():
            acc = self.counts.setdefault(key, [0, 0])
            acc[0] += good
            acc[1] += total
        self.events += other.events
        self.counted += other.counted


def decompress(data: bytes, *, limit: int = MAX_BATCH_BYTES) -> bytes:
    """The body as NDJSON bytes; gzip is recognised by its magic number."""
    if data[:2] != b"\x1f\x8b":
        if len(data) > limit:
            raise PayloadTooLarge(f"the batch is larger than {limit} bytes")
        return data
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"the body looks like gzip but cannot be decompressed: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"the decompressed batch is larger than {limit} bytes")
    return out


MINUTE_CACHE_LIMIT = 100_000


def utc_minute(text: str, cache: dict[str, int]) -> int | None:
    """Fast path for `YYYY-MM-DDTHH:MM:SS[.fff]Z`: events of one minute share their first 16 characters,
    whose epoch minute is kept in `cache`."""
    if len(text) < 20 or text[-1] not in "Zz" or text[10] not in "Tt " or text[16] != ":":
        return None
    seconds = text[17:-1]
    if not (seconds[:2].isdigit() and (len(seconds) == 2 or (seconds[2] == "." and seconds[3:].isdigit()))):
        return None
    if int(seconds[:2]) > 60:
        return None
    key = text[:16]
    minute = cache.get(key)
    if minute is None:
        try:
            parsed = datetime.fromisoformat(key + ":00+00:00")
        except ValueError:
            return None
        if len(cache) > MINUTE_CACHE_LIMIT:
            cache.clear()
        minute = cache[key] = int(parsed.timestamp() // 60)
    return minute


def event_minute(value: Any, cache: dict[str, int] | None = None) -> int:
    """Epoch minute of an event's `ts`; raises ValueError saying what was expected."""
    if type(value) is str:
        fast = utc_minute(value, {} if cache is None else cache)
        if fast is not None:
            return fast
    if isinstance(value, bool):
        raise ValueError("ts must be an RFC 3339 string or epoch milliseconds")
    if isinstance(value, int | float):
        return int(value // 60_000)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text) // 60_000
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"ts {value!r} is not RFC 3339 or epoch milliseconds") from None
        if parsed.tzinfo is None:
            raise ValueError(f"ts {value!r} has no offset; add Z or +HH:MM")
        return int(parsed.timestamp() // 60)
    raise ValueError("ts is required: an RFC 3339 string or epoch milliseconds")


def parse_lines(lines: Iterable[bytes], *, source: str = "body") -> list[tuple[int, dict[str, Any]]]:
    """(minute, event) for every non-blank line; raises InvalidInput listing bad lines (nothing is counted)."""
    out: list[tuple[int, dict[str, Any]]] = []
    minutes: dict[str, int] = {}
    append = out.append
    loads = orjson.loads
    problems: list[Problem] = []
    bad = 0
    for number, line in enumerate(lines, start=1):
        try:
            event = loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                continue
            reason = f"invalid JSON: {exc}"
        else:
            if type(event) is dict:
                service, ts = event.get("service"), event.get("ts")
                if type(service) is str and service:
                    minute = utc_minute(ts, minutes) if type(ts) is str else None
                    if minute is not None:
                        append((minute, event))
                        continue
                    try:
                        append((event_minute(ts, minutes), event))
                        continue
                    except ValueError as exc:
                        reason = str(exc)
                else:
                    reason = "service is required: a non-empty string"
            else:
                reason = "expected a JSON object"
        bad += 1
        if len(problems) < MAX_REPORTED_PROBLEMS:
            problems.append(Problem(loc=f"line {number}", msg=reason, file=source))
    if problems:
        raise InvalidInput(f"{bad} bad event line(s); nothing was counted", problems=problems)
    return out


def split_lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def slice_value(event: Mapping[str, Any], path: tuple[str, ...]) -> str:
    current: Any = event
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return MISSING_SLICE
        current = current[part]
    return str(current)[:200] if current is not None else MISSING_SLICE


def count(events: list[tuple[int, dict[str, Any]]], objectives: list[CompiledObjective]) -> Tally:
    """Count each event into every objective of its service whose SLI it belongs to, judging every event.

    The reference semantics; ingest uses the grouped `count_lines` (property-tested to count the same)."""
    by_service: dict[str, list[CompiledObjective]] = {}
    for objective in objectives:
        if objective.counter is not None:
            by_service.setdefault(objective.counter.service, []).append(objective)
    tally = Tally(events=len(events))
    for minute, event in events:
        counted = False
        for objective in by_service.get(event["service"], ()):
            assert objective.counter is not None
            if objective.maintenance and any(a <= minute < b for a, b in objective.maintenance):
                continue
            verdict = objective.counter.judge(event)
            if verdict is None:
                continue
            part = slice_value(event, objective.slice_by) if objective.slice_by else NO_SLICE
            tally.add((objective.series, part, minute), verdict)
            counted = True
        if counted:
            tally.counted += 1
    return tally


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)
