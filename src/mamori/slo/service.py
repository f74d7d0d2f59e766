"""SLO use cases: ingest events into buckets, evaluate objectives, keep burn alerts; the only code with a session."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mamori.core import manifest, timeline
from mamori.core.catalog import service_team
from mamori.core.duration import format_duration
from mamori.core.errors import InvalidInput, NotFound
from mamori.core.jobs import JobContext
from mamori.core.manifest import KindRegistry
from mamori.core.runtime import Runtime
from mamori.slo import counting, definitions, enforcement, otlp, prometheus_rules, sources
from mamori.slo.budget import BURN_WINDOWS, BurnRule
from mamori.slo.counting import minute_start
from mamori.slo.evaluate import CountStore, MemoryStore, evaluate, evaluate_composite, long_burn, to_minute
from mamori.slo.events import BurnAlertFired, BurnAlertResolved
from mamori.slo.models import SloAlert, SloBucket, SloDocument, SloStatus, SloTotal
from mamori.slo.openslo import OPENSLO_APIS

log = logging.getLogger(__name__)
EVALUATE_JOB = "slo.evaluate"


# -- definitions ----------------------------------------------------------------------------------------------------


def list_objectives(session: Session) -> list[definitions.CompiledObjective]:
    return _compiled(session)[0]


_COMPILED: dict[tuple[Any, ...], tuple[list[definitions.CompiledObjective], counting.CountPlan]] = {}


def _compiled(session: Session) -> tuple[list[definitions.CompiledObjective], counting.CountPlan]:
    """Objectives and the ingest plan, compiled once per configuration (keyed by every document's content)."""
    rows = session.scalars(select(SloDocument).order_by(SloDocument.kind, SloDocument.name)).all()
    fingerprint = tuple(
        (r.kind, r.name, orjson.dumps([r.doc_metadata, r.spec], option=orjson.OPT_SORT_KEYS)) for r in rows
    )
    found = _COMPILED.get(fingerprint)
    if found is None:
        docs = [definitions.RawDoc(r.kind, r.name, r.doc_metadata, r.spec) for r in rows]
        objectives = definitions.compile_objectives(docs)
        if len(_COMPILED) > 16:
            _COMPILED.clear()
        found = _COMPILED[fingerprint] = (objectives, counting.plan_for(objectives))
    return found


def docs_from_config(config: Path, kinds: KindRegistry) -> list[definitions.RawDoc]:
    bundle = manifest.load(config, kinds)
    return [
        definitions.RawDoc(d.kind, d.name, d.metadata, d.spec)
        for d in bundle.documents
        if d.api_version in OPENSLO_APIS
    ]


def objectives_from_config(config: Path, kinds: KindRegistry) -> list[definitions.CompiledObjective]:
    return definitions.compile_objectives(docs_from_config(config, kinds))


def export_prometheus(*, config: Path, kinds: KindRegistry) -> tuple[str, list[str]]:
    """Sloth-equivalent Prometheus rules (YAML) for the config's Prometheus SLOs, and what was skipped."""
    docs = docs_from_config(config, kinds)
    rules, skipped = prometheus_rules.export(definitions.compile_objectives(docs), docs)
    return prometheus_rules.to_yaml(rules), skipped


# -- ingest ---------------------------------------------------------------------------------------------------------


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


def ingest(session: Session, *, data: bytes, source: str = "body") -> dict[str, int]:
    """Count a NDJSON batch (gzip accepted) into buckets; a bad line refuses the whole batch."""
    _objectives, plan = _compiled(session)
    tally = counting.count_lines(counting.split_lines(counting.decompress(data)), plan, source=source)
    upsert_tally(session, tally)
    return {"events": tally.events, "counted": tally.counted, "buckets": len(tally.counts)}


def ingest_otlp(session: Session, *, data: bytes, signal: str) -> dict[str, int]:
    """Count OTLP/HTTP JSON logs or traces (gzip accepted) like NDJSON events; all or nothing."""
    try:
        body = orjson.loads(counting.decompress(data))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON ({exc}); Mamori accepts OTLP/HTTP JSON, not protobuf") from None
    events = [(counting.event_minute(e["ts"]), e) for e in otlp.to_events(body, signal=signal)]
    tally = counting.count_events(events, _compiled(session)[1])
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


# -- evaluation -----------------------------------------------------------------------------------------------------


def evaluate_offline(*, config: Path, events: Path, at: datetime, kinds: KindRegistry) -> list[dict[str, Any]]:
    """What `mamori slo evaluate` prints: every objective of the config evaluated over an events file."""
    objectives = objectives_from_config(config, kinds)
    data = counting.decompress(read_events_file(events), limit=1 << 40)
    tally = counting.count_lines(counting.split_lines(data), counting.plan_for(objectives), source=str(events))
    store = MemoryStore(tally)
    out = [evaluate(objective, store, at) for objective in objectives]
    for members in definitions.composite_groups(objectives).values():
        composite = definitions.composite_objective(members)
        out.append(evaluate_composite(composite, members, [store] * len(members), at))
    return out


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


def evaluate_all(session: Session, runtime: Runtime, *, now: datetime) -> list[dict[str, Any]]:
    """Evaluate every objective, store its status, and open/resolve burn alerts (publishing events).

    An objective whose source cannot answer is skipped (and logged); the others are still evaluated."""
    db_store = DbStore(session)
    objectives = list_objectives(session)
    _prefetch(db_store, objectives, now)
    open_alerts: dict[str, dict[tuple[str, str, str], SloAlert]] = {}
    for alert in session.scalars(select(SloAlert).where(SloAlert.status == "firing")):
        open_alerts.setdefault(alert.series, {})[(alert.severity, alert.long_window, alert.short_window)] = alert
    results = []
    statuses = []
    stores: dict[str, CountStore] = {}
    with runtime.http_client(timeout=15.0) as client:
        for objective in objectives:
            try:
                remote = sources.source_for(objective, client)
                store: CountStore = sources.SourceStore({objective.series: remote}) if remote else db_store
                stores[objective.series] = store
                result = evaluate(objective, store, now)
                statuses.append(_status_row(objective, result, now))
                current = open_alerts.get(objective.series, {})
                if result["alerts"] or current:
                    _sync_alerts(session, runtime, objective, result=result, store=store, now=now, open_alerts=current)
            except sources.SourceError as exc:
                log.warning("SLO %s not evaluated: %s", objective.series, exc)
                continue
            results.append(result)
    for members in definitions.composite_groups(objectives).values():
        if not all(m.series in stores for m in members):
            continue  # a member could not be evaluated: no composite this round
        composite = definitions.composite_objective(members)
        result = evaluate_composite(composite, members, [stores[m.series] for m in members], now)
        statuses.append(_status_row(composite, result, now))
        current = open_alerts.get(composite.series, {})
        if result["alerts"] or current:
            _sync_alerts(session, runtime, composite, result=result, store=db_store, now=now, open_alerts=current)
        results.append(result)
    _write_statuses(session, statuses)
    session.flush()
    return results


def _write_statuses(session: Session, rows: list[dict[str, Any]]) -> None:
    """Every objective's latest evaluation in one batched upsert (no ORM objects)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SloStatus)
    stmt = stmt.on_conflict_do_update(
        index_elements=["series"],
        set_={c: getattr(stmt.excluded, c) for c in rows[0] if c != "series"},
    )
    rows.sort(key=lambda r: str(r["series"]))
    for start in range(0, len(rows), 500):
        session.execute(stmt, rows[start : start + 500])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, SloStatus):  # loaded earlier: must not hide the new values
            session.expire(obj)


def _prefetch(store: DbStore, objectives: list[definitions.CompiledObjective], now: datetime) -> None:
    """Sum every window that `evaluate` will ask for, for every counted Occurrences objective, in one scan."""
    end = to_minute(now)
    counted = [o for o in objectives if o.counter is not None and o.budgeting_method == "Occurrences"]
    starts: set[int] = set()
    for objective in counted:
        starts.add(to_minute(objective.window.bounds(minute_start(end))[0]))
        windows = {
            *BURN_WINDOWS.values(),
            *(r.long_window for r in objective.rules),
            *(r.short_window for r in objective.rules),
        }
        starts.update(end - int(w.total_seconds() // 60) for w in windows)
    store.prefetch([o.series for o in counted], starts, end)


def _status_row(objective: definitions.CompiledObjective, result: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "series": objective.series,
        "slo": objective.slo,
        "objective": objective.index,
        "service": objective.service,
        "user_story": objective.user_story,
        "target": objective.target,
        "sli": result["sli"],
        "good": round(result["good"]),
        "total": round(result["total"]),
        "consumed": result["error_budget"]["consumed"],
        "remaining": result["error_budget"]["remaining"],
        "result": {
            **result,
            "objective": objective.name,
            "display_name": objective.display_name,
            "user_story": objective.user_story,
        },
        "evaluated_at": now,
    }


_WINDOW_NAMES = {w: name for name, w in BURN_WINDOWS.items()}


def _rule_key(rule: BurnRule) -> tuple[str, str, str]:
    return rule.severity, format_duration(rule.long_window), format_duration(rule.short_window)


def _sync_alerts(
    session: Session,
    runtime: Runtime,
    objective: definitions.CompiledObjective,
    *,
    result: dict[str, Any],
    store: CountStore,
    now: datetime,
    open_alerts: dict[tuple[str, str, str], SloAlert],
) -> None:
    firing_keys = {(a["severity"], a["long_window"], a["short_window"]) for a in result["alerts"]}
    for rule in objective.rules:
        key = _rule_key(rule)
        current = open_alerts.get(key)
        name = _WINDOW_NAMES.get(rule.long_window)
        burn = result["burn_rates"][name] if name else long_burn(objective, store, now, rule.long_window)
        if key in firing_keys and current is None:
            alert = SloAlert(
                series=objective.series,
                slo=objective.slo,
                objective=objective.index,
                service=objective.service,
                severity=rule.severity,
                long_window=key[1],
                short_window=key[2],
                threshold=rule.threshold,
                burn_rate=burn,
                status="firing",
                started_at=now,
            )
            session.add(alert)
            session.flush()
            _announce(session, runtime, objective, alert, fired=True, now=now)
        elif key not in firing_keys and current is not None:
            current.status, current.resolved_at, current.burn_rate = "resolved", now, burn
            _announce(session, runtime, objective, current, fired=False, now=now)
        elif current is not None:
            current.burn_rate = burn


def _announce(
    session: Session,
    runtime: Runtime,
    objective: definitions.CompiledObjective,
    alert: SloAlert,
    *,
    fired: bool,
    now: datetime,
) -> None:
    fields = {
        "slo": alert.slo,
        "objective": alert.objective,
        "service": alert.service,
        "severity": alert.severity,
        "long_window": alert.long_window,
        "short_window": alert.short_window,
        "burn_rate": alert.burn_rate,
        "threshold": alert.threshold,
        "at": now,
        "user_story": objective.user_story,
    }
    event = BurnAlertFired(**fields) if fired else BurnAlertResolved(**fields)
    runtime.bus.publish(session, event, now=now)
    verb = "burning" if fired else "stopped burning"
    title = (
        f"SLO {objective.display_name} ({objective.name}) {verb} error budget: {alert.severity} "
        f"{alert.long_window}/{alert.short_window} burn {alert.burn_rate:.2f} (threshold {alert.threshold:g})"
    )
    timeline.record(
        session,
        at=now,
        kind="slo_burn",
        source="slo",
        title=title,
        service=alert.service,
        team=service_team(session, alert.service),
        data={**fields, "at": now.isoformat(), "fired": fired},
        ref=f"/slos/{alert.slo}",
        dedupe_key=f"slo_burn:{alert.id}:{'fired' if fired else 'resolved'}",
    )


def evaluate_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The periodic job: evaluate every SLO at the job's time, then error-budget policies."""
    evaluate_all(ctx.session, ctx.runtime, now=ctx.now)
    enforcement.enforce(ctx.session, ctx.runtime, now=ctx.now)


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
