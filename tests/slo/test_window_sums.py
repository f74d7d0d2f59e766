"""Window sums from the minute/hour/day totals equal a brute-force sum of the per-minute counts."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.slo import counting, service
from mamori.slo.evaluate import MemoryStore
from tests.slo.helpers import write

DAY = 1440
BASE = 29_000_000  # an epoch minute that is not a multiple of an hour


@given(st.integers(BASE, BASE + 40 * DAY), st.integers(0, 40 * DAY))
def test_a_range_splits_into_aligned_minutes_hours_and_days_that_cover_it_once(start: int, length: int) -> None:
    end = start + length
    parts = service.decompose(start, end)
    covered = sorted((a, b) for _level, a, b in parts)
    assert sum(b - a for a, b in covered) == length
    assert all(covered[i][1] <= covered[i + 1][0] for i in range(len(covered) - 1))
    assert all(a >= start and b <= end for a, b in covered)
    for level, a, b in parts:
        width = (1, 60, DAY)[level]
        assert a % width == 0 and b % width == 0
    rows = sum((b - a) // (1, 60, DAY)[level] for level, a, b in parts)
    assert rows <= 2 * 59 + 2 * 23 + 40  # a 28-day window reads at most ~190 rows per series


def test_database_window_sums_equal_a_brute_force_sum(runtime: Runtime) -> None:
    rng = random.Random(5)
    end = BASE + 3 * DAY
    tally = counting.Tally()
    for _ in range(400):
        minute = rng.randrange(end - 3 * DAY - 90, end + 30)
        series = rng.choice(["a#0", "b#0"])
        total = rng.randint(1, 9)
        good = rng.randint(0, total)
        acc = tally.counts.setdefault((series, rng.choice(["", "x"]), minute), [0, 0])
        acc[0] += good
        acc[1] += total
    with runtime.sessions.begin() as session:
        half = dict(list(tally.counts.items())[:200])
        service.upsert_tally(session, counting.Tally(counts={k: list(v) for k, v in half.items()}))
        service.upsert_tally(
            session, counting.Tally(counts={k: list(v) for k, v in tally.counts.items() if k not in half})
        )
    memory = MemoryStore(tally)
    windows = [(end - rng.randint(0, 3 * DAY + 100), end - rng.randint(0, 100)) for _ in range(60)]
    with runtime.sessions() as session:
        single = service.DbStore(session)
        batched = service.DbStore(session)
        batched.prefetch(["a#0", "b#0"], {start for start, _ in windows}, end)
        for start, stop in windows:
            for series in ("a#0", "b#0"):
                assert single.totals(series, start, stop) == memory.totals(series, start, stop)
                assert batched.totals(series, start, end) == memory.totals(series, start, end)


SLO = """---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: slo-{i}}}
spec:
  service: svc
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


def _statements_per_round(runtime: Runtime, tmp_path: Path, slos: int) -> int:
    write(tmp_path / f"cfg{slos}", "slos.yaml", "".join(SLO.format(i=i) for i in range(slos)))
    manifest.apply(
        runtime, manifest.load(tmp_path / f"cfg{slos}", runtime.kinds), actor=Actor(name="t", source="config")
    )
    ts = (runtime.now() - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    data = b"\n".join(orjson.dumps({"ts": ts, "service": "svc", "route": f"/r{i}", "status": 200}) for i in range(slos))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with runtime.sessions.begin() as session:
        service.ingest(session, data=data)
        service.evaluate_all(session, runtime, now=runtime.now())  # the first round creates the status rows
    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        with runtime.sessions.begin() as session:
            service.evaluate_all(session, runtime, now=runtime.now() + timedelta(minutes=1))
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    return len(statements)


def test_an_evaluation_round_makes_the_same_few_queries_for_3_or_30_slos(runtime: Runtime, tmp_path: Path) -> None:
    few = _statements_per_round(runtime, tmp_path, 3)
    many = _statements_per_round(runtime, tmp_path, 30)
    assert few == many < 30, (few, many)
