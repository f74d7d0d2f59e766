"""API tokens: the secret is shown once, only its hash is kept; scopes and revocation."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.models import ApiToken
from mamori.core.runtime import Runtime


def test_token_secret_is_shown_once_and_stored_only_hashed(
    client: TestClient,
    runtime: Runtime,
    auth_headers: dict[str, str],
) -> None:
    created = client.post(
        "/api/v1/tokens", headers=auth_headers, json={"name": "ci", "scopes": ["read", "ingest"], "expires_in_days": 30}
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert secret.startswith(f"mmr_{body['prefix']}_")
    assert body["scopes"] == ["ingest", "read"]
    assert body["expires_at"].startswith("2026-12-28T12:00")
    listed = client.get("/api/v1/tokens", headers=auth_headers)
    assert secret not in listed.text
    assert all("token" not in t and "secret_hash" not in t for t in listed.json())
    assert any(t["id"] == body["id"] for t in listed.json())
    with runtime.sessions() as session:
        stored = session.scalar(select(ApiToken).where(ApiToken.id == body["id"]))
        assert stored is not None
        assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_token_scopes_decide_what_it_may_do(client: TestClient, auth_headers: dict[str, str]) -> None:
    def token(*scopes: str) -> dict[str, str]:
        secret = client.post("/api/v1/tokens", headers=auth_headers, json={"scopes": list(scopes)}).json()["token"]
        return {"Authorization": f"Bearer {secret}"}

    read, write = token("read"), token("write")
    assert client.get("/api/v1/timeline", headers=read).status_code == 200
    assert client.post("/api/v1/timeline", headers=read, json={"title": "t"}).status_code == 403
    assert client.post("/api/v1/timeline", headers=write, json={"title": "t"}).status_code == 201
    assert client.get("/api/v1/timeline", headers=write).status_code == 200  # write implies read
    assert client.post("/api/v1/tokens", headers=write, json={"scopes": ["admin"]}).status_code == 403


def test_unknown_scope_is_refused(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/tokens", headers=auth_headers, json={"scopes": ["root"]})
    assert response.status_code == 422
    assert "root" in response.json()["detail"]


def test_revoking_a_token_is_audited_and_idempotent(client: TestClient, auth_headers: dict[str, str]) -> None:
    created = client.post("/api/v1/tokens", headers=auth_headers, json={"scopes": ["read"], "name": "old"}).json()
    first = client.delete(f"/api/v1/tokens/{created['id']}", headers=auth_headers)
    assert first.status_code == 200
    assert first.json()["revoked_at"] is not None
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=auth_headers).json() == first.json()
    revokes = client.get(f"/api/v1/audit?object_type=ApiToken&object_id={created['id']}", headers=auth_headers).json()
    assert [e["action"] for e in revokes] == ["revoke", "create"]
    assert revokes[0]["source"] == "api"
    assert client.delete("/api/v1/tokens/nope", headers=auth_headers).status_code == 404
