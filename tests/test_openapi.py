"""Every /api/v1 answer is described in /openapi.json: each operation declares a 2xx response schema."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_every_api_operation_declares_the_shape_of_its_answer(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    undescribed = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            answers = {code: body for code, body in operation.get("responses", {}).items() if code.startswith("2")}
            described = "204" in answers or any(
                body.get("content", {}).get("application/json", {}).get("schema") for body in answers.values()
            )
            if not described:
                undescribed.append(f"{method.upper()} {path}")
    assert len(spec["paths"]) > 50, "the spec lists the routes"
    assert undescribed == [], f"declare a response_model (or responses=) for: {undescribed}"
