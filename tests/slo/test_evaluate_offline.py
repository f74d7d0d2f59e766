"""`mamori slo evaluate`: the exact JSON shape and numbers, half-open windows, gzip events, clear errors."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from mamori.cli import app
from tests.slo.helpers import CHECKOUT_SLO, write

runner = CliRunner()
AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROM_SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: search-latency}
spec:
  service: jobs-api
  indicator:
    metadata: {name: lat}
    spec:
      thresholdMetric: {metricSource: {type: Prometheus, spec: {query: "histogram_quantile(0.9, x)"}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{op: lt, value: 300, target: 0.95}]
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")


def _event(at: datetime, status: int, route: str = "/apply") -> dict[str, object]:
    return {"ts": at.isoformat().replace("+00:00", "Z"), "service": "jobs-api", "route": route, "status": status}


def _events() -> list[dict[str, object]]:
    events = [_event(AT - timedelta(days=2) + timedelta(seconds=i), 200) for i in range(980)]
    events += [_event(AT - timedelta(minutes=2), 500 if i % 2 else 200) for i in range(20)]
    events += [_event(AT, 500) for _ in range(5)]  # at `at` itself: outside [at - w, at)
    events.append(_event(AT - timedelta(days=30), 200))  # exactly at the window start: inside
    events.append(_event(AT - timedelta(days=30, minutes=1), 500))  # before it: outside
    events.append(_event(AT - timedelta(minutes=1), 500, route="/search"))  # not part of the SLI
    return events


def _run(tmp_path: Path, events_name: str = "events.ndjson", gz: bool = False) -> list[dict[str, object]]:
    config = tmp_path / "config"
    write(config, "slo.yaml", CHECKOUT_SLO)
    write(config, "prom.yaml", PROM_SLO)
    body = b"\n".join(orjson.dumps(e) for e in _events()) + b"\n"
    path = tmp_path / events_name
    path.write_bytes(gzip.compress(body) if gz else body)
    result = runner.invoke(
        app,
        [
            "slo",
            "evaluate",
            "--config",
            str(config),
            "--events",
            str(path),
            "--at",
            "2026-11-28T12:00:00Z",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    parsed: list[dict[str, object]] = orjson.loads(result.stdout)
    return parsed


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("gz", [False, True])
def test_evaluate_prints_budget_burn_rates_and_alerts(tmp_path: Path, gz: bool) -> None:
    apply, prom = _run(tmp_path, "events.ndjson.gz" if gz else "events.ndjson", gz=gz)
    assert apply == {
        "slo": "apply-for-job",
        "service": "jobs-api",
        "target": 0.99,
        "window": "30d",
        "sli": 991 / 1001,
        "good": 991,
        "total": 1001,
        "error_budget": {"consumed": float(Fraction(1000, 1001)), "remaining": float(Fraction(1, 1001))},
        "burn_rates": {"5m": 50.0, "30m": 50.0, "1h": 50.0, "2h": 50.0, "6h": 50.0, "1d": 50.0, "3d": 1.0},
        "alerts": [
            {"severity": "page", "long_window": "1h", "short_window": "5m", "threshold": 14.4},
            {"severity": "page", "long_window": "6h", "short_window": "30m", "threshold": 6.0},
            {"severity": "ticket", "long_window": "1d", "short_window": "2h", "threshold": 3.0},
        ],
    }
    assert prom["sli"] is None and prom["total"] == 0 and prom["alerts"] == []
    assert prom["error_budget"] == {"consumed": 0.0, "remaining": 1.0}
    assert prom["window"] == "28d"


@pytest.mark.usefixtures("env")
def test_evaluate_refuses_a_bad_events_file_naming_the_line(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "slo.yaml", CHECKOUT_SLO).parent
    events = tmp_path / "bad.ndjson"
    events.write_text('{"ts": "2026-11-28T11:00:00Z", "service": "jobs-api"}\n{"service": "jobs-api"}\n')
    result = runner.invoke(
        app, ["slo", "evaluate", "--config", str(config), "--events", str(events), "--at", "2026-11-28T12:00:00Z"]
    )
    assert result.exit_code == 2
    assert "line 2: ts is required" in result.output


@pytest.mark.usefixtures("env")
def test_evaluate_refuses_a_bad_instant(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "slo.yaml", CHECKOUT_SLO).parent
    events = write(tmp_path, "e.ndjson", "")
    result = runner.invoke(app, ["slo", "evaluate", "--config", str(config), "--events", str(events), "--at", "noon"])
    assert result.exit_code == 2
    assert "not an RFC 3339 timestamp" in result.output
