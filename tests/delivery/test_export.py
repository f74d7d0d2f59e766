"""Every figure leaves Mamori: Prometheus text a real parser (and a real Prometheus) reads, and Datadog v2
series in payloads under the size limit, retried on 429/5xx, every attempt in the delivery log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from mamori.core import jobs as core_jobs
from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import Delivery
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.delivery import jobs
from mamori.delivery.kinds import DatadogSink
from mamori.delivery.models import DeliveryDeploy
from mamori.delivery.schemas import DeployIn
from mamori.delivery.service import export, generic
from mamori.delivery.sinks import datadog, exposition
from mamori.delivery.sinks.samples import Sample
from tests.conftest import T0, RuntimeFactory, issue_token

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _deploys(runtime: Runtime, service: str = 'web "quoted"\nname', n: int = 3) -> None:
    with runtime.sessions.begin() as session:
        for i in range(n):
            at = T0 - timedelta(days=i + 1)
            session.add(
                DeliveryDeploy(
                    source="api",
                    external_id=f"{service}-{i}",
                    service=service,
                    environment="production",
                    production=True,
                    status="success",
                    sha=f"s{i}",
                    created_at=at,
                    finished_at=at,
                )
            )


def test_the_exposition_parses_with_prometheus_own_parser_and_escapes_labels() -> None:
    samples = [
        Sample("mamori_delivery_lead_time_seconds", 3600.0, {"service": 'a"b\\c\nd'}, "Median lead\ntime"),
        Sample("mamori_delivery_lead_time_seconds", 7200.0, {"service": "plain"}, "Median lead\ntime"),
        Sample("mamori_delivery_dora_band", 1.0, {"service": "plain", "measure": "lead_time", "band": "elite"}),
    ]
    text = exposition.render(samples)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    lead = families["mamori_delivery_lead_time_seconds"]
    assert lead.type == "gauge" and lead.documentation == "Median lead\ntime"
    assert {(s.labels["service"], s.value) for s in lead.samples} == {('a"b\\c\nd', 3600.0), ("plain", 7200.0)}
    assert text.count("# TYPE mamori_delivery_lead_time_seconds") == 1
    with pytest.raises(ValueError, match="not a Prometheus metric name"):
        exposition.render([Sample("bad-name", 1.0)])


def test_the_scrape_endpoint_needs_a_token_and_serves_every_service(client: TestClient, runtime: Runtime) -> None:
    _deploys(runtime)
    assert client.get("/metrics/delivery").status_code == 401
    token = issue_token(runtime, "read")
    response = client.get("/metrics/delivery", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    deploys = families["mamori_delivery_deployments"].samples
    assert [(s.labels["service"], s.value) for s in deploys] == [('web "quoted"\nname', 3.0)]
    bands = {s.labels["measure"] for s in families["mamori_delivery_dora_band"].samples}
    assert "deployment_frequency" in bands


def test_payloads_stay_under_the_limit_and_hold_every_series() -> None:
    samples = [
        Sample("mamori_delivery_step_duration_seconds", float(i), {"service": "s", "step": f"step {i}"})
        for i in range(500)
    ]
    bodies = datadog.payloads(samples, timestamp=1_700_000_000, extra_tags=["env:prod"], max_bytes=4000)
    assert len(bodies) > 1 and all(len(b) <= 4000 for b in bodies)
    series = [s for b in bodies for s in json.loads(b)["series"]]
    assert len(series) == 500
    first = series[0]
    # the v2 shape documented for POST /api/v2/series: metric, type (3 = gauge), points of timestamp and value
    assert first == {
        "metric": "mamori.delivery.step_duration_seconds",
        "type": 3,
        "points": [{"timestamp": 1_700_000_000, "value": 0.0}],
        "tags": ["env:prod", "service:s", "step:step 0"],
    }
    assert datadog.payloads([], timestamp=0) == []


def _transport(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if answers else httpx.Response(202, json={"errors": []})

    return httpx.MockTransport(handler)


def _attempts(runtime: Runtime) -> list[tuple[bool, int, str]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(Delivery).where(Delivery.subject == export.SUBJECT).order_by(Delivery.id)).all()
        return [(r.ok, r.attempt, r.detail[:8]) for r in rows]


def test_a_429_is_retried_after_the_rate_limit_reset_and_a_400_is_not(runtime: Runtime) -> None:
    seen: list[httpx.Request] = []
    waits: list[float] = []
    answers = [
        httpx.Response(429, headers={"X-RateLimit-Reset": "3"}, json={"errors": ["Too many requests"]}),
        httpx.Response(202, json={"errors": []}),
        httpx.Response(400, json={"errors": ["Bad Request"]}),
    ]
    client = httpx.Client(transport=_transport(answers, seen))
    samples = [Sample("mamori_delivery_deployments", float(i), {"service": f"s{i}"}) for i in range(2)]
    with runtime.sessions.begin() as session:
        sink = DatadogSink(site="datadoghq.eu", tags=["env:prod"])
        result = export.send_datadog(
            session,
            allow_private=True,
            client=client,
            sink=sink,
            api_key="k",
            samples=samples,
            now=NOW,
            sleep=waits.append,
        )
    assert result.payloads == 1 and (result.sent, result.failed) == (1, 0)
    assert waits == [3.0]
    assert str(seen[0].url) == "https://api.datadoghq.eu/api/v2/series" and seen[0].headers["DD-API-KEY"] == "k"
    assert json.loads(seen[0].content)["series"][0]["points"][0]["timestamp"] == int(NOW.timestamp())
    assert _attempts(runtime) == [(False, 1, "HTTP 429"), (True, 2, "HTTP 202")]
    with runtime.sessions.begin() as session:
        refused = export.send_datadog(
            session,
            allow_private=True,
            client=client,
            sink=sink,
            api_key="k",
            samples=samples,
            now=NOW,
            sleep=waits.append,
        )
    assert (refused.sent, refused.failed) == (0, 1) and waits == [3.0], "a 400 is final"


def test_5xx_backs_off_then_gives_up_on_that_payload_but_sends_the_others(runtime: Runtime) -> None:
    seen: list[httpx.Request] = []
    waits: list[float] = []
    answers = [httpx.Response(503)] * 4
    client = httpx.Client(transport=_transport(answers, seen))
    samples = [Sample("mamori_delivery_deployments", 1.0, {"service": "s" * 50, "n": str(i)}) for i in range(40)]
    bodies = datadog.payloads(samples, timestamp=int(NOW.timestamp()), max_bytes=2000)
    assert len(bodies) >= 2
    with runtime.sessions.begin() as session:
        result = export.send_datadog(
            session,
            allow_private=True,
            client=client,
            sink=DatadogSink(),
            api_key="k",
            samples=samples,
            now=NOW,
            sleep=waits.append,
            max_attempts=4,
            max_bytes=2000,
        )
    assert waits == [1.0, 2.0, 4.0], "exponential backoff between the four attempts"
    assert (result.payloads, result.failed, result.sent) == (len(bodies), 1, len(bodies) - 1)
    attempts = _attempts(runtime)
    assert [a[:2] for a in attempts[:4]] == [(False, 1), (False, 2), (False, 3), (False, 4)]
    assert len(attempts) == 4 + len(bodies) - 1 and all(ok for ok, _, _ in attempts[4:])
    assert sum(len(json.loads(r.content)["series"]) for r in seen[3:]) == 40, "every series reached Datadog once"


def test_the_periodic_job_exports_when_a_policy_names_datadog(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_transport([], seen))
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: DeliveryPolicy\nmetadata: {name: default}\n"
        "spec:\n  datadog: {site: datadoghq.com, apiKeyEnv: MAMORI_TEST_DD_KEY, tags: [env:prod]}\n"
    )
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    _deploys(runtime, service="jobs-api")
    monkeypatch.setenv("MAMORI_TEST_DD_KEY", "secret")
    with runtime.sessions.begin() as session:
        core_jobs.enqueue(session, kind=jobs.EXPORT_METRICS_JOB, payload={}, now=runtime.now())
    Worker(runtime).run_until_idle()
    assert seen, "the job posted the series"
    series = json.loads(seen[0].content)["series"]
    assert {"env:prod", "service:jobs-api"} <= set(series[0]["tags"])
    assert _attempts(runtime)[-1][0] is True


def test_a_production_deploy_becomes_a_datadog_event(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_transport([], seen))
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: DeliveryPolicy\nmetadata: {name: default}\n"
        "spec:\n  datadog: {site: datadoghq.eu, apiKeyEnv: MAMORI_TEST_DD_KEY, tags: [team:web]}\n"
    )
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    monkeypatch.setenv("MAMORI_TEST_DD_KEY", "secret")
    body = DeployIn(service="jobs-web", environment="production", status="success", version="v42", finished_at=T0)
    with runtime.sessions.begin() as session:
        generic.record_deploy(session, bus=runtime.bus, body=body, now=runtime.now())
        generic.record_deploy(
            session, bus=runtime.bus, body=body.model_copy(update={"environment": "staging"}), now=runtime.now()
        )
    Worker(runtime).run_until_idle()
    events = [r for r in seen if r.url.path == "/api/v1/events"]
    assert len(events) == 1, "staging deploys are not announced"
    sent = json.loads(events[0].content)
    assert sent["title"] == "jobs-web deployed v42 to production" and sent["alert_type"] == "success"
    assert sent["date_happened"] == int(T0.timestamp()) and {"service:jobs-web", "env:production", "team:web"} <= set(
        sent["tags"]
    )
    assert str(events[0].url).startswith("https://api.datadoghq.eu/") and events[0].headers["DD-API-KEY"] == "secret"


@pytest.mark.parametrize(
    ("endpoint", "allow_private", "why"),
    [
        ("http://169.254.169.254/latest", True, "metadata address"),
        ("http://127.0.0.1:4318", False, "non-public address"),
        ("file:///etc/passwd", True, "not an http(s) URL"),
    ],
)
def test_a_metrics_endpoint_goes_through_the_private_address_guard(
    runtime: Runtime, endpoint: str, allow_private: bool, why: str
) -> None:
    seen: list[httpx.Request] = []
    client = httpx.Client(transport=_transport([httpx.Response(200)], seen))
    samples = [Sample("mamori_delivery_deployments", 1.0, {"service": "s"})]
    with runtime.sessions.begin() as session:
        ok = export.send_otlp(
            session, client=client, endpoint=endpoint, samples=samples, now=NOW, allow_private=allow_private
        )
    assert not ok and seen == [], "nothing was sent"
    with runtime.sessions() as session:
        (row,) = session.scalars(select(Delivery)).all()
    assert not row.ok and why in row.detail
