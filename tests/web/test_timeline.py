"""GET /api/v1/timeline filters by service, kind, since and until."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from mamori.core import timeline
from mamori.core.runtime import Runtime
from tests.conftest import T0


def _seed(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        for minutes, kind, service in [
            (0, "deploy", "jobs-api"),
            (10, "alert", "jobs-api"),
            (20, "deploy", "jobs-web"),
            (30, "incident", "matching-worker"),
        ]:
            timeline.record(
                session,
                at=T0 + timedelta(minutes=minutes),
                kind=kind,
                source="test",
                title=f"{kind} {service}",
                service=service,
            )


def _titles(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    response = client.get(f"/api/v1/timeline?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [e["title"] for e in response.json()]


def test_timeline_filters_by_service_kind_and_time(
    client: TestClient,
    runtime: Runtime,
    auth_headers: dict[str, str],
) -> None:
    _seed(runtime)
    assert _titles(client, auth_headers, "") == [
        "incident matching-worker",
        "deploy jobs-web",
        "alert jobs-api",
        "deploy jobs-api",
    ]
    assert _titles(client, auth_headers, "service=jobs-api") == ["alert jobs-api", "deploy jobs-api"]
    assert _titles(client, auth_headers, "service=jobs-api,jobs-web&kind=deploy") == [
        "deploy jobs-web",
        "deploy jobs-api",
    ]
    assert _titles(client, auth_headers, "since=2026-11-28T12:10:00Z&until=2026-11-28T12:30:00Z") == [
        "deploy jobs-web",
        "alert jobs-api",
    ]
    assert _titles(client, auth_headers, "kind=flag_change") == []


def test_posted_note_lands_on_the_timeline_with_its_author(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/timeline", headers=auth_headers, json={"title": "rotated the DB password"})
    assert response.status_code == 201
    [event] = client.get("/api/v1/timeline?kind=note", headers=auth_headers).json()
    assert event["title"] == "rotated the DB password"
    assert event["source"] == "api"
    assert event["data"]["by"] == "admin@example.com"
    unknown = client.post("/api/v1/timeline", headers=auth_headers, json={"title": "x", "service": "ghost"})
    assert unknown.status_code == 404
