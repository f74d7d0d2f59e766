"""Bad requests and bad credentials get RFC 9457 problem JSON with the right status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.testclient import TestClient

from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory, issue_token

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/services")
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization" in body["detail"]
    assert body["instance"] == "/api/v1/services"


def test_unknown_token_is_401(client: TestClient, runtime: Runtime) -> None:
    real = issue_token(runtime, "read")
    forged = real[:-4] + ("aaaa" if not real.endswith("aaaa") else "bbbb")
    assert "unknown" in assert_problem(client.get("/api/v1/services", headers=bearer(forged)), 401)["detail"]
    assert "malformed" in assert_problem(client.get("/api/v1/services", headers=bearer("nonsense")), 401)["detail"]


def test_revoked_token_is_401(client: TestClient, runtime: Runtime, auth_headers: dict[str, str]) -> None:
    token = issue_token(runtime, "read", email="reader@example.com", role="viewer")
    assert client.get("/api/v1/services", headers=bearer(token)).status_code == 200
    token_id = next(
        t["id"] for t in client.get("/api/v1/tokens", headers=auth_headers).json() if t["scopes"] == ["read"]
    )
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=auth_headers).status_code == 200
    assert "revoked" in assert_problem(client.get("/api/v1/services", headers=bearer(token)), 401)["detail"]


def test_expired_token_is_401(client: TestClient, clock: FixedClock, auth_headers: dict[str, str]) -> None:
    created = client.post("/api/v1/tokens", headers=auth_headers, json={"scopes": ["read"], "expires_in_days": 1})
    assert created.status_code == 201
    token = created.json()["token"]
    clock.advance(hours=23)
    assert client.get("/api/v1/services", headers=bearer(token)).status_code == 200
    clock.advance(hours=1)
    assert "expired" in assert_problem(client.get("/api/v1/services", headers=bearer(token)), 401)["detail"]


def test_missing_scope_is_403(client: TestClient, runtime: Runtime) -> None:
    ingest_only = issue_token(runtime, "ingest")
    body = assert_problem(client.get("/api/v1/services", headers=bearer(ingest_only)), 403)
    assert "read" in body["detail"]
    reader = issue_token(runtime, "read", email="viewer@example.com", role="viewer")
    assert_problem(client.post("/api/v1/timeline", headers=bearer(reader), json={"title": "x"}), 403)


def test_invalid_body_is_422_with_field_paths(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/users", headers=auth_headers, json={"email": "not-an-email", "name": "", "role": "boss"}
    )
    body = assert_problem(response, 422)
    locs = {e["loc"] for e in body["errors"]}
    assert locs == {"body.email", "body.name", "body.role"}
    assert all(e["msg"] for e in body["errors"])


def test_unknown_body_field_and_bad_query_are_422(client: TestClient, auth_headers: dict[str, str]) -> None:
    body = assert_problem(client.post("/api/v1/timeline", headers=auth_headers, json={"title": "t", "colour": 1}), 422)
    assert body["errors"][0]["loc"] == "body.colour"
    body = assert_problem(client.get("/api/v1/timeline?since=yesterday", headers=auth_headers), 422)
    assert body["errors"][0]["loc"] == "query.since"


def test_unknown_route_is_a_404_problem(client: TestClient, auth_headers: dict[str, str]) -> None:
    assert_problem(client.get("/api/v1/no-such-thing", headers=auth_headers), 404)
    assert_problem(client.get("/api/v1/services/no-such-service", headers=auth_headers), 404)


def _limited_client(make_runtime: RuntimeFactory) -> tuple[TestClient, dict[str, str]]:
    runtime = make_runtime(max_body_bytes=1000)
    return TestClient(create_app(runtime), base_url="https://testserver"), bearer(issue_token(runtime, "admin"))


def test_body_over_the_limit_with_content_length_is_413(make_runtime: RuntimeFactory) -> None:
    client, headers = _limited_client(make_runtime)
    with client:
        small = client.post("/api/v1/timeline", headers=headers, json={"title": "x" * 400})
        assert small.status_code == 201
        response = client.post("/api/v1/timeline", headers=headers, json={"title": "x" * 1200})
    assert "1000 bytes" in assert_problem(response, 413)["detail"]


def test_chunked_body_over_the_limit_is_413(make_runtime: RuntimeFactory) -> None:
    client, headers = _limited_client(make_runtime)

    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(8):
            yield b"y" * 200
        yield b'"}'

    with client:
        response = client.post(
            "/api/v1/timeline", headers={**headers, "content-type": "application/json"}, content=chunks()
        )
        assert response.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.request.headers
        assert_problem(response, 413)
        # nothing was stored from the refused request
        assert client.get("/api/v1/timeline", headers=headers).json() == []


def test_an_unknown_time_zone_is_422_naming_the_field(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/users",
        headers=auth_headers,
        json={"email": "zo@example.com", "name": "Zo", "time_zone": "Mars/Olympus"},
    )
    body = assert_problem(response, 422)
    assert [e["loc"] for e in body["errors"]] == ["body.time_zone"]
    assert "unknown IANA time zone" in body["errors"][0]["msg"]
