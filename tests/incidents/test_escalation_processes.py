"""Escalation timers with two real worker processes on PostgreSQL: each step pages exactly once, on time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import SystemClock
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from mamori.incidents.models import AlertGroup, Notification
from mamori.incidents.oncall import service as paging
from tests.incidents.fakes import am_payload
from tests.support import REPO

pytestmark = pytest.mark.slow

GROUPS = 6
STEP_SECONDS = 2
CONFIG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: first}
spec: {email: first@example.com, name: First, contacts: [{type: email, address: first@example.com}]}
---
apiVersion: mamori.dev/v1
kind: User
metadata: {name: second}
spec: {email: second@example.com, name: Second, contacts: [{type: email, address: second@example.com}]}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: fast}
spec:
  steps:
    - {notify: {users: [first@example.com]}, escalateAfter: {s}s}
    - {notify: {users: [second@example.com]}, escalateAfter: {s}s}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: r}
spec: {groupBy: [alertname], default: {severity: SEV2, escalationPolicy: fast}}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: am}
spec: {type: alertmanager, route: r}
""".replace("{s}", str(STEP_SECONDS))


def spawn(url: str, worker_id: str, seconds: float, sends: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.incidents.escalation_worker_main", url, worker_id, str(seconds), str(sends)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_two_worker_processes_send_each_escalation_step_exactly_once(runtime: Runtime, tmp_path: Path) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("several workers at once is the PostgreSQL set-up")
    runtime.clock = SystemClock()  # the workers run on wall-clock time
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "all.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp_path / "c", runtime.kinds), actor=Actor("test", "config"))
    with runtime.sessions.begin() as s:
        for n in range(GROUPS):
            body = am_payload({"labels": {"alertname": f"Broken{n}", "service": "jobs-api"}})
            service.accept(
                s,
                integration="am",
                source="alertmanager",
                body=json.dumps(body).encode(),
                content_type="application/json",
                now=runtime.now(),
            )
    sends = tmp_path / "sends.jsonl"
    url = runtime.engine.url.render_as_string(hide_password=False)
    workers = [spawn(url, f"w{i}", 3 * STEP_SECONDS + 4, sends) for i in range(2)]
    for proc in workers:
        assert proc.wait(timeout=120) == 0

    lines = [json.loads(line) for line in sends.read_text().splitlines()]
    per_step = Counter((line["group"], line["target"]) for line in lines)
    with runtime.sessions() as s:
        groups = s.scalars(select(AlertGroup)).all()
        notes = s.scalars(select(Notification)).all()
        escalations = s.scalars(select(Job).where(Job.kind == paging.ESCALATE_JOB)).all()
    assert len(groups) == GROUPS
    expected = {(g.id, who): 1 for g in groups for who in ("first@example.com", "second@example.com")}
    assert per_step == Counter(expected), "every step of every group pages exactly once"
    assert Counter(n.status for n in notes) == Counter({"sent": 2 * GROUPS})
    assert all(g.escalation_done and g.status == "triggered" for g in groups)
    assert Counter(j.status for j in escalations) == Counter({"succeeded": 2 * GROUPS})
    # Step 2 waits its delay after step 1 ran (not after step 1's page was sent, which a busy machine
    # may delay), and its page goes out no earlier than that.
    at = {(line["group"], line["target"]): line["at"] for line in lines}
    runs = {(j.payload["group_id"], j.payload["step"]): j for j in escalations}
    for g in groups:
        first, second = runs[(g.id, 0)], runs[(g.id, 1)]
        assert first.started_at is not None and second.started_at is not None
        scheduled = (second.run_at - first.started_at).total_seconds()
        assert scheduled >= STEP_SECONDS - 0.05, f"step 2 of {g.id} was due {scheduled:.2f}s after step 1 ran"
        assert second.started_at >= second.run_at, "no step runs before it is due"
        assert at[(g.id, "second@example.com")] >= second.run_at.timestamp() - 0.05
    assert {line["worker"] for line in lines} <= {"w0", "w1"}
