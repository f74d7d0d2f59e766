"""Game days: what a drill's alert costs against a real alert through the same intake (each opens a group and
pages one person), and how long scoring a long drill timeline takes (SQLite, one process, in-process worker).

The peer here is Mamori's own Alertmanager intake: a drill alert takes one more durable job (the event that
hands it to the intake), so the question is how much that hop adds.

Run: .venv/bin/python -m benchmarks.gamedays_drills [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mamori.core import manifest, migrate
from mamori.core.audit import Actor
from mamori.core.clock import SystemClock
from mamori.core.config import load_settings
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.gamedays import scoring
from mamori.gamedays.scenario import GameDaySpec
from mamori.gamedays.service import drills
from mamori.incidents.alerts import service
from mamori.integrations.notify import Message, Notifiers
from mamori.wiring import build_runtime, start

CONFIG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: bob}
spec: {email: bob@example.com, name: Bob, contacts: [{type: email, address: bob@example.com}]}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: p}
spec: {steps: [{notify: {users: [bob@example.com]}, escalateAfter: 30m}]}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: r}
spec: {groupBy: [alertname, mamori_drill], default: {severity: SEV3, escalationPolicy: p}}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: am}
spec: {type: alertmanager, route: r}
"""


class Counter:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, message: Message, target: str) -> str:
        self.sent += 1
        return "ok"


def _runtime(tmp: Path, n: int) -> tuple[Runtime, Counter]:
    runtime = build_runtime(
        load_settings(env={}, data_dir=tmp, secret_key="bench-secret-key-0123456789"), clock=SystemClock()
    )
    migrate.upgrade(runtime.engine)
    start(runtime)
    injects = [
        {
            "id": f"a{i}",
            "at": "0s",
            "alert": {"integration": "am", "title": f"Drill{i}", "labels": {"alertname": f"Drill{i}"}},
        }
        for i in range(n)
    ]
    scenario = {
        "apiVersion": "mamori.dev/v1",
        "kind": "GameDay",
        "metadata": {"name": "bench"},
        "spec": {
            "title": "bench",
            "kind": "outage",
            "participants": [{"user": "bob@example.com", "role": "game-master"}],
            "injects": injects,
        },
    }
    (tmp / "c.yaml").write_text(CONFIG + "---\n" + json.dumps(scenario))
    manifest.apply(runtime, manifest.load(tmp / "c.yaml", runtime.kinds), actor=Actor("bench", "config"))
    counter = Counter()
    runtime.states.put(Notifiers({"email": counter}))
    return runtime, counter


def _drain(runtime: Runtime, counter: Counter, want: int) -> float:
    t0 = time.perf_counter()
    worker = Worker(runtime)
    while counter.sent < want:
        if not worker.run_once(limit=200):
            break
    return time.perf_counter() - t0


def real_alerts(runtime: Runtime, counter: Counter, n: int) -> float:
    t0 = time.perf_counter()
    with runtime.sessions.begin() as s:
        for i in range(n):
            alert = {"status": "firing", "labels": {"alertname": f"Real{i}"}, "annotations": {"summary": f"Real{i}"}}
            body = json.dumps({"version": "4", "status": "firing", "alerts": [alert]}).encode()
            service.accept(
                s,
                integration="am",
                source="alertmanager",
                body=body,
                content_type="application/json",
                now=runtime.now(),
            )
    return time.perf_counter() - t0 + _drain(runtime, counter, n)


def drill_alerts(runtime: Runtime, counter: Counter, n: int) -> float:
    before = counter.sent
    t0 = time.perf_counter()
    with runtime.sessions.begin() as s:
        drills.create(s, runtime, scenario="bench", actor=Actor("bench", "api"), now=runtime.now())
    return time.perf_counter() - t0 + _drain(runtime, counter, before + n)


def scoring_cost(entries: int, rounds: int = 5) -> float:
    """Median seconds to score `entries` timeline lines against twenty expectations."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    kinds = [scoring.ACKNOWLEDGED, scoring.STATUS_UPDATED, scoring.ROLE_ASSIGNED, scoring.ACTION, scoring.PAGED]
    timeline = [
        scoring.Entry(
            at=t0 + timedelta(seconds=i),
            kind=kinds[i % len(kinds)],
            actor=f"p{i % 7}@x.io",
            data={"role": "commander", "person": "p1@x.io", "name": f"step{i % 20}", "status": "identified"},
            ref=i,
        )
        for i in range(entries)
    ]
    expectations = [{"id": f"s{i}", "action": {"name": f"step{i}", "within": "1h"}} for i in range(16)] + [
        {"id": "ack", "acknowledge": {"within": "5m"}},
        {"id": "ic", "assignRole": {"role": "commander", "within": "10m"}},
        {"id": "u", "statusUpdates": {"firstWithin": "5m", "cadence": "10m"}},
        {"id": "pm", "postmortem": {"within": "5d"}},
    ]
    spec = GameDaySpec.model_validate(
        {
            "title": "t",
            "kind": "outage",
            "participants": [{"user": "gm@x.io", "role": "game-master"}],
            "expectations": expectations,
        }
    )
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        scoring.score(spec, timeline, start=t0, end=t0 + timedelta(days=1), now=t0 + timedelta(days=1))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(n: int = 200) -> None:
    ratios = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            runtime, counter = _runtime(Path(tmp), n)
            real = real_alerts(runtime, counter, n)
            drill = drill_alerts(runtime, counter, n)
            assert counter.sent == 2 * n, f"expected {2 * n} pages, got {counter.sent}"
            runtime.engine.dispose()
        ratios.append(drill / real)
        print(f"{n} alerts each: real {n / real:.0f} pages/s, drill {n / drill:.0f} pages/s, ratio {drill / real:.2f}")
    print(f"median drill/real time ratio over 3 rounds: {statistics.median(ratios):.2f}")
    for entries in (1_000, 10_000, 100_000):
        print(f"scoring {entries} timeline lines against 20 expectations: {1000 * scoring_cost(entries):.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
