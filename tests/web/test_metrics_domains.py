"""/metrics with a read token serves every domain's figures (text format 0.0.4); without one only Mamori's own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mamori.core.exposition import ExpositionError, MetricFamily, render
from mamori.core.runtime import Runtime
from tests.conftest import issue_token
from tests.web.metrics_seed import seed_all


def _series(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def _one(series: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    found = [v for got, v in series.get(name, []) if all(got.get(k) == want for k, want in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {series.get(name)}"
    return found[0]


def test_a_read_token_scrape_serves_every_domains_figures_and_leaves_drills_out(
    client: TestClient, runtime: Runtime
) -> None:
    seed_all(runtime)
    token = issue_token(runtime, "read")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    s = _series(response.text)
    slo = {"slo": "checkout-availability", "service": "shop"}
    assert _one(s, "mamori_slo_error_budget_remaining_ratio", **slo, story='pay "now"') == -0.5
    assert _one(s, "mamori_slo_error_budget_consumed_ratio", **slo) == 1.5
    assert _one(s, "mamori_slo_burn_rate", **slo, window="1h") == 14.4
    assert _one(s, "mamori_slo_burn_rate", **slo, window="6h") == 6.0
    assert _one(s, "mamori_slo_burn_alerts_firing", service="shop", severity="page") == 1
    assert _one(s, "mamori_slo_evaluation_age_seconds", **slo) == 60
    # the drill's alert group (acknowledged after 104 min) and its page do not count
    assert _one(s, "mamori_incidents_mtta_seconds", window="28d") == 240
    assert _one(s, "mamori_incidents_mttr_seconds", window="28d") == 1800
    assert _one(s, "mamori_incidents_alert_groups", window="28d") == 1
    assert _one(s, "mamori_oncall_pages", person="bob@example.com") == 1
    finding = {"service": "shop", "team": "payments"}
    assert _one(s, "mamori_vulns_open_findings", **finding, priority="P1") == 2
    assert _one(s, "mamori_vulns_sla_breaches", **finding, priority="P1") == 1
    assert _one(s, "mamori_findings_open", **finding, priority="P2") == 2
    assert _one(s, "mamori_findings_sla_breaches", **finding, priority="P2") == 1
    assert _one(s, "mamori_delivery_deployments", service="shop") == 3
    assert "mamori_job_queue_lag_seconds" in s  # Mamori's own metrics are still there
    assert "mamori_metrics_domain_errors" not in s
    for name in ("mamori_slo_burn_rate", "mamori_delivery_deployments", "mamori_jobs"):
        assert response.text.count(f"# TYPE {name} ") == 1


def test_without_a_token_only_mamoris_own_metrics_are_served_and_a_wrong_token_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    seed_all(runtime)
    open_text = client.get("/metrics").text
    assert "mamori_jobs" in open_text and "mamori_slo_" not in open_text and "mamori_delivery_" not in open_text
    assert client.get("/metrics", headers={"Authorization": "Bearer mmr_0000_wrong"}).status_code == 401


def test_the_delivery_endpoint_still_serves_delivery_figures(client: TestClient, runtime: Runtime) -> None:
    seed_all(runtime)
    token = issue_token(runtime, "read")
    text = client.get("/metrics/delivery", headers={"Authorization": f"Bearer {token}"}).text
    assert _one(_series(text), "mamori_delivery_deployments", service="shop") == 3
    assert "mamori_slo_" not in text


def test_a_failing_domain_is_left_out_and_counted_while_the_others_are_served(
    client: TestClient, runtime: Runtime
) -> None:
    seed_all(runtime)
    slo = next(p for p in runtime.plugins if p.name == "slo")

    def broken(*_: object) -> list[MetricFamily]:
        raise RuntimeError("boom")

    slo.metrics = [broken]
    token = issue_token(runtime, "read")
    s = _series(client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text)
    assert _one(s, "mamori_metrics_domain_errors", domain="slo") == 1
    assert "mamori_slo_burn_rate" not in s
    assert _one(s, "mamori_delivery_deployments", service="shop") == 3


def test_render_escapes_labels_and_help_and_refuses_what_prometheus_would() -> None:
    fam = MetricFamily("mamori_x", "first line\nsecond \\ line").add(1.5, {"a": 'q"b\\c\nd', "skip": None})
    text = render([fam, MetricFamily("mamori_x", "ignored").add(2, {"a": "other"})])
    assert text.count("# HELP mamori_x") == 1 and text.count("# TYPE mamori_x gauge") == 1
    assert 'mamori_x{a="q\\"b\\\\c\\nd"} 1.5' in text
    (parsed,) = text_string_to_metric_families(text)
    assert parsed.documentation == "first line\nsecond \\ line"
    assert [(dict(x.labels), x.value) for x in parsed.samples] == [({"a": 'q"b\\c\nd'}, 1.5), ({"a": "other"}, 2.0)]
    assert (
        render([MetricFamily("mamori_y", "", "counter").add(float("inf"))])
        == "# TYPE mamori_y counter\nmamori_y +Inf\n"
    )
    with pytest.raises(ExpositionError, match="not a Prometheus metric name"):
        MetricFamily("bad-name", "")
    with pytest.raises(ExpositionError, match="not Prometheus label names"):
        MetricFamily("mamori_z", "").add(1, {"__reserved": "x"})
    with pytest.raises(ExpositionError, match="given twice"):
        render([MetricFamily("mamori_z", "").add(1, {"a": "1"}), MetricFamily("mamori_z", "").add(2, {"a": "1"})])
    with pytest.raises(ExpositionError, match="as gauge and as counter"):
        render([MetricFamily("mamori_z", ""), MetricFamily("mamori_z", "", "counter")])
