"""`mamori slo export-prometheus`: rules that promtool accepts and that match Sloth's output structurally."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mamori.cli import app
from tests.slo.helpers import CHECKOUT_SLO, write
from tests.support import peers, require_binary

runner = CliRunner()
GETTING_STARTED = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: requests-availability}
spec:
  service: myservice
  indicator:
    metadata: {name: availability}
    spec:
      ratioMetric:
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: >-
                sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))'}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
"""
ALERT_PART = re.compile(r"ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \* ([\d.e-]+)\)")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")


def _export(config: Path) -> tuple[str, str]:
    result = runner.invoke(app, ["slo", "export-prometheus", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def _norm(expr: str) -> str:
    return re.sub(r"\s+", "", expr)


def _rules(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for g in doc["groups"] for r in g["rules"] if kind in r]


def _alert_parts(doc: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    out = {}
    for alert in _rules(doc, "alert"):
        parts = ALERT_PART.findall(alert["expr"])
        out[alert["labels"]["sloth_severity"]] = [(window, float(factor)) for window, factor, _ in parts]
        assert {round(float(b), 9) for _, _, b in parts} == {0.001}
    return out


@pytest.mark.usefixtures("env")
def test_rules_match_sloths_getting_started_output(tmp_path: Path) -> None:
    text, _ = _export(write(tmp_path / "cfg", "slo.yaml", GETTING_STARTED).parent)
    ours = yaml.safe_load(text)
    sloth_path = peers("slo", "sloth", "examples", "_gen", "getting-started.yml")
    [sloth] = [d for d in yaml.safe_load_all(sloth_path.read_text()) if d]

    def recordings(doc: dict[str, Any]) -> dict[tuple[str, str | None], str]:
        return {(r["record"], r["labels"].get("sloth_window")): _norm(r["expr"]) for r in _rules(doc, "record")}

    mine, theirs = recordings(ours), recordings(sloth)
    assert set(mine) == set(theirs)
    for key, expr in theirs.items():
        if key[0] in ("slo:objective:ratio", "slo:error_budget:ratio", "sloth_slo_info"):
            continue  # Sloth prints 0.9990000000000001 where we print the exact 0.999
        assert mine[key] == expr, key
    assert (
        _alert_parts(ours)
        == _alert_parts(sloth)
        == {
            "page": [("5m", 14.4), ("1h", 14.4), ("30m", 6.0), ("6h", 6.0)],
            "ticket": [("2h", 3.0), ("1d", 3.0), ("6h", 1.0), ("3d", 1.0)],
        }
    )
    for group in ("sli-recordings", "meta-recordings", "alerts"):
        assert f"sloth-slo-{group}-myservice-requests-availability" in [g["name"] for g in ours["groups"]]


@pytest.mark.usefixtures("env")
def test_promtool_accepts_the_rules_and_event_slos_are_skipped(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    config = tmp_path / "cfg"
    write(config, "slo.yaml", GETTING_STARTED.replace("duration: 30d", "duration: 28d"))
    write(config, "events.yaml", CHECKOUT_SLO)
    text, err = _export(config)
    assert "skipped apply-for-job#0: not a Prometheus ratio SLI" in err
    rules = tmp_path / "rules.yml"
    rules.write_text(text)
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 17 rules found" in checked.stdout
    factors = _alert_parts(yaml.safe_load(text))
    assert factors["page"][0] == ("5m", 13.44) and factors["ticket"][2][1] == pytest.approx(0.9333333)
    assert "sum_over_time(slo:sli_error:ratio_rate5m" in text and "[28d])" in text


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("example", ["openslo-getting-started.yml", "openslo-kubernetes-apiserver.yml"])
def test_sloths_openslo_v1alpha_examples_export_like_sloth(tmp_path: Path, example: str) -> None:
    source = peers("slo", "sloth", "examples", example)
    config = tmp_path / "cfg"
    config.mkdir()
    (config / example).write_text(source.read_text())
    validated = runner.invoke(app, ["validate", "--config", str(config)])
    assert validated.exit_code == 0, validated.output
    ours = yaml.safe_load(_export(config)[0])
    generated = [d for d in yaml.safe_load_all(peers("slo", "sloth", "examples", "_gen", example).read_text()) if d]
    sloth = {"groups": [g for d in generated for g in d["groups"]]}

    def sli_exprs(doc: dict[str, Any]) -> list[str]:
        return sorted(
            _norm(r["expr"])
            for r in _rules(doc, "record")
            if r["record"].startswith("slo:sli_error") and "sum_over_time" not in r["expr"]
        )

    assert sli_exprs(ours) == sli_exprs(sloth)
    assert len(_rules(ours, "record")) == len(_rules(sloth, "record"))
    # Sloth makes no alerts from OpenSLO input; Mamori adds the default multiwindow alerts for each objective.
    assert _rules(sloth, "alert") == []
    assert {(a["labels"]["sloth_severity"]) for a in _rules(ours, "alert")} == {"page", "ticket"}
