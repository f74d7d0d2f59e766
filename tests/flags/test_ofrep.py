"""OFREP over HTTP: SDK keys per environment, single and bulk evaluation, error codes, ETags, flagd.json sync."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.flags import counts
from mamori.flags.models import FlagEvaluationCount
from tests.flags.conftest import sdk_key

SINGLE = "/ofrep/v1/evaluate/flags/"


def stored_counts(runtime: Runtime) -> dict[tuple[str, str, str], int]:
    with runtime.sessions() as session:
        rows = session.scalars(select(FlagEvaluationCount)).all()
        return {(r.environment, r.flag_key, r.variant): r.count for r in rows}


BULK = "/ofrep/v1/evaluate/flags"


def test_single_evaluation_with_bearer_or_x_api_key(flags_runtime: Runtime, client: TestClient) -> None:
    key = sdk_key(flags_runtime, "production")
    ctx = {"context": {"targetingKey": "u1", "email": "ann@jobs.example"}}
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        response = client.post(SINGLE + "new-search", json=ctx, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"key": "new-search", "value": True, "variant": "on", "reason": "TARGETING_MATCH"}
    static = client.post(SINGLE + "checkout-theme", json={"context": {}}, headers={"X-API-Key": key}).json()
    assert static == {
        "key": "checkout-theme",
        "value": "light",
        "variant": "light",
        "reason": "STATIC",
        "metadata": {"owner": "frontend"},
    }


def test_disabled_flag_tells_the_client_to_use_its_code_default(flags_runtime: Runtime, client: TestClient) -> None:
    key = sdk_key(flags_runtime, "production")
    body = client.post(SINGLE + "legacy-banner", json={"context": {}}, headers={"X-API-Key": key}).json()
    assert body == {"key": "legacy-banner", "reason": "DISABLED", "variant": None}


def test_ofrep_error_codes(flags_runtime: Runtime, client: TestClient) -> None:
    headers = {"X-API-Key": sdk_key(flags_runtime, "production")}
    missing = client.post(SINGLE + "nope", json={"context": {}}, headers=headers)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "FLAG_NOT_FOUND"
    bad_ctx = client.post(SINGLE + "new-search", json={"context": {"targetingKey": 7}}, headers=headers)
    assert bad_ctx.status_code == 400 and bad_ctx.json()["errorCode"] == "INVALID_CONTEXT"
    not_json = client.post(SINGLE + "new-search", content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["errorCode"] == "INVALID_CONTEXT"


def test_sdk_keys_are_required_and_evaluation_only(
    flags_runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    assert client.post(SINGLE + "new-search", json={}).status_code == 401
    assert client.post(SINGLE + "new-search", json={}, headers={"X-API-Key": "mmr_x_y"}).status_code == 401
    assert client.post(SINGLE + "new-search", json={}, headers=auth_headers).status_code == 403
    key = sdk_key(flags_runtime, "production")
    assert client.get("/api/v1/flags/environments", headers={"Authorization": f"Bearer {key}"}).status_code == 403


def test_an_sdk_key_only_sees_its_own_environment(flags_runtime: Runtime, client: TestClient) -> None:
    staging = sdk_key(flags_runtime, "staging")
    response = client.get("/api/v1/flags/production/flagd.json", headers={"X-API-Key": staging})
    assert response.status_code == 403
    assert client.get("/api/v1/flags/staging/flagd.json", headers={"X-API-Key": staging}).status_code == 200


def test_bulk_evaluation_has_etag_304_and_an_event_stream(flags_runtime: Runtime, client: TestClient) -> None:
    headers = {"X-API-Key": sdk_key(flags_runtime, "production")}
    ctx = {"context": {"targetingKey": "u1", "email": "bob@else.example"}}
    first = client.post(BULK, json=ctx, headers=headers)
    assert first.status_code == 200
    body = first.json()
    by_key = {f["key"]: f for f in body["flags"]}
    assert by_key["new-search"] == {"key": "new-search", "value": False, "variant": "off", "reason": "DEFAULT"}
    assert by_key["page-size"]["value"] == 10
    assert body["eventStreams"][0]["type"] == "sse"
    assert body["eventStreams"][0]["endpoint"]["requestUri"].startswith("/ofrep/v1/events?channel=")
    etag = first.headers["ETag"]
    again = client.post(BULK, json=ctx, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other_ctx = client.post(BULK, json={"context": {"targetingKey": "u2"}}, headers={**headers, "If-None-Match": etag})
    assert other_ctx.status_code == 200, "another context is another evaluation"


def test_a_flag_change_changes_the_bulk_etag(
    flags_runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    headers = {"X-API-Key": sdk_key(flags_runtime, "staging")}
    etag = client.post(BULK, json={"context": {}}, headers=headers).headers["ETag"]
    toggled = client.post(
        "/api/v1/flags/staging/flags/checkout-theme/toggle", json={"enabled": False}, headers=auth_headers
    )
    assert toggled.status_code == 200, toggled.text
    after = client.post(BULK, json={"context": {}}, headers={**headers, "If-None-Match": etag})
    assert after.status_code == 200
    theme = next(f for f in after.json()["flags"] if f["key"] == "checkout-theme")
    assert theme["reason"] == "DISABLED"


def test_flagd_json_is_served_with_etag_for_flagd_daemons(
    flags_runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/flags/production/flagd.json", headers=auth_headers)
    assert response.status_code == 200
    document = response.json()
    assert set(document["flags"]) == {"new-search", "checkout-theme", "page-size", "legacy-banner"}
    assert document["metadata"]["flagSetId"] == "web-production"
    cached = client.get(
        "/api/v1/flags/production/flagd.json", headers={**auth_headers, "If-None-Match": response.headers["ETag"]}
    )
    assert cached.status_code == 304
    assert client.get("/api/v1/flags/qa/flagd.json", headers=auth_headers).status_code == 404


def test_evaluations_are_counted_per_flag_and_variant(flags_runtime: Runtime, client: TestClient) -> None:
    buffer = counts.buffer_for(flags_runtime)
    headers = {"X-API-Key": sdk_key(flags_runtime, "production")}
    for _ in range(3):
        client.post(SINGLE + "page-size", json={"context": {}}, headers=headers)
    # Held in memory until the flush interval has passed ...
    assert stored_counts(flags_runtime) == {}
    buffer.interval = 0
    client.post(SINGLE + "page-size", json={"context": {}}, headers=headers)
    # ... then written by the next request, all four.
    assert stored_counts(flags_runtime) == {("production", "page-size", "small"): 4}
    client.post(BULK, json={"context": {}}, headers=headers)
    assert stored_counts(flags_runtime)[("production", "checkout-theme", "light")] == 1
    reported = client.post(
        "/api/v1/flags/production/evaluations",
        headers=headers,
        json={"counts": [{"flag": "page-size", "variant": "big", "count": 7}]},
    )
    assert reported.status_code == 202 and reported.json() == {"stored": 7}
    bad = client.post(
        "/api/v1/flags/production/evaluations", headers=headers, json={"counts": [{"flag": "page-size", "count": -1}]}
    )
    assert bad.status_code == 422
