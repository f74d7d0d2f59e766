"""OTLP/HTTP JSON: a receiver that reads the OTLP example request reads Mamori's export the same way, over a
real HTTP connection; failures are retried and logged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from mamori.core.runtime import Runtime
from mamori.delivery.service import export
from mamori.delivery.sinks.samples import Sample
from tests.support import peers

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _value(v: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    return int(v["intValue"]) if "intValue" in v else None


def decode(doc: dict[str, Any]) -> list[tuple[str, str, float, dict[str, Any], int]]:
    """(service.name, metric, value, attributes, time) for every point of gauges and sums; histograms give
    their count. 64-bit integers arrive as decimal strings, as OTLP's JSON encoding requires."""
    out = []
    for rm in doc["resourceMetrics"]:
        resource = {a["key"]: _value(a["value"]) for a in rm["resource"]["attributes"]}
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                kind = next(k for k in ("gauge", "sum", "histogram", "exponentialHistogram") if k in m)
                for p in m[kind]["dataPoints"]:
                    value = float(p["asDouble"]) if "asDouble" in p else float(int(p.get("asInt", p.get("count", 0))))
                    attrs = {a["key"]: _value(a["value"]) for a in p.get("attributes", [])}
                    out.append((str(resource.get("service.name")), m["name"], value, attrs, int(p["timeUnixNano"])))
    return out


def test_the_decoder_reads_the_otlp_example_request() -> None:
    example = json.loads(
        peers("delivery", "open-telemetry+opentelemetry-proto", "examples", "metrics.json").read_text()
    )
    points = decode(example)
    assert [(p[1], p[2]) for p in points] == [("my.counter", 5.0), ("my.gauge", 10.0), ("my.histogram", 2.0),
                                              ("my.exponential.histogram", 3.0)]  # fmt: skip
    assert {p[0] for p in points} == {"my.service"} and points[1][3] == {"my.gauge.attr": "some value"}
    assert points[0][4] == 1544712660300000000


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    got: list[dict[str, Any]] = []
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = answers.pop(0) if answers else 200
            if status == 200:
                assert self.path == "/v1/metrics" and self.headers["Content-Type"] == "application/json"
                got.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", got, answers
    server.shutdown()
    server.server_close()


def test_mamori_export_decodes_to_the_samples_it_sent(
    runtime: Runtime, receiver: tuple[str, list[dict[str, Any]], list[int]]
) -> None:
    url, got, answers = receiver
    answers.append(503)
    samples = [
        Sample("mamori_delivery_lead_time_seconds", 5400.0, {"service": "jobs-web", "team": "frontend"}),
        Sample("mamori_delivery_lead_time_seconds", 7200.0, {"service": "jobs-api"}),
        Sample(
            "mamori_delivery_step_duration_seconds",
            31.5,
            {"service": "jobs-web", "job": "build", "step": "yarn install"},
        ),
    ]
    waits: list[float] = []
    with runtime.sessions.begin() as session, httpx.Client() as client:
        ok = export.send_otlp(
            session, allow_private=True, client=client, endpoint=url, samples=samples, now=NOW, sleep=waits.append
        )
    assert ok and waits == [1.0], "a 503 is retried once, after a second"
    points = decode(got[0])
    assert sorted((p[0], p[1], p[2], tuple(sorted(p[3].items()))) for p in points) == sorted([
        ("jobs-web", "mamori.delivery.lead_time_seconds", 5400.0, (("team", "frontend"),)),
        ("jobs-api", "mamori.delivery.lead_time_seconds", 7200.0, ()),
        ("jobs-web", "mamori.delivery.step_duration_seconds", 31.5, (("job", "build"), ("step", "yarn install"))),
    ])  # fmt: skip
    assert {p[4] for p in points} == {int(NOW.timestamp()) * 1_000_000_000}
    assert isinstance(
        got[0]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0]["timeUnixNano"], str
    )
