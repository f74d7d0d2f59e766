"""Server side: ingest over HTTP and CLI into buckets, evaluation every minute, burn alerts fired and resolved."""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.jobs import JobContext
from mamori.core.models import TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.slo import counting, service
from mamori.slo.evaluate import MemoryStore, to_minute
from mamori.slo.events import BurnAlertFired, BurnAlertResolved
from mamori.slo.models import SloAlert, SloBucket, SloStatus
from tests.conftest import issue_token
from tests.slo.helpers import CHECKOUT_SLO, write


def _apply(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))


def _batch(runtime: Runtime, *, minutes_ago: float, good: int, bad: int, route: str = "/apply") -> bytes:
    at = runtime.now() - timedelta(minutes=minutes_ago)
    ts = at.isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": route, "status": 200}] * good
    lines += [{"ts": ts, "service": "jobs-api", "route": route, "status": 503}] * bad
    return b"\n".join(orjson.dumps(x) for x in lines)


def _bucket_total(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.coalesce(func.sum(SloBucket.total), 0))) or 0)


def test_ingest_endpoint_counts_gzip_batches_with_an_ingest_token(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    _apply(runtime, tmp_path)
    token = issue_token(runtime, "ingest")
    body = gzip.compress(
        _batch(runtime, minutes_ago=3, good=7, bad=2)
        + b"\n"
        + _batch(runtime, minutes_ago=1, good=1, bad=0, route="/apply/confirm")
    )
    response = client.post("/api/v1/ingest/events", content=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"events": 10, "counted": 10, "buckets": 2}
    with runtime.sessions() as session:
        rows = session.execute(select(SloBucket.slice, SloBucket.good, SloBucket.total).order_by(SloBucket.slice)).all()
    assert [tuple(r) for r in rows] == [("/apply", 7, 9), ("/apply/confirm", 1, 1)]


def test_a_bad_line_refuses_the_whole_batch(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    _apply(runtime, tmp_path)
    token = issue_token(runtime, "ingest")
    body = _batch(runtime, minutes_ago=3, good=5, bad=0) + b'\n{"service": "jobs-api", "ts": "soon"}\n'
    response = client.post("/api/v1/ingest/events", content=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"] == [
        {"loc": "line 6", "msg": "ts 'soon' is not RFC 3339 or epoch milliseconds", "file": "body"}
    ]
    assert _bucket_total(runtime) == 0


def test_ingest_needs_the_ingest_scope(runtime: Runtime, client: TestClient) -> None:
    token = issue_token(runtime, "read", email="viewer@example.com", role="viewer")
    response = client.post("/api/v1/ingest/events", content=b"", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_ingest_command_adds_to_existing_buckets(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(runtime, tmp_path)
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(gzip.compress(_batch(runtime, minutes_ago=3, good=4, bad=1)))
    for _ in range(2):
        result = CliRunner().invoke(app, ["ingest", str(path)])
        assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {"events": 5, "counted": 5, "buckets": 1}
    assert _bucket_total(runtime) == 10
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(_batch(runtime, minutes_ago=3, good=4, bad=1) + b"\n[]\n")
    result = CliRunner().invoke(app, ["ingest", str(bad)])
    assert result.exit_code == 2 and "line 6: expected a JSON object" in result.output
    assert _bucket_total(runtime) == 10


def test_database_window_sums_match_the_in_memory_store(runtime: Runtime, tmp_path: Path) -> None:
    _apply(runtime, tmp_path)
    data = b"\n".join(_batch(runtime, minutes_ago=m, good=m % 7, bad=m % 3) for m in range(1, 200, 3))
    with runtime.sessions.begin() as session:
        service.ingest(session, data=data)
    with runtime.sessions() as session:
        objectives = service.list_objectives(session)
    memory = MemoryStore(counting.count(counting.parse_lines(counting.split_lines(data)), objectives))
    series = objectives[0].series
    end = to_minute(runtime.now())
    with runtime.sessions() as session:
        db = service.DbStore(session)
        for width in (1, 5, 30, 60, 120, 1000):
            assert db.totals(series, end - width, end) == memory.totals(series, end - width, end)
        assert db.minutes(series, end - 60, end) == memory.minutes(series, end - 60, end)
        batched = service.DbStore(session)
        batched.prefetch([series, "unknown#0"], {end - 5, end - 120, end - 1000}, end)
        for width in (5, 120, 1000):
            assert batched.totals(series, end - width, end) == memory.totals(series, end - width, end)
        assert batched.totals("unknown#0", end - 5, end) == (0, 0)


def test_periodic_evaluation_fires_and_resolves_burn_alerts(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    received: list[object] = []

    def record(ctx: JobContext, event: BurnAlertFired | BurnAlertResolved) -> None:
        received.append(event)

    runtime.bus.subscribe(BurnAlertFired, "test.fired", record)
    runtime.bus.subscribe(BurnAlertResolved, "test.resolved", record)
    _apply(runtime, tmp_path)
    with runtime.sessions.begin() as session:
        service.ingest(session, data=_batch(runtime, minutes_ago=2, good=80, bad=20))
    Worker(runtime).run_until_idle()

    with runtime.sessions() as session:
        status = session.scalars(select(SloStatus)).one()
        assert (status.good, status.total, status.remaining) == (80, 100, pytest.approx(-19.0))
        firing = session.scalars(select(SloAlert).where(SloAlert.status == "firing").order_by(SloAlert.id)).all()
        assert [(a.severity, a.long_window, a.short_window) for a in firing] == [
            ("page", "1h", "5m"),
            ("page", "6h", "30m"),
            ("ticket", "1d", "2h"),
            ("ticket", "3d", "6h"),
        ]
        burns = session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "slo_burn")).all()
        assert len(burns) == 4 and burns[0].service == "jobs-api"
    fired = [e for e in received if isinstance(e, BurnAlertFired)]
    assert len(fired) == 4
    assert fired[0].burn_rate == pytest.approx(20.0) and fired[0].user_story == "apply-for-job"

    clock.advance(minutes=10)  # the 5m window is clean again: the fast page resolves, nothing fires twice
    Worker(runtime).run_until_idle()
    resolved = [e for e in received if isinstance(e, BurnAlertResolved)]
    assert [(e.severity, e.long_window) for e in resolved] == [("page", "1h")]
    assert len([e for e in received if isinstance(e, BurnAlertFired)]) == 4


def test_slo_status_over_http(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    _apply(runtime, tmp_path)
    with runtime.sessions.begin() as session:
        service.ingest(session, data=_batch(runtime, minutes_ago=2, good=99, bad=1))
    Worker(runtime).run_until_idle()
    [row] = client.get("/api/v1/slos", headers=auth_headers).json()
    assert row["slo"] == "apply-for-job" and row["user_story"] == "apply-for-job" and row["sli"] == 0.99
    assert client.get("/api/v1/slos/nope", headers=auth_headers).status_code == 404
    alerts = client.get("/api/v1/slo-alerts?status=firing", headers=auth_headers).json()
    assert alerts == []  # 1% errors vs a 1% budget: burn 1.0, the guard needs 5 events and burn above 1
