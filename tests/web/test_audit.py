"""The audit log is append-only at the database, read-only over HTTP, and filterable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.web import pages


def _one_entry(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        audit.record(
            session,
            actor=Actor(name="ada@example.com", source="cli"),
            action="update",
            object_type="Service",
            object_id="jobs-api",
            at=runtime.now(),
            before={"tier": 2},
            after={"tier": 1},
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
    ],
)
def test_database_refuses_to_change_the_audit_log(runtime: Runtime, statement: str) -> None:
    _one_entry(runtime)
    with pytest.raises(DatabaseError, match="append-only"), runtime.engine.begin() as conn:
        conn.execute(text(statement))
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["ada@example.com"]


def test_no_http_route_changes_the_audit_log(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    audit_paths = {path: set(ops) for path, ops in paths.items() if "audit" in path}
    assert audit_paths == {"/api/v1/audit": {"get"}}
    page_routes = [r for r in pages.router.routes if isinstance(r, APIRoute) and "audit" in r.path]
    assert [(r.path, r.methods) for r in page_routes] == [("/audit", {"GET"})]


def test_audit_api_filters_and_shows_the_diff(
    client: TestClient,
    runtime: Runtime,
    clock: FixedClock,
    auth_headers: dict[str, str],
) -> None:
    _one_entry(runtime)
    clock.advance(minutes=10)
    client.post("/api/v1/users", headers=auth_headers, json={"email": "bo@example.com", "name": "Bo"})

    def query(params: str) -> list[dict[str, object]]:
        response = client.get(f"/api/v1/audit?{params}", headers=auth_headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    [entry] = query("object_type=Service")
    assert entry["diff"] == [{"path": "tier", "before": 2, "after": 1}]
    assert entry["source"] == "cli"
    assert [e["object_id"] for e in query("source=api")] == ["bo@example.com"]
    assert [e["actor"] for e in query("actor=ada@example.com")] == ["ada@example.com"]
    since = (clock.now() - timedelta(minutes=5)).isoformat()
    assert {e["object_type"] for e in query(f"since={since.replace('+', '%2B')}")} == {"User"}
    assert query(f"object_type=Service&until={since.replace('+', '%2B')}") == [entry]
    bad = client.get("/api/v1/audit?source=email", headers=auth_headers)
    assert bad.status_code == 422
    assert "unknown source" in bad.json()["detail"]


def test_retrying_a_failed_job_over_the_api_is_audited_once(
    client: TestClient, runtime: Runtime, clock: FixedClock, auth_headers: dict[str, str]
) -> None:
    from mamori.core import jobs
    from mamori.core.worker import Worker

    with runtime.sessions.begin() as session:
        failing = jobs.enqueue(session, kind="test.no_such_handler", now=clock.now()).id
    Worker(runtime).run_until_idle()
    assert client.post(f"/api/v1/jobs/{failing}/retry", headers=auth_headers).json() == {"requeued": True}
    assert client.post(f"/api/v1/jobs/{failing}/retry", headers=auth_headers).status_code == 404  # queued now
    entries = client.get("/api/v1/audit?object_type=Job", headers=auth_headers).json()
    assert [(e["action"], e["source"], e["object_id"]) for e in entries] == [("retry", "api", str(failing))]
