"""Evaluate 1,000 SLOs over 28-day windows: one server evaluation round (budgets, 7 burn windows, alerts).

Buckets: each SLO has traffic in every hour of the 28 days and in every minute of the last 6 hours
(~1,000 bucket rows per SLO, ~1M rows) plus their minute/hour/day totals, in SQLite. Reported: the whole
round (`evaluate_all`: window sums by grouped range queries, 1,000 evaluations, status rows and alert state
written) and its parts. `memory` shows peak Python memory as events and stored minutes grow.

Run: .venv/bin/python -m benchmarks.slo_evaluate [SLOS]   or   ... slo_evaluate memory
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from mamori.core import manifest, migrate
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.config import load_settings
from mamori.slo import service
from mamori.slo.evaluate import evaluate, to_minute
from mamori.slo.models import SloBucket, SloTotal
from mamori.slo.service import evaluation
from mamori.wiring import build_runtime

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SLO = """---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: slo-{i}}}
spec:
  service: svc-{svc}
  indicator:
    metadata: {{name: sli-{i}}}
    spec:
      ratioMetric:
        good: {{metricSource: {{type: mamori, spec: {{filter: "status < 500"}}}}}}
        total: {{metricSource: {{type: mamori, spec: {{filter: "route = '/r{i}'"}}}}}}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]
"""


def build(root: Path, slos: int, events_scale: int = 1, dense_hours: int = 6) -> tuple[object, float]:
    settings = load_settings(
        env={}, data_dir=root, database_url=f"sqlite:///{root}/bench.db", secret_key="bench-secret-key-0123456789"
    )
    runtime = build_runtime(settings, clock=FixedClock(NOW))
    migrate.upgrade(runtime.engine)
    (root / "cfg").mkdir()
    (root / "cfg" / "slos.yaml").write_text("".join(SLO.format(i=i, svc=i % 50) for i in range(slos)))
    manifest.apply(runtime, manifest.load(root / "cfg", runtime.kinds), actor=Actor(name="b", source="config"))
    rng = random.Random(3)
    end = to_minute(NOW)
    t0 = time.perf_counter()
    with runtime.sessions.begin() as session:
        for i in range(slos):
            series = f"slo-{i}#0"
            dense = dense_hours * 60
            counts = {m: (995 * events_scale, 1000 * events_scale) for m in range(end - 28 * 1440, end - dense, 60)}
            counts.update(
                {m: ((20 - (rng.random() < 0.05)) * events_scale, 20 * events_scale) for m in range(end - dense, end)}
            )
            rows = [{"series": series, "slice": "", "minute": m, "good": g, "total": t} for m, (g, t) in counts.items()]
            session.execute(insert(SloBucket), rows)
            totals: dict[tuple[int, int], list[int]] = {}
            for m, (g, t) in counts.items():
                for level, width in service.LEVELS:
                    acc = totals.setdefault((level, m - m % width), [0, 0])
                    acc[0] += g
                    acc[1] += t
            session.execute(
                insert(SloTotal),
                [
                    {"level": lv, "start": st, "series": series, "good": g, "total": t}
                    for (lv, st), (g, t) in totals.items()
                ],
            )
    return runtime, time.perf_counter() - t0


def memory() -> None:
    """Peak Python memory of a steady round for 100 SLOs as events (x1000) and stored minutes (x12) grow."""
    for scale, dense in ((1, 6), (1000, 6), (1, 72)):
        with tempfile.TemporaryDirectory() as tmp:
            runtime, _ = build(Path(tmp), 100, events_scale=scale, dense_hours=dense)
            with runtime.sessions.begin() as session:  # type: ignore[attr-defined]
                service.evaluate_all(session, runtime, now=NOW)  # type: ignore[arg-type]
            tracemalloc.start()
            with runtime.sessions.begin() as session:  # type: ignore[attr-defined]
                service.evaluate_all(session, runtime, now=NOW + timedelta(minutes=1))  # type: ignore[arg-type]
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            with runtime.sessions() as session:  # type: ignore[attr-defined]
                events = session.scalar(select(func.sum(SloBucket.total)))
                rows = session.scalar(select(func.count()).select_from(SloBucket))
            runtime.engine.dispose()  # type: ignore[attr-defined]
        print(f"events {events:>14,}  minute rows {rows:>9,}  peak Python memory of a round {peak / 1e6:6.1f} MB")


def main() -> None:
    if sys.argv[1:] == ["memory"]:
        memory()
        return
    slos = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1000
    with tempfile.TemporaryDirectory() as tmp:
        runtime, load_s = build(Path(tmp), slos)
        tracemalloc.start()
        t0 = time.perf_counter()
        with runtime.sessions.begin() as session:  # type: ignore[attr-defined]
            results = service.evaluate_all(session, runtime, now=NOW)  # type: ignore[arg-type]
        round_s = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t0 = time.perf_counter()
        with runtime.sessions.begin() as session:  # type: ignore[attr-defined]
            service.evaluate_all(session, runtime, now=NOW + timedelta(minutes=1))  # type: ignore[arg-type]
        steady_s = time.perf_counter() - t0
        with runtime.sessions() as session:  # type: ignore[attr-defined]
            objectives = service.list_objectives(session)
            store = service.DbStore(session)
            t0 = time.perf_counter()
            evaluation._prefetch(store, objectives, NOW)
            scan_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for objective in objectives:
                evaluate(objective, store, NOW)
            eval_s = time.perf_counter() - t0
        runtime.engine.dispose()  # type: ignore[attr-defined]
    print(f"SLOs: {slos:,}; bucket rows loaded in {load_s:.1f}s; evaluated: {len(results):,}")
    print(f"first round (scan + evaluate + write status, open {slos:,} alerts): {round_s * 1000:8.0f} ms")
    print(f"next round, a minute later (nothing changes state):            {steady_s * 1000:8.0f} ms")
    print(f"  sums of all windows (grouped range queries on slo_totals):    {scan_s * 1000:8.0f} ms")
    print(f"  evaluations on the prefetched sums:                           {eval_s * 1000:8.0f} ms")
    print(f"peak Python memory during the round: {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
