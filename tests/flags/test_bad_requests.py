"""Bad requests to the flags API get clear 4xx answers: misspelled fields, odd values, wrong permissions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mamori.core.runtime import Runtime
from tests.conftest import issue_token
from tests.flags.conftest import sdk_key

COUNTS = "/api/v1/flags/production/evaluations"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_counts_need_an_sdk_key_or_write_access_a_known_environment_and_sane_items(
    flags_runtime: Runtime, client: TestClient
) -> None:
    good = {"counts": [{"flag": "page-size", "variant": "big", "count": 2}]}
    reader = _bearer(issue_token(flags_runtime, "read", email="viewer@example.com", role="viewer"))
    assert client.post(COUNTS, json=good, headers=reader).status_code == 403
    writer = _bearer(issue_token(flags_runtime, "write", email="dev@example.com", role="editor"))
    assert client.post(COUNTS, json=good, headers=writer).status_code == 202
    sdk = {"X-API-Key": sdk_key(flags_runtime, "production")}
    assert client.post(COUNTS, json=good, headers=sdk).status_code == 202
    missing = client.post("/api/v1/flags/nowhere/evaluations", json=good, headers=writer)
    assert missing.status_code == 404
    for item in (
        {"flag": "page-size", "count": True},
        {"flag": "page-size", "count": 10**30},
        {"flag": "x" * 300, "count": 1},
        {"flag": "page-size", "count": 1, "variantt": "big"},
    ):
        response = client.post(COUNTS, json={"counts": [item]}, headers=sdk)
        assert response.status_code == 422, (item, response.text)
        assert response.json()["errors"][0]["loc"].startswith("body.counts[0]")


def test_misspelled_fields_and_bad_values_in_changes_are_422_or_400(flags_runtime: Runtime, client: TestClient) -> None:
    writer = _bearer(issue_token(flags_runtime, "write", email="dev@example.com", role="editor"))
    ramp = client.post(
        "/api/v1/flags/production/flags/new-search/ramp",
        json={"steps": [10, 100], "intervall": "3h", "gaurd": "revert"},
        headers=writer,
    )
    assert ramp.status_code == 422 and {e["loc"] for e in ramp.json()["errors"]} == {"body.intervall", "body.gaurd"}
    toggle = client.post(
        "/api/v1/flags/production/flags/page-size/toggle", json={"enabled": False, "reson": "x"}, headers=writer
    )
    assert toggle.status_code == 422 and toggle.json()["errors"][0]["loc"] == "body.reson"
    soon = client.post(
        "/api/v1/flags/production/flags/new-search/ramp", json={"steps": [10, 100], "interval": "soon"}, headers=writer
    )
    assert soon.status_code == 422 and "interval:" in soon.json()["detail"]
    far = client.post(
        "/api/v1/flags/production/flags/page-size/schedule",
        json={"at": "99999999999999999999", "action": "enable"},
        headers=writer,
    )
    assert far.status_code == 400 and "out of range" in far.json()["detail"]
    assert client.get("/api/v1/flags/stale?days=-3", headers=writer).status_code == 422
    assert client.get("/api/v1/flags/stale?days=99999999999", headers=writer).status_code == 422


def test_odd_event_stream_channels_and_deep_contexts_are_refused_cleanly(
    flags_runtime: Runtime, client: TestClient
) -> None:
    assert client.get("/ofrep/v1/events", params={"channel": "staging.1.\u00e9\u00e9"}).status_code == 401
    deep = client.post(
        "/ofrep/v1/evaluate/flags/page-size",
        content=b'{"context": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        headers={"X-API-Key": sdk_key(flags_runtime, "production"), "Content-Type": "application/json"},
    )
    assert deep.status_code == 400 and deep.json()["errorCode"] == "INVALID_CONTEXT"
