"""Sixteen concurrent clients against a real HTTP server, on SQLite and PostgreSQL: no 5xx, no lost write.

Each client posts Alertmanager webhooks (one in five opens a new alert group, the rest repeat a firing
alert), lists the services and asks `/healthz`, as a busy team's tooling does. Afterwards every accepted
webhook is stored, every new alert group exists and the job worker has drained. The health check's
latency under this load is printed for the benchmarks' record (speed is measured there, not asserted).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.incidents.models import AlertGroup, Intake
from mamori.integrations.notify import InMemoryNotifier, Notifiers
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory, issue_token
from tests.support import serving

CLIENTS, ROUNDS = 16, 12
CONFIG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: oncall}
spec: {email: oncall@example.com, name: On Call, contacts: [{type: email, address: oncall@example.com}]}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: p}
spec: {steps: [{notify: {users: [oncall@example.com]}, escalateAfter: 1h}]}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: r}
spec: {groupBy: [alertname], default: {severity: SEV3, escalationPolicy: p}}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: am}
spec: {type: alertmanager, route: r}
"""


def _payload(name: str) -> bytes:
    alert = {"status": "firing", "labels": {"alertname": name}, "annotations": {}, "startsAt": "2026-11-28T12:00:00Z"}
    return json.dumps(
        {"version": "4", "status": "firing", "receiver": "mamori", "groupKey": name, "alerts": [alert]}
    ).encode()


@pytest.fixture
def served(make_runtime: RuntimeFactory, tmp_path: Path) -> Iterator[tuple[Runtime, str, InMemoryNotifier]]:
    email = InMemoryNotifier("email")
    runtime = make_runtime(states=[Notifiers({"email": email})], job_poll_seconds=0.05)
    (tmp_path / "c.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp_path / "c.yaml", runtime.kinds), actor=Actor("t", "config"))
    with serving(create_app(runtime, run_worker=True)) as base:
        yield runtime, base, email


@pytest.mark.slow
def test_sixteen_clients_get_no_5xx_and_lose_no_write(served: tuple[Runtime, str, InMemoryNotifier]) -> None:
    runtime, base, email = served
    ingest, read = issue_token(runtime, "ingest"), issue_token(runtime, "read")
    statuses: Counter[tuple[str, int]] = Counter()
    health_ms: list[float] = []
    new_groups: set[str] = set()
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for r in range(ROUNDS):
                name = f"New-{n}-{r}" if r % 5 == 0 else "Repeating"
                hook = http.post(
                    "/hooks/alertmanager/am",
                    content=_payload(name),
                    headers={"Authorization": f"Bearer {ingest}", "Content-Type": "application/json"},
                )
                listed = http.get("/api/v1/services", headers={"Authorization": f"Bearer {read}"})
                started = time.perf_counter()
                health = http.get("/healthz")
                took = (time.perf_counter() - started) * 1000
                with lock:
                    statuses.update(
                        [("hook", hook.status_code), ("list", listed.status_code), ("health", health.status_code)]
                    )
                    health_ms.append(took)
                    if hook.status_code == 202 and name != "Repeating":
                        new_groups.add(name)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [k for k in statuses if k[1] >= 500] == [], statuses
    assert statuses == {
        ("hook", 202): CLIENTS * ROUNDS,
        ("list", 200): CLIENTS * ROUNDS,
        ("health", 200): CLIENTS * ROUNDS,
    }
    deadline = time.monotonic() + 120
    while True:
        with runtime.sessions() as s:
            pending = s.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running"))))
            due = s.scalar(
                select(func.count()).select_from(Job).where(Job.status == "queued", Job.run_at <= runtime.now())
            )
        if not due or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    with runtime.sessions() as s:
        intakes = s.scalar(select(func.count()).select_from(Intake))
        groups = set(s.scalars(select(AlertGroup.title)))
        failed = s.scalar(select(func.count()).select_from(Job).where(Job.status == "failed"))
    assert intakes == CLIENTS * ROUNDS, "every accepted webhook is stored"
    assert new_groups <= groups and "Repeating" in groups and len(groups) == len(new_groups) + 1
    assert failed == 0 and not due, f"{pending} jobs left"
    assert len(email.sent) == len(groups), "each new group paged once"
    p99 = statistics.quantiles(health_ms, n=100)[98]
    print(
        f"\n{runtime.engine.dialect.name}: /healthz under load"
        f" p50 {statistics.median(health_ms):.1f} ms, p99 {p99:.1f} ms"
    )
