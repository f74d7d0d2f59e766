"""The slo API's answers: /openapi.json describes every one, and typing them changed nothing a client sees."""

from __future__ import annotations

from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.slo import service
from tests.slo.helpers import CHECKOUT_SLO, write
from tests.slo.test_composite import COMPOSITE, _events

SLO_OPERATIONS = {
    ("post", "/api/v1/ingest/events"),
    ("post", "/api/v1/ingest/otlp/v1/logs"),
    ("post", "/api/v1/ingest/otlp/v1/traces"),
    ("get", "/api/v1/slos"),
    ("get", "/api/v1/slos/{name}"),
    ("get", "/api/v1/slo-alerts"),
    ("get", "/api/v1/gates/deploy"),
    ("get", "/api/v1/slo-policy-actions"),
    ("get", "/api/v1/slo-freezes"),
    ("post", "/api/v1/slo-freezes/{freeze_id}/lift"),
    ("post", "/api/v1/slo-freezes/{freeze_id}/bypass"),
}


def test_openapi_describes_every_answer_of_the_slo_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    tagged = {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "slo" in operation.get("tags", ())
    }
    assert set(tagged) == SLO_OPERATIONS
    for (method, path), operation in tagged.items():
        ok = operation["responses"].get("200") or operation["responses"]["201"]
        schema = ok["content"]["application/json"]["schema"]
        assert schema, f"{method} {path} answers an undescribed body"
    frozen = tagged[("get", "/api/v1/gates/deploy")]["responses"]["423"]["content"]
    assert set(frozen) == {"application/problem+json"}
    problem = frozen["application/problem+json"]["schema"]
    assert {"status", "detail", "since", "reasons"} <= set(problem["required"])
    reason = problem["properties"]["reasons"]["items"]["$ref"]
    assert reason.removeprefix("#/components/schemas/") in spec["components"]["schemas"]
    result = spec["components"]["schemas"]["SloResult"]
    assert {"slo", "sli", "error_budget", "burn_rates", "alerts", "user_story"} <= set(result["required"])


def _evaluated(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    write(tmp_path / "cfg", "composite.yaml", COMPOSITE)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        service.ingest(session, data=_events(runtime.now()))
        service.evaluate_all(session, runtime, now=runtime.now())


def test_status_answers_are_the_stored_evaluations_unchanged(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    _evaluated(runtime, tmp_path)
    with runtime.sessions() as session:
        stored = [row.result for row in service.list_status(session)]
        search = [row.result for row in service.get_status(session, slo="search")]
    listed = client.get("/api/v1/slos", headers=auth_headers).json()
    one = client.get("/api/v1/slos/search", headers=auth_headers).json()
    # Compared as JSON text: the same keys, the same values and the same number types (12 stays 12, not 12.0).
    sort = orjson.OPT_SORT_KEYS
    assert orjson.dumps(listed, option=sort) == orjson.dumps(stored, option=sort)
    assert orjson.dumps(one, option=sort) == orjson.dumps(search, option=sort)
    assert [("components" in r, r["objective"]) for r in one] == [
        (True, "composite"),
        (False, "works"),
        (False, "fast"),
    ]
    assert isinstance(one[1]["total"], int) and isinstance(one[1]["sli"], float)


def test_alert_answers_keep_their_fields_and_instants(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    _evaluated(runtime, tmp_path)
    alerts = client.get("/api/v1/slo-alerts?status=firing", headers=auth_headers).json()
    assert alerts, "the composite's burn fires"
    assert set(alerts[0]) == {
        "id",
        "slo",
        "objective",
        "service",
        "severity",
        "long_window",
        "short_window",
        "threshold",
        "burn_rate",
        "status",
        "started_at",
        "resolved_at",
    }
    assert alerts[0]["started_at"] == runtime.now().isoformat() and alerts[0]["resolved_at"] is None
    assert client.get("/api/v1/slo-alerts?status=resolved", headers=auth_headers).json() == []
