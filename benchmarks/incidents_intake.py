"""Alert intake throughput with dedup, and accept-to-first-notification latency (SQLite, one process).

Run: .venv/bin/python -m benchmarks.incidents_intake [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.incidents_http import CONFIG
from mamori.core import manifest, migrate
from mamori.core.audit import Actor
from mamori.core.clock import SystemClock
from mamori.core.config import load_settings
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.integrations.notify import Message, Notifiers
from mamori.wiring import build_runtime, start


class Stopwatch:
    def __init__(self) -> None:
        self.first_sent: dict[str, float] = {}

    def send(self, message: Message, target: str) -> str:
        self.first_sent.setdefault(message.title, time.perf_counter())
        return "ok"


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = load_settings(env={}, data_dir=tmp, secret_key="bench-secret-key-0123456789")
    runtime = build_runtime(settings, clock=SystemClock())
    migrate.upgrade(runtime.engine)
    start(runtime)
    (tmp / "c.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp / "c.yaml", runtime.kinds), actor=Actor("bench", "config"))
    watch = Stopwatch()
    runtime.states.put(Notifiers({"email": watch}))
    accepted: dict[str, float] = {}
    worker = Worker(runtime)
    t0 = time.perf_counter()
    for i in range(n):
        # Every 10th payload opens a new group; the rest repeat a firing alert (dedup).
        name = f"Alert{i // 10}"
        body = {
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": name, "service": "jobs-api"},
                    "annotations": {"summary": name},
                }
            ],
        }
        with runtime.sessions.begin() as s:
            service.accept(
                s,
                integration="am",
                source="alertmanager",
                body=json.dumps(body).encode(),
                content_type="application/json",
                now=runtime.now(),
            )
        accepted.setdefault(name, time.perf_counter())
        if i % 10 == 9:
            worker.run_until_idle()
    worker.run_until_idle()
    elapsed = time.perf_counter() - t0
    latencies = sorted((watch.first_sent[k] - accepted[k]) * 1000 for k in accepted if k in watch.first_sent)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    print(f"payloads: {n}, groups: {len(accepted)}, notified: {len(latencies)}")
    print(f"intake incl. processing: {n / elapsed:.0f} payloads/s")
    print(f"accept -> first notification: p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms")
    runtime.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
