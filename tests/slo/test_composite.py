"""Composite SLOs: objectives with their own indicators and compositeWeight form one weighted budget and burn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.slo import counting, definitions, service
from mamori.slo.evaluate import MemoryStore, evaluate, evaluate_composite
from mamori.slo.models import SloAlert, SloStatus
from tests.slo.helpers import registry, write

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
COMPOSITE = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: search, displayName: Search for jobs}
spec:
  service: jobs-web
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - displayName: works
      target: 0.99
      compositeWeight: 3
      indicator:
        metadata: {name: search-ok}
        spec:
          ratioMetric:
            good: {metricSource: {type: mamori, spec: {filter: "status < 500"}}}
            total: {metricSource: {type: mamori, spec: {filter: "route = '/search'"}}}
    - displayName: fast
      target: 0.9
      op: lte
      value: 300
      indicator:
        metadata: {name: search-fast}
        spec:
          thresholdMetric: {metricSource: {type: mamori, spec: {filter: "route = '/search'", field: duration_ms}}}
"""


def _line(at: datetime, status: int, duration: int) -> bytes:
    ts = at.isoformat().replace("+00:00", "Z")
    return orjson.dumps(
        {"ts": ts, "service": "jobs-web", "route": "/search", "status": status, "duration_ms": duration}
    )


def _events(at: datetime) -> bytes:
    # the last hour: 100 requests a minute-slot, 2 % errors (burn 2 on "works"), 20 % slow (burn 2 on "fast")
    lines = []
    for i in range(1000):
        when = at - timedelta(minutes=60) + timedelta(seconds=i * 3.6)
        lines.append(_line(when, 500 if i % 50 == 0 else 200, 900 if i % 5 == 0 else 100))
    return b"\n".join(lines)


def _objectives(tmp_path: Path) -> list[definitions.CompiledObjective]:
    write(tmp_path / "cfg", "slo.yaml", COMPOSITE)
    return service.objectives_from_config(tmp_path / "cfg", registry())


def test_composite_budget_and_burn_are_weighted_means_of_the_members(tmp_path: Path) -> None:
    works, fast = _objectives(tmp_path)
    assert works.composite and fast.composite and (works.composite_weight, fast.composite_weight) == (3, None)
    store = MemoryStore(counting.count_lines(counting.split_lines(_events(AT)), counting.plan_for([works, fast])))
    one, two = evaluate(works, store, AT), evaluate(fast, store, AT)
    composite = definitions.composite_objective([works, fast])
    result = evaluate_composite(composite, [works, fast], [store, store], AT)
    assert result["target"] == pytest.approx((3 * 0.99 + 0.9) / 4)
    assert result["error_budget"]["consumed"] == pytest.approx(
        (3 * one["error_budget"]["consumed"] + two["error_budget"]["consumed"]) / 4
    )
    assert result["burn_rates"]["1h"] == pytest.approx((3 * 2.0 + 1 * 2.0) / 4)
    assert result["sli"] == pytest.approx((3 * 0.98 + 0.8) / 4)
    assert (result["good"], result["total"]) == (one["good"] + two["good"], 2000)
    assert [c["weight"] for c in result["components"]] == [3, 1.0]


def test_a_member_without_events_neither_consumes_nor_dilutes(tmp_path: Path) -> None:
    works, fast = _objectives(tmp_path)
    lines = [_line(AT - timedelta(minutes=5), 500, 100), _line(AT - timedelta(minutes=5), 200, 100)]
    tally = counting.count_lines(lines, counting.plan_for([works]))  # only "works" counted anything
    store = MemoryStore(tally)
    composite = definitions.composite_objective([works, fast])
    result = evaluate_composite(composite, [works, fast], [store, store], AT)
    assert result["error_budget"]["consumed"] == pytest.approx(0.5 / 0.01)
    assert result["burn_rates"]["5m"] == pytest.approx(50.0)


def test_composite_alerts_follow_the_weighted_burn(tmp_path: Path) -> None:
    works, fast = _objectives(tmp_path)
    lines = []
    for minute in range(1, 361):  # six hours: "works" burns at 20 (20 % errors), "fast" at 0
        for i in range(10):
            lines.append(_line(AT - timedelta(minutes=minute), 500 if i < 2 else 200, 100))
    store = MemoryStore(counting.count_lines(lines, counting.plan_for([works, fast])))
    composite = definitions.composite_objective([works, fast])
    result = evaluate_composite(composite, [works, fast], [store, store], AT)
    assert result["burn_rates"]["1h"] == pytest.approx(3 * 20 / 4)  # 15 > 13.44 and 5.6: both pages
    assert {(a["severity"], a["long_window"]) for a in result["alerts"]} == {
        ("page", "1h"),
        ("page", "6h"),
        ("ticket", "1d"),
        ("ticket", "3d"),
    }
    # "works" alone would page, but with weight 1 out of 4 the composite burns at 5: under both page thresholds
    light = definitions.composite_objective([replace_weight(works, 1), replace_weight(fast, 3)])
    result = evaluate_composite(light, [replace_weight(works, 1), replace_weight(fast, 3)], [store, store], AT)
    assert result["burn_rates"]["1h"] == pytest.approx(20 / 4)
    assert [a["severity"] for a in result["alerts"]] == ["ticket", "ticket"]


def replace_weight(objective: definitions.CompiledObjective, weight: float) -> definitions.CompiledObjective:
    from dataclasses import replace

    return replace(objective, composite_weight=weight)


def test_offline_evaluate_prints_the_composite_after_its_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    write(tmp_path / "cfg", "slo.yaml", COMPOSITE)
    (tmp_path / "e.ndjson").write_bytes(_events(AT))
    args = ["--config", str(tmp_path / "cfg"), "--events", str(tmp_path / "e.ndjson"), "--at", AT.isoformat()]
    result = CliRunner().invoke(app, ["slo", "evaluate", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    works, fast, composite = orjson.loads(result.stdout)
    assert composite["slo"] == "search" and composite["objective"] == "composite"
    assert composite["burn_rates"]["1h"] == pytest.approx(2.0)
    assert composite["error_budget"]["consumed"] == pytest.approx(
        (3 * works["error_budget"]["consumed"] + fast["error_budget"]["consumed"]) / 4
    )


def test_the_server_stores_and_alerts_on_the_composite(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", COMPOSITE)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    now = runtime.now()
    lines = []
    for minute in range(1, 361):
        for i in range(10):
            lines.append(_line(now - timedelta(minutes=minute), 500 if i < 2 else 200, 100))
    with runtime.sessions.begin() as session:
        service.ingest(session, data=b"\n".join(lines))
        service.evaluate_all(session, runtime, now=now)
    with runtime.sessions() as session:
        status = session.get(SloStatus, "search#-1")
        assert status is not None and status.objective == definitions.COMPOSITE_INDEX
        assert status.result["burn_rates"]["1h"] == pytest.approx(15.0)
        alerts = session.scalars(select(SloAlert).where(SloAlert.series == "search#-1")).all()
        assert {(a.severity, a.long_window) for a in alerts} == {
            ("page", "1h"),
            ("page", "6h"),
            ("ticket", "1d"),
            ("ticket", "3d"),
        }


def test_pages_list_the_composite_beside_its_members(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    write(tmp_path / "cfg", "slo.yaml", COMPOSITE)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        service.ingest(session, data=_events(runtime.now()))
        service.evaluate_all(session, runtime, now=runtime.now())
    listing = client.get("/slos", headers=auth_headers)
    assert listing.status_code == 200 and "composite" in listing.text
    page = client.get("/slos/search", headers=auth_headers)
    assert page.status_code == 200
    assert page.text.count('class="chart"') == 6  # SLI and budget charts of works, fast and the composite
    assert "works" in page.text and "composite" in page.text
