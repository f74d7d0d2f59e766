"""The OFREP edge (plain ASGI in front of FastAPI): no database or threadpool on the hot path, keys and flag sets
re-checked within their stated bounds, OFREP's error shapes, and bodies too large or malformed refused clearly."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from mamori.core import auth
from mamori.core.audit import Actor
from mamori.core.models import ApiToken
from mamori.core.runtime import Runtime
from mamori.flags import edge, etags, sdk_keys, serving
from mamori.flags.models import FlagEnvironment
from mamori.web.app import create_app
from mamori.web.security import HEADERS as SECURITY_HEADERS
from tests.flags.conftest import sdk_key
from tests.flags.test_ofrep import BULK, SINGLE


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def edge_client(flags_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, list[str]]]:
    """A client of the whole app, and the paths the edge answered itself (not FastAPI)."""
    served: list[str] = []
    original = edge.OfrepEdge._serve

    async def spy(self: edge.OfrepEdge, scope: Any, receive: Any, send: Any, key: str | None, path: str) -> None:
        served.append(path)
        await original(self, scope, receive, send, key, path)

    monkeypatch.setattr(edge.OfrepEdge, "_serve", spy)
    with TestClient(create_app(flags_runtime), base_url="https://testserver") as client:
        yield client, served


def _statements(runtime: Runtime) -> list[str]:
    seen: list[str] = []
    event.listen(runtime.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_the_edge_answers_from_memory_without_sql_or_the_threadpool(
    flags_runtime: Runtime, edge_client: tuple[TestClient, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, served = edge_client
    flags_runtime.state(serving.ServingCache).clock = FakeMonotonic()  # no reload falls due during the test
    flags_runtime.state(sdk_keys.SdkKeyCache).clock = FakeMonotonic()
    headers = {"X-API-Key": sdk_key(flags_runtime, "production")}
    ctx = {"context": {"targetingKey": "u1", "email": "ann@jobs.example"}}
    assert client.post(SINGLE + "new-search", json=ctx, headers=headers).status_code == 200  # loads key and set
    statements = _statements(flags_runtime)

    def no_threadpool(*args: object, **kwargs: object) -> None:
        raise AssertionError("the OFREP hot path went to the threadpool")

    monkeypatch.setattr("anyio.to_thread.run_sync", no_threadpool)
    for i in range(40):
        single = client.post(SINGLE + "new-search", json={"context": {"targetingKey": f"u{i}"}}, headers=headers)
        assert single.status_code == 200 and single.json()["reason"] == "DEFAULT"
        bulk = client.post(BULK, json=ctx, headers=headers)
        assert bulk.status_code == 200 and len(bulk.json()["flags"]) == 4
    assert statements == [], "no SQL once the key and the flag set are in memory"
    assert served.count(SINGLE + "new-search") == 41 and served.count(BULK) == 40
    for name, value in SECURITY_HEADERS:
        assert bulk.headers[name.decode()] == value.decode()
    assert bulk.headers["content-type"] == "application/json"


def test_other_methods_and_paths_still_go_to_fastapi(
    flags_runtime: Runtime, edge_client: tuple[TestClient, list[str]]
) -> None:
    client, served = edge_client
    headers = {"X-API-Key": sdk_key(flags_runtime, "production")}
    assert client.get(SINGLE + "new-search", headers=headers).status_code == 405
    assert client.post(SINGLE + "a/b", json={}, headers=headers).status_code == 404
    assert served == []
    client.post(SINGLE + "page-size", json={"context": {}}, headers=headers)
    client.post(BULK, json={"context": {}}, headers=headers)
    metrics = client.get("/metrics").text
    assert (
        'mamori_http_requests_total{method="POST",route="/ofrep/v1/evaluate/flags/{key}",status="200"} 1.0' in metrics
    )
    assert 'mamori_http_requests_total{method="POST",route="/ofrep/v1/evaluate/flags",status="200"} 1.0' in metrics


def test_error_answers_keep_their_shapes(
    flags_runtime: Runtime, edge_client: tuple[TestClient, list[str]], auth_headers: dict[str, str]
) -> None:
    client, served = edge_client
    headers = {"X-API-Key": sdk_key(flags_runtime, "production")}
    none = client.post(SINGLE + "new-search", json={"context": {}})
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert none.headers["content-type"] == "application/problem+json"
    assert none.json() == {
        "type": "about:blank",
        "title": "Unauthenticated",
        "status": 401,
        "detail": sdk_keys.NO_KEY,
        "instance": SINGLE + "new-search",
    }
    unknown = client.post(BULK, json={}, headers={"Authorization": "Bearer mmr_nope_nope"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == "unknown API token"
    admin = client.post(BULK, json={}, headers=auth_headers)
    assert admin.status_code == 403 and admin.json()["detail"] == sdk_keys.NOT_AN_SDK_KEY
    missing = client.post(SINGLE + "nope", json={"context": {}}, headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {
        "key": "nope",
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": "flag 'nope' was not found in production",
    }
    for body, details in (
        (b"{nope", "the request body is not valid JSON (or nested too deeply)"),
        (b"\xff\xfe", "the request body is not valid JSON (or nested too deeply)"),
        (b"[1, 2]", "the request body must be an object with a 'context' object"),
        (b'{"context": 3}', "'context' must be an object"),
        (b'{"context": {"targetingKey": 7}}', "'context.targetingKey' must be a string"),
    ):
        single = client.post(SINGLE + "new-search", content=body, headers=headers)
        assert single.status_code == 400, body
        assert single.json() == {"key": "new-search", "errorCode": "INVALID_CONTEXT", "errorDetails": details}
        bulk = client.post(BULK, content=body, headers=headers)
        assert bulk.status_code == 400 and bulk.json() == {"errorCode": "INVALID_CONTEXT", "errorDetails": details}
    assert len(served) == 14


def test_bodies_over_the_limit_are_refused_before_they_are_parsed(
    flags_runtime: Runtime, edge_client: tuple[TestClient, list[str]]
) -> None:
    client, _ = edge_client
    headers = {"X-API-Key": sdk_key(flags_runtime, "production"), "Content-Type": "application/json"}
    huge = b'{"context": {"a": "' + b"x" * edge.OFREP_MAX_BODY_BYTES + b'"}}'
    detail = f"the request body is over {edge.OFREP_MAX_BODY_BYTES} bytes; an OFREP evaluation context must be smaller"
    declared = client.post(SINGLE + "page-size", content=huge, headers=headers)
    assert declared.status_code == 413
    assert declared.json() == {"key": "page-size", "errorCode": "GENERAL", "errorDetails": detail}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    streamed = client.post(BULK, content=chunks(), headers=headers)
    assert streamed.status_code == 413 and streamed.json() == {"errorCode": "GENERAL", "errorDetails": detail}
    big_int = client.post(BULK, content=b'{"context": {"n": 123456789012345678901234567890}}', headers=headers)
    assert big_int.status_code == 200, "JSON integers over 64 bits are still a context (parsed without orjson)"


def _revoke(runtime: Runtime, key: str) -> None:
    with runtime.sessions.begin() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.prefix == key.split("_")[1])).one()
        auth.revoke_token(session, token_id=token.id, now=runtime.now(), actor=Actor.system("test"))


def test_a_revoked_key_is_refused_within_the_key_ttl(flags_runtime: Runtime, client: TestClient) -> None:
    clock = FakeMonotonic()
    keys = flags_runtime.state(sdk_keys.SdkKeyCache)
    keys.clock = clock
    key = sdk_key(flags_runtime, "production")
    headers = {"X-API-Key": key}
    assert client.post(SINGLE + "page-size", json={"context": {}}, headers=headers).status_code == 200
    _revoke(flags_runtime, key)
    clock.now += keys.ttl * 0.25  # fresh: answered from memory, no check
    assert client.post(SINGLE + "page-size", json={"context": {}}, headers=headers).status_code == 200
    clock.now += keys.ttl * 0.75  # `ttl` old: never used again without a check
    refused = client.post(SINGLE + "page-size", json={"context": {}}, headers=headers)
    assert refused.status_code == 401 and refused.json()["detail"] == "this API token was revoked"


def test_a_key_in_use_is_rechecked_in_the_background_before_its_ttl_ends(
    flags_runtime: Runtime, client: TestClient
) -> None:
    clock = FakeMonotonic()
    keys = flags_runtime.state(sdk_keys.SdkKeyCache)
    keys.clock = clock
    key = sdk_key(flags_runtime, "staging")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post(BULK, json={"context": {}}, headers=headers).status_code == 200
    _revoke(flags_runtime, key)
    clock.now += keys.ttl * 0.6  # past half its ttl: answered at once, and re-checked off the event loop
    statuses = [client.post(BULK, json={"context": {}}, headers=headers).status_code]
    for _ in range(200):
        if statuses[-1] == 401:
            break
        keys.check_soon(flags_runtime, key, sdk_keys.digest(key)).result(timeout=10)
        statuses.append(client.post(BULK, json={"context": {}}, headers=headers).status_code)
    assert statuses[0] == 200 and statuses[-1] == 401, statuses


def _change_elsewhere(runtime: Runtime, environment: str, document: dict[str, Any]) -> None:
    """A change as another process commits it: straight to the row, so this process's commit hook never runs."""
    with runtime.engine.begin() as conn:
        conn.execute(
            update(FlagEnvironment)
            .where(FlagEnvironment.environment == environment)
            .values(
                document=document,
                etag=etags.environment_etag(document, "cbor"),
                version=FlagEnvironment.version + 1,
            )
        )


def test_changes_are_seen_at_once_here_and_within_two_ttls_from_another_process(
    flags_runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    clock = FakeMonotonic()
    cache = flags_runtime.state(serving.ServingCache)
    cache.clock = clock
    headers = {"X-API-Key": sdk_key(flags_runtime, "staging")}

    def page_size() -> Any:
        answer = client.post(SINGLE + "page-size", json={"context": {"targetingKey": "u1"}}, headers=headers)
        return answer.json().get("value")

    assert page_size() == 10
    here = client.post("/api/v1/flags/staging/flags/page-size/rollout", json={"percent": 100}, headers=auth_headers)
    assert here.status_code == 200, here.text
    assert page_size() == 50, "a change committed in this process is served by the very next evaluation"
    flag = {"state": "ENABLED", "variants": {"small": 10, "big": 50, "huge": 99}, "defaultVariant": "huge"}
    _change_elsewhere(flags_runtime, "staging", {"flags": {"page-size": flag}})
    clock.now += cache.ttl * 0.5
    assert page_size() == 50, "within ttl the snapshot in memory is served"
    clock.now += cache.ttl * 1.5
    assert page_size() == 99, "past 2 x ttl the flag set is loaded before answering"


def test_a_stale_snapshot_is_served_while_one_background_load_replaces_it(
    flags_runtime: Runtime, client: TestClient
) -> None:
    clock = FakeMonotonic()
    cache = flags_runtime.state(serving.ServingCache)
    cache.clock = clock
    headers = {"X-API-Key": sdk_key(flags_runtime, "staging")}
    assert client.post(SINGLE + "page-size", json={"context": {}}, headers=headers).json()["value"] == 10
    flag = {"state": "ENABLED", "variants": {"small": 10, "big": 50}, "defaultVariant": "big"}
    _change_elsewhere(flags_runtime, "staging", {"flags": {"page-size": flag}})
    clock.now += cache.ttl * 1.2
    first = client.post(SINGLE + "page-size", json={"context": {}}, headers=headers).json()["value"]
    generation = serving._COMMITTED_CHANGES.get("staging", 0)
    cache.load_soon("staging", generation).result(timeout=10)
    after = client.post(SINGLE + "page-size", json={"context": {}}, headers=headers).json()["value"]
    assert (first, after) == (10, 50)


def test_successful_evaluations_leave_the_access_log_but_failures_stay() -> None:
    edge.quiet_access_log()
    access = logging.getLogger("uvicorn.access")

    def kept(path: str, status: int) -> bool:
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", None, None)
        record.args = ("127.0.0.1:5000", "POST", path, "1.1", status)
        return access.filter(record) is not False

    assert not kept(BULK, 200) and not kept(SINGLE + "x", 304)
    assert kept(SINGLE + "x", 401) and kept(BULK, 500) and kept("/api/v1/flags/environments", 200)


def test_the_fastapi_routes_answer_as_the_edge_does(flags_runtime: Runtime, client: TestClient) -> None:
    """An app built without the edge (FastAPI's routes, same `ofrep.respond`) gives the same answers."""
    plain_app = create_app(flags_runtime)
    plain_app.user_middleware = [m for m in plain_app.user_middleware if m.cls is not edge.OfrepEdge]
    key = sdk_key(flags_runtime, "production")
    requests: list[tuple[str, bytes, dict[str, str]]] = [
        (SINGLE + "new-search", b'{"context": {"targetingKey": "u1", "email": "a@jobs.example"}}', {"X-API-Key": key}),
        (SINGLE + "checkout-theme", b"", {"Authorization": f"Bearer {key}"}),
        (SINGLE + "legacy-banner", b'{"context": {}}', {"X-API-Key": key}),
        (SINGLE + "nope", b'{"context": {}}', {"X-API-Key": key}),
        (SINGLE + "new-search", b'{"context": {"targetingKey": 1}}', {"X-API-Key": key}),
        (SINGLE + "new-search", b'{"context": {}}', {}),
        (BULK, b'{"context": {"targetingKey": "u2"}}', {"X-API-Key": key}),
        (BULK, b"{nope", {"X-API-Key": key}),
        (BULK, b'{"context": {}}', {"X-API-Key": "mmr_a_b"}),
    ]
    with TestClient(plain_app, base_url="https://testserver") as plain:
        for path, body, headers in requests:
            fast, slow = (c.post(path, content=body, headers=headers) for c in (client, plain))
            assert (fast.status_code, fast.content) == (slow.status_code, slow.content), path
            for name in ("content-type", "etag", "www-authenticate", "x-content-type-options"):
                assert fast.headers.get(name) == slow.headers.get(name), (path, name)
        bulk = client.post(BULK, json={"context": {}}, headers={"X-API-Key": key})
        again = plain.post(
            BULK, json={"context": {}}, headers={"X-API-Key": key, "If-None-Match": bulk.headers["ETag"]}
        )
        assert again.status_code == 304
