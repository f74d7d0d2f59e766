"""Ingest: NDJSON request events counted into per-minute buckets per second, against orjson parsing alone.

The same batch (the demo's four per-user-story SLOs, events spread over an hour) is (1) parsed with
orjson, (2) parsed, validated and counted in memory by Mamori, (3) counted and written to a fresh
SQLite database (one transaction). One process, one core.

(1) and (2) run alternately, round after round, so that both see the same machine: the ratio of each
round's pair is reported (median and range) besides the best time of each.

Run: .venv/bin/python -m benchmarks.slo_ingest [EVENTS]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from mamori.core import manifest, migrate
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.config import load_settings
from mamori.slo import counting, demo, service
from mamori.wiring import build_runtime

ROUTES = [
    ("jobs-api", "/api/applications", "POST"),
    ("jobs-api", "/api/saved-searches", "PUT"),
    ("jobs-web", "/search", "GET"),
    ("jobs-web", "/jobs/123", "GET"),
    ("jobs-web", "/health", "GET"),
]


def batch(events: int) -> bytes:
    rng = random.Random(1)
    start = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    lines = []
    for i in range(events):
        svc, route, method = rng.choice(ROUTES)
        lines.append(
            orjson.dumps(
                {
                    "ts": (start + timedelta(milliseconds=i * 3_600_000 // events)).isoformat().replace("+00:00", "Z"),
                    "service": svc,
                    "route": route,
                    "method": method,
                    "status": rng.choice([200] * 50 + [404, 500]),
                    "duration_ms": rng.randint(5, 900),
                    "attributes": {"plan": rng.choice(["free", "pro"])},
                }
            )
        )
    return b"\n".join(lines) + b"\n"


def cpu(fn: object) -> float:
    """CPU time of one call (process time: the machine is shared, wall time is noisy)."""
    t0 = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - t0


def best(fn: object, rounds: int = 5) -> float:
    return min(cpu(fn) for _ in range(rounds))


def paired(first: object, second: object, rounds: int = 11) -> tuple[list[float], list[float]]:
    """CPU times of both, alternating, round after round."""
    a, b = [], []
    for _ in range(rounds):
        a.append(cpu(first))
        b.append(cpu(second))
    return a, b


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    data = batch(events)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            env={},
            data_dir=Path(tmp),
            database_url=f"sqlite:///{tmp}/bench.db",
            secret_key="bench-secret-key-0123456789",
        )
        runtime = build_runtime(settings, clock=FixedClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)))
        migrate.upgrade(runtime.engine)
        manifest.apply(runtime, manifest.load(demo.DEMO_DIR, runtime.kinds), actor=Actor(name="b", source="config"))
        with runtime.sessions() as session:
            objectives = service.list_objectives(session)

        def parse_only() -> None:
            for line in data.split(b"\n"):
                if line:
                    orjson.loads(line)

        plan = counting.plan_for(objectives)
        way = counting.count_lines(counting.split_lines(data), plan).path

        def count_only() -> None:
            counting.count_lines(counting.split_lines(data), plan)

        def count_and_store() -> None:
            with runtime.sessions.begin() as session:
                service.ingest(session, data=data)

        parses, counts = paired(parse_only, count_only)
        parse_s, count_s = min(parses), min(counts)
        store_s = best(count_and_store, rounds=3)
        runtime.engine.dispose()
    ratios = sorted(c / p for p, c in zip(parses, counts, strict=True))
    print(f"events per batch: {events:,} ({len(data) / 1e6:.1f} MB); counted on the {way!r} path")
    for label, seconds in (
        ("orjson parse only", parse_s),
        ("parse + validate + count", count_s),
        ("count + write buckets (SQLite)", store_s),
    ):
        print(f"{label:32s} {events / seconds:12,.0f} events/s  ({seconds * 1000:.0f} ms)")
    print(f"parse + count takes {count_s / parse_s:.2f}x the parse alone (best times)")
    print(
        f"per round: median {ratios[len(ratios) // 2]:.2f}x, range {ratios[0]:.2f}x-{ratios[-1]:.2f}x"
        f" over {len(ratios)} rounds"
    )
    print(f"counting (the cost beyond parsing) costs {(count_s - parse_s) / parse_s:.2f}x parsing (best times)")


if __name__ == "__main__":
    main()
