"""OTLP/HTTP JSON logs and traces are counted like NDJSON events."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.slo import otlp
from mamori.slo.models import SloBucket
from tests.conftest import issue_token
from tests.slo.helpers import CHECKOUT_SLO, write

NANOS = int(datetime(2026, 11, 28, 11, 58, tzinfo=UTC).timestamp()) * 1_000_000_000


def _kv(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _logs(statuses: list[int], service: str = "jobs-api") -> dict[str, object]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "scopeLogs": [
                    {
                        "scope": {"name": "access-log"},
                        "logRecords": [
                            {
                                "timeUnixNano": str(NANOS + i),
                                "severityText": "INFO",
                                "body": {"stringValue": "request"},
                                "attributes": [
                                    _kv("http.route", "/apply"),
                                    _kv("http.response.status_code", status),
                                    _kv("http.request.method", "POST"),
                                ],
                            }
                            for i, status in enumerate(statuses)
                        ],
                    }
                ],
            }
        ]
    }


def test_log_records_become_events_with_nested_attributes_and_shortcuts() -> None:
    [event] = otlp.to_events(_logs([503]), signal="logs")
    assert event["ts"] == NANOS // 1_000_000 and event["service"] == "jobs-api"
    assert (event["route"], event["method"], event["status"]) == ("/apply", "POST", 503)
    assert event["attributes"]["http"]["response"]["status_code"] == 503
    assert event["attributes"]["service"]["name"] == "jobs-api"


def test_spans_carry_duration_and_error() -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_kv("service.name", "jobs-web")]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "GET /search",
                                "kind": 2,
                                "startTimeUnixNano": str(NANOS),
                                "endTimeUnixNano": str(NANOS + 250_000_000),
                                "attributes": [_kv("http.route", "/search")],
                                "status": {"code": 2},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    [event] = otlp.to_events(body, signal="traces")
    assert (event["duration_ms"], event["error"], event["route"], event["name"]) == (
        250.0,
        True,
        "/search",
        "GET /search",
    )


def test_a_resource_without_service_name_is_refused() -> None:
    body = _logs([200])
    body["resourceLogs"][0]["resource"] = {"attributes": []}  # type: ignore[index]
    with pytest.raises(InvalidInput) as caught:
        otlp.to_events(body, signal="logs")
    assert caught.value.problems[0].msg == "a resource has no service.name attribute"


def test_otlp_logs_endpoint_counts_into_buckets(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest')}", "Content-Type": "application/json"}
    body = gzip.compress(json.dumps(_logs([200, 200, 503])).encode())
    response = client.post("/api/v1/ingest/otlp/v1/logs", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {} and response.headers["X-Mamori-Counted"] == "3/3"
    with runtime.sessions() as session:
        assert [(b.good, b.total) for b in session.scalars(select(SloBucket))] == [(2, 3)]
    refused = client.post(
        "/api/v1/ingest/otlp/v1/logs",
        content=b"\x0a\x00",
        headers={**headers, "Content-Type": "application/x-protobuf"},
    )
    assert refused.status_code == 400 and "OTLP/HTTP JSON" in refused.json()["detail"]
