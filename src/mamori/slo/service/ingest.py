"""Ingest use cases: count request events (NDJSON or OTLP) into the per-minute buckets and the totals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.slo import counting, otlp
from mamori.slo.models import SloBucket, SloTotal
from mamori.slo.service.objectives import Plans, compiled

LEVELS = ((0, 1), (1, 60), (2, 1440))  # slo_totals levels: minute, hour, day (in minutes)


def _upsert(session: Session, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={"good": table.good + stmt.excluded.good, "total": table.total + stmt.excluded.total},
    )
    for start in range(0, len(rows), 1000):
        session.execute(stmt, rows[start : start + 1000])


def upsert_tally(session: Session, tally: counting.Tally) -> None:
    """Add a tally to the per-minute buckets (per slice) and to the minute/hour/day totals (all slices)."""
    if not tally.counts:
        return
    rows = [
        {"series": s, "slice": sl, "minute": m, "good": g, "total": t} for (s, sl, m), (g, t) in tally.counts.items()
    ]
    # Sorted so that concurrent batches take row locks in the same order (no deadlocks on PostgreSQL).
    rows.sort(key=lambda r: (r["series"], r["slice"], r["minute"]))
    _upsert(session, SloBucket, ["series", "slice", "minute"], rows)
    totals: dict[tuple[int, int, str], list[int]] = {}
    for (series, _slice, minute), (good, total) in tally.counts.items():
        for level, width in LEVELS:
            acc = totals.setdefault((level, minute - minute % width, series), [0, 0])
            acc[0] += good
            acc[1] += total
    _upsert(
        session,
        SloTotal,
        ["level", "start", "series"],
        [
            {"level": lv, "start": st, "series": se, "good": g, "total": t}
            for (lv, st, se), (g, t) in sorted(totals.items())
        ],
    )


def ingest(session: Session, *, data: bytes, source: str = "body", plans: Plans | None = None) -> dict[str, int]:
    """Count a NDJSON batch (gzip accepted) into buckets; a bad line refuses the whole batch."""
    _objectives, plan = compiled(session, plans)
    tally = counting.count_lines(counting.split_lines(counting.decompress(data)), plan, source=source)
    upsert_tally(session, tally)
    return {"events": tally.events, "counted": tally.counted, "buckets": len(tally.counts)}


def ingest_otlp(session: Session, *, data: bytes, signal: str, plans: Plans | None = None) -> dict[str, int]:
    """Count OTLP/HTTP JSON logs or traces (gzip accepted) like NDJSON events; all or nothing."""
    try:
        body = orjson.loads(counting.decompress(data))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON ({exc}); Mamori accepts OTLP/HTTP JSON, not protobuf") from None
    _objectives, plan = compiled(session, plans)
    events = [(counting.event_minute(e["ts"], plan.stamps.minutes), e) for e in otlp.to_events(body, signal=signal)]
    tally = counting.count_events(events, plan)
    upsert_tally(session, tally)
    return {"events": tally.events, "counted": tally.counted, "buckets": len(tally.counts)}


def read_events_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read events file {path}: {exc}") from None
    if path.suffix == ".gz" and data[:2] != b"\x1f\x8b":
        raise InvalidInput(f"{path} ends in .gz but is not gzip")
    return data
