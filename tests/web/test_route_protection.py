"""Every API route of every domain needs credentials: only health, metrics and the schema are open."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

OPEN = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def test_every_api_v1_route_refuses_a_caller_without_credentials(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or path in OPEN:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in operations:
            response = client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, f"{method.upper()} {path} answered {response.status_code}"
            assert response.headers["content-type"].startswith("application/problem+json")
            checked += 1
    assert checked >= 10, "the schema should list the kernel's and the domains' routes"


def test_a_wrong_token_is_refused_everywhere(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in operations:
            response = client.request(
                method.upper(), concrete, json={}, headers={"Authorization": "Bearer mmr_0000_wrong"}
            )
            assert response.status_code == 401, f"{method.upper()} {path} answered {response.status_code}"
