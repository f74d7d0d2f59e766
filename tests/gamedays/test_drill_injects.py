"""A drill's SLO events land in a drill-only slice that no budget, burn alert, policy or freeze counts, and its
news item in the vulns triage queue as a drill finding that no SLA, exposure figure or digest counts; what each
became is on the drill's page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.gamedays.service import drills, entries
from mamori.slo import service as slo_service
from mamori.slo.models import SloAlert, SloBucket, SloFreeze, SloPolicyEpisode, SloStatus, SloTotal
from mamori.vulns import digest
from mamori.vulns.models import VulnFinding
from mamori.vulns.service import queries
from tests.gamedays.support import apply
from tests.slo.helpers import CHECKOUT_SLO
from tests.web.conftest import Login

GM = Actor("alice@example.com", "api")
POLICY = """\
apiVersion: mamori.dev/v1
kind: ErrorBudgetPolicy
metadata: {name: jobs-api-budget}
spec:
  service: jobs-api
  rules:
    - name: low-budget
      when: {budgetRemainingBelow: 25}
      actions: [{type: freeze}]
"""
VENDOR = """\
apiVersion: mamori.dev/v1
kind: Vendor
metadata: {name: buildco}
spec: {criticality: high, owner: backend}
"""
SCENARIO = """\
apiVersion: mamori.dev/v1
kind: GameDay
metadata: {name: checkout}
spec:
  title: Apply is failing and a vendor leaked tokens
  kind: security
  services: [jobs-api]
  participants:
    - {user: alice@example.com, role: game-master}
    - {user: bob@example.com}
  schedule: {duration: 1h}
  injects:
    - {id: burn, at: 1m, sloEvents: {slo: apply-for-job, good: 50, total: 100, over: 5m}}
    - {id: ghost, at: 1m, sloEvents: {slo: no-such-slo, good: 1, total: 2}}
    - id: leak
      at: 2m
      news: {title: OAuth tokens leaked at BuildCo, vendor: buildco, summary: rotate your BuildCo tokens}
"""


def setup(runtime: Runtime, root: Path) -> str:
    apply(runtime, root, SCENARIO)
    (root / "slo.yaml").write_text(CHECKOUT_SLO)
    (root / "policy.yaml").write_text(POLICY)
    (root / "vendor.yaml").write_text(VENDOR)
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=Actor(name="test", source="config"))
    with runtime.sessions.begin() as s:
        return drills.create(s, runtime, scenario="checkout", actor=GM, now=runtime.now()).id


def taken(runtime: Runtime, drill_id: str) -> dict[str, tuple[str, dict[str, object]]]:
    with runtime.sessions() as s:
        return {
            str(e.data["inject"]): (e.text, dict(e.data))
            for e in entries.entries_of(s, drill_id)
            if e.kind == "inject_taken"
        }


def test_drill_slo_events_burn_only_a_drill_slice(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    drill_id = setup(runtime, tmp_path / "c")
    for _ in range(3):
        clock.advance(minutes=1)
        Worker(runtime).run_until_idle()
    got = taken(runtime, drill_id)
    text, data = got["burn"]
    assert text.startswith("drill-only SLO slice of apply-for-job (50 good of 100): available: SLI 50.00%")
    assert "burn 50.0x" in text and "would fire page 1h/5m > 14.4x" in text
    assert data["taken"] is True
    assert got["ghost"] == (
        "no SLO 'no-such-slo' is applied: the drill's SLO events were not taken",
        {
            "inject": "ghost",
            "taken": False,
        },
    )
    with runtime.sessions() as s:
        drill_rows = s.scalar(select(func.sum(SloBucket.total)).where(SloBucket.series.like(f"drill:{drill_id}:%")))
        assert drill_rows == 100  # the slice is kept, under a series of its own
        assert s.scalar(select(func.count()).select_from(SloTotal)) == 0  # no window sum a budget reads
        status = s.scalars(select(SloStatus)).all()
        assert status and all(row.total == 0 and row.remaining == 1.0 for row in status)
        assert s.scalar(select(func.count()).select_from(SloAlert)) == 0
        assert s.scalar(select(func.count()).select_from(SloPolicyEpisode)) == 0
        assert s.scalar(select(func.count()).select_from(SloFreeze)) == 0

    # the same failure rate from real traffic does burn the budget, fire the alert and freeze releases
    ts = (runtime.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": code} for code in [200] * 50 + [500] * 50]
    with runtime.sessions.begin() as s:
        slo_service.ingest(s, data=b"\n".join(orjson.dumps(x) for x in lines))
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(SloAlert)) > 0
        assert s.scalar(select(func.count()).select_from(SloFreeze)) == 1
        real = s.scalars(select(SloStatus)).all()
        assert {row.total for row in real} == {100}  # only the real events: the drill's 100 are not in it


def test_drill_news_is_a_triage_finding_no_sla_or_exposure_counts(
    runtime: Runtime, clock: FixedClock, tmp_path: Path, client: TestClient, login: Login
) -> None:
    drill_id = setup(runtime, tmp_path / "c")
    for _ in range(3):
        clock.advance(minutes=1)
        Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        (finding,) = s.scalars(select(VulnFinding))
        assert (finding.kind, finding.title, finding.vendor, finding.state) == (
            "drill",
            "[DRILL] OAuth tokens leaked at BuildCo",
            "buildco",
            "new",
        )
        assert finding.priority == "P1" and finding.due_at is None  # a token leak, but no SLA
        assert [f.id for f in queries.list_findings(s, state=["open"])] == [finding.id]  # in the triage queue
        later = runtime.now() + timedelta(days=90)
        exposure = queries.exposure(s, now=later)
        assert exposure["open"] == 0 and exposure["sla_breaches"] == 0
        assert queries.sla_breaches(s, now=later) == []
        assert digest.compose(s, now=runtime.now()).new == []
    text, data = taken(runtime, drill_id)["leak"]
    assert data["finding"] == finding.id and "drill finding P1 [DRILL] OAuth tokens leaked at BuildCo" in text
    login()
    page = client.get(f"/gamedays/drills/{drill_id}/timeline")
    assert "drill-only SLO slice of apply-for-job" in page.text and "drill finding P1" in page.text

    with runtime.sessions.begin() as s:
        drills.abort(s, runtime, drill_id=drill_id, reason="done", actor=GM, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert queries.list_findings(s, state=["open"]) == []  # the aborted drill leaves nothing to triage
        closed = queries.get_finding(s, finding.id)
        assert closed.state == "fixed" and [c.body for c in closed.comments] == [f"drill {drill_id} aborted: closed"]
