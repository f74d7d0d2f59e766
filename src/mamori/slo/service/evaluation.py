"""Evaluation use cases: every objective evaluated, its status stored, burn alerts opened and resolved."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mamori.core import timeline
from mamori.core.catalog import service_team
from mamori.core.duration import format_duration
from mamori.core.manifest import KindRegistry
from mamori.core.runtime import Runtime
from mamori.slo import counting, definitions, sources
from mamori.slo.budget import BURN_WINDOWS, BurnRule
from mamori.slo.counting import minute_start
from mamori.slo.evaluate import CountStore, MemoryStore, evaluate, evaluate_composite, long_burn, to_minute
from mamori.slo.events import BurnAlertFired, BurnAlertResolved
from mamori.slo.models import SloAlert, SloStatus
from mamori.slo.service.ingest import read_events_file
from mamori.slo.service.objectives import Plans, list_objectives, objectives_from_config
from mamori.slo.service.store import DbStore

log = logging.getLogger(__name__)


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


def evaluate_all(session: Session, runtime: Runtime, *, now: datetime) -> list[dict[str, Any]]:
    """Evaluate every objective, store its status, and open/resolve burn alerts (publishing events).

    An objective whose source cannot answer is skipped (and logged); the others are still evaluated."""
    db_store = DbStore(session)
    objectives = list_objectives(session, runtime.state(Plans))
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
