"""SLO use cases: ingest events into buckets, evaluate objectives, keep burn alerts; the only code with a session."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import case, func, select
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
from mamori.slo.evaluate import CountStore, MemoryStore, evaluate, long_burn, to_minute
from mamori.slo.events import BurnAlertFired, BurnAlertResolved
from mamori.slo.models import SloAlert, SloBucket, SloDocument, SloStatus
from mamori.slo.openslo import OPENSLO_APIS

log = logging.getLogger(__name__)
EVALUATE_JOB = "slo.evaluate"


# -- definitions ----------------------------------------------------------------------------------------------------


def list_objectives(session: Session) -> list[definitions.CompiledObjective]:
    rows = session.scalars(select(SloDocument)).all()
    docs = [definitions.RawDoc(r.kind, r.name, r.doc_metadata, r.spec) for r in rows]
    return definitions.compile_objectives(docs)


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


def upsert_tally(session: Session, tally: counting.Tally) -> None:
    if not tally.counts:
        return
    rows = [
        {"series": s, "slice": sl, "minute": m, "good": g, "total": t} for (s, sl, m), (g, t) in tally.counts.items()
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SloBucket)
    stmt = stmt.on_conflict_do_update(
        index_elements=["series", "slice", "minute"],
        set_={"good": SloBucket.good + stmt.excluded.good, "total": SloBucket.total + stmt.excluded.total},
    )
    for start in range(0, len(rows), 1000):
        session.execute(stmt, rows[start : start + 1000])


def ingest(session: Session, *, data: bytes, source: str = "body") -> dict[str, int]:
    """Count a NDJSON batch (gzip accepted) into buckets; a bad line refuses the whole batch."""
    events = counting.parse_lines(counting.split_lines(counting.decompress(data)), source=source)
    tally = counting.count(events, list_objectives(session))
    upsert_tally(session, tally)
    return {"events": tally.events, "counted": tally.counted, "buckets": len(tally.counts)}


def ingest_otlp(session: Session, *, data: bytes, signal: str) -> dict[str, int]:
    """Count OTLP/HTTP JSON logs or traces (gzip accepted) like NDJSON events; all or nothing."""
    try:
        body = orjson.loads(counting.decompress(data))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON ({exc}); Mamori accepts OTLP/HTTP JSON, not protobuf") from None
    events = [(counting.event_minute(e["ts"]), e) for e in otlp.to_events(body, signal=signal)]
    tally = counting.count(events, list_objectives(session))
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
    parsed = counting.parse_lines(counting.split_lines(data), source=str(events))
    store = MemoryStore(counting.count(parsed, objectives))
    return [evaluate(objective, store, at) for objective in objectives]


class DbStore:
    """Counts read from slo_buckets; windows are SQL sums over the primary-key index.

    `prefetch` sums many windows of many series in one scan (one conditional sum per window start), so
    that evaluating every SLO each minute costs one query, not one per window and objective."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[str, int, int], tuple[int, int]] = {}

    def prefetch(self, series: list[str], starts: set[int], end: int) -> None:
        if not series or not starts:
            return
        ordered = sorted(starts)
        columns = []
        for start in ordered:
            inside = SloBucket.minute >= start
            columns += [
                func.coalesce(func.sum(case((inside, SloBucket.good), else_=0)), 0),
                func.coalesce(func.sum(case((inside, SloBucket.total), else_=0)), 0),
            ]
        found = {s: [0] * (2 * len(ordered)) for s in series}
        for chunk in range(0, len(series), 500):
            part = series[chunk : chunk + 500]
            rows = self.session.execute(
                select(SloBucket.series, *columns)
                .where(SloBucket.series.in_(part), SloBucket.minute >= ordered[0], SloBucket.minute < end)
                .group_by(SloBucket.series)
            ).all()
            for row in rows:
                found[row[0]] = [int(v) for v in row[1:]]
        for name, values in found.items():
            for i, start in enumerate(ordered):
                self._cache[(name, start, end)] = (values[2 * i], values[2 * i + 1])

    def totals(self, series: str, start: int, end: int) -> tuple[int, int]:
        cached = self._cache.get((series, start, end))
        if cached is not None:
            return cached
        row = self.session.execute(
            select(func.coalesce(func.sum(SloBucket.good), 0), func.coalesce(func.sum(SloBucket.total), 0)).where(
                SloBucket.series == series, SloBucket.minute >= start, SloBucket.minute < end
            )
        ).one()
        return int(row[0]), int(row[1])

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
    # Load current state in two queries (kept in the session's identity map) instead of two per objective.
    session.scalars(select(SloStatus)).all()
    open_alerts: dict[str, dict[tuple[str, str, str], SloAlert]] = {}
    for alert in session.scalars(select(SloAlert).where(SloAlert.status == "firing")):
        open_alerts.setdefault(alert.series, {})[(alert.severity, alert.long_window, alert.short_window)] = alert
    results = []
    with runtime.http_client(timeout=15.0) as client:
        for objective in objectives:
            try:
                remote = sources.source_for(objective, client)
                store: CountStore = sources.SourceStore({objective.series: remote}) if remote else db_store
                result = evaluate(objective, store, now)
                _store_status(session, objective, result, now)
                _sync_alerts(
                    session,
                    runtime,
                    objective,
                    result=result,
                    store=store,
                    now=now,
                    open_alerts=open_alerts.get(objective.series, {}),
                )
            except sources.SourceError as exc:
                log.warning("SLO %s not evaluated: %s", objective.series, exc)
                continue
            results.append(result)
    session.flush()
    return results


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


def _store_status(
    session: Session, objective: definitions.CompiledObjective, result: dict[str, Any], now: datetime
) -> None:
    row = session.get(SloStatus, objective.series)
    if row is None:
        row = SloStatus(series=objective.series)
        session.add(row)
    row.slo, row.objective, row.service, row.user_story = (
        objective.slo,
        objective.index,
        objective.service,
        objective.user_story,
    )
    row.target, row.sli, row.good, row.total = objective.target, result["sli"], result["good"], result["total"]
    row.consumed = result["error_budget"]["consumed"]
    row.remaining = result["error_budget"]["remaining"]
    row.result = {
        **result,
        "objective": objective.name,
        "display_name": objective.display_name,
        "user_story": objective.user_story,
    }
    row.evaluated_at = now


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
        burn = long_burn(objective, store, now, rule.long_window)
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
