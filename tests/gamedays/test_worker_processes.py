"""A drill's injects with two real worker processes on PostgreSQL: each inject fires once and pages once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from mamori.core.audit import Actor
from mamori.core.clock import SystemClock
from mamori.core.runtime import Runtime
from mamori.gamedays.models import DrillEntry, DrillInject
from mamori.gamedays.service import drills
from mamori.incidents.models import AlertGroup
from tests.gamedays.support import apply
from tests.support import REPO

pytestmark = pytest.mark.slow
INJECTS = 8
INJECT = (
    "    - {{id: a{i}, at: {at}s, alert: {{integration: drills, title: Burst {i}, labels: {{alertname: Burst{i}}}}}}}"
)
SCENARIO = (
    """\
apiVersion: mamori.dev/v1
kind: GameDay
metadata: {name: burst}
spec:
  title: Many alerts at once
  kind: outage
  participants: [{user: alice@example.com, role: game-master}, {user: bob@example.com}]
  injects:
"""
    + "\n".join(INJECT.format(i=i, at=1 + i % 3) for i in range(INJECTS))
    + "\n"
)


def test_two_worker_processes_fire_each_inject_once(runtime: Runtime, tmp_path: Path) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("several workers at once is the PostgreSQL set-up")
    runtime.clock = SystemClock()
    apply(runtime, tmp_path / "c", SCENARIO)
    with runtime.sessions.begin() as s:
        drill_id = drills.create(s, runtime, scenario="burst", actor=Actor("gm", "api"), now=runtime.now()).id
    sends = tmp_path / "sends.jsonl"
    url = runtime.engine.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.incidents.escalation_worker_main", url, f"w{n}", "12", str(sends)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for n in range(2)
    ]
    for proc in workers:
        assert proc.wait(timeout=120) == 0
    with runtime.sessions() as s:
        fired = Counter(
            e.data["inject"]
            for e in s.scalars(
                select(DrillEntry).where(DrillEntry.drill_id == drill_id, DrillEntry.kind == "inject_fired")
            )
        )
        statuses = Counter(i.status for i in s.scalars(select(DrillInject)))
        groups = s.scalars(select(AlertGroup)).all()
    assert fired == Counter({f"a{i}": 1 for i in range(INJECTS)})
    assert statuses == Counter({"fired": INJECTS})
    assert len(groups) == INJECTS and all(g.title.startswith("[DRILL] Burst") for g in groups)
    pages = [json.loads(line) for line in sends.read_text().splitlines()]
    assert Counter((p["group"], p["target"]) for p in pages) == Counter({(g.id, "bob@example.com"): 1 for g in groups})
