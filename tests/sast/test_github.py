"""GitHub code scanning: a recorded alerts listing (the REST API's shape) and signed `code_scanning_alert`
webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.sast import github
from mamori.sast.hooks import SECRET_ENV
from mamori.sast.models import SastFinding
from mamori.sast.service import github as github_service
from tests.conftest import issue_token

LISTING = Path(__file__).parent / "data" / "github_alerts.json"
SECRET = "webhook-secret-for-tests"


def _findings(runtime: Runtime) -> dict[str, SastFinding]:
    with runtime.sessions() as session:
        return {f.rule: f for f in session.scalars(select(SastFinding))}


def test_an_alerts_listing_is_a_scan_and_a_dismissal_a_suppression(client: TestClient, runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest', email='ci@example.com')}"}
    params = {"repo": "acme/shop", "commit": "c1", "branch": "main"}
    done = client.post("/api/v1/sast/github/alerts", params=params, content=LISTING.read_bytes(), headers=headers)
    assert done.status_code == 201, done.text
    (scan,) = done.json()["scans"]
    assert (scan["tool"], scan["category"], scan["counts"]["new"]) == ("codeql", "github", 3)
    found = _findings(runtime)
    assert found["codeql/py/sql-injection"].severity == "critical"
    assert found["codeql/py/path-injection"].cwe == "CWE-22"
    dismissed = found["codeql/py/clear-text-logging-sensitive-data"]
    assert (
        dismissed.suppressed
        and dismissed.suppression == "external: dismissed on GitHub: false positive fixture data only"
    )
    alerts = json.loads(LISTING.read_text())
    alerts[0]["most_recent_instance"]["location"]["start_line"] = 20  # moved
    later = client.post(
        "/api/v1/sast/github/alerts", params={**params, "commit": "c2"}, content=json.dumps(alerts[:2]), headers=headers
    ).json()["scans"][0]["counts"]
    assert (later["moved"], later["unchanged"], later["fixed"]) == (1, 1, 1)


def test_a_broken_listing_names_the_alert_and_field() -> None:
    alerts: list[Any] = json.loads(LISTING.read_text())
    del alerts[1]["rule"]["id"]
    alerts[2]["most_recent_instance"]["location"]["start_line"] = "x"
    with pytest.raises(InvalidInput) as caught:
        github.parse_alerts(alerts)
    assert [p.loc for p in caught.value.problems] == ["[1].rule.id", "[2].most_recent_instance.location.start_line"]


def _deliver(
    client: TestClient, event: dict[str, Any], *, secret: str = SECRET, kind: str = "code_scanning_alert"
) -> Any:
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/sast/github",
        content=body,
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": kind, "Content-Type": "application/json"},
    )


def test_signed_webhook_deliveries_add_and_close_one_alert(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = json.loads(LISTING.read_text())[1]
    event = {"action": "created", "alert": alert, "ref": "refs/heads/main", "commit_oid": "c9",
             "repository": {"full_name": "acme/shop"}, "sender": {"login": "github-code-scanning"}}  # fmt: skip
    assert _deliver(client, event).status_code == 503  # no secret configured: the hook is off
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert _deliver(client, event, secret="wrong").status_code == 403
    assert _deliver(client, event, kind="ping").json() == {"ok": True, "detail": "pong"}
    created = _deliver(client, event)
    assert created.status_code == 200 and "'new': 1" in created.json()["detail"]
    assert _findings(runtime)["codeql/py/sql-injection"].open
    fixed = _deliver(client, {**event, "action": "fixed", "alert": {**alert, "state": "fixed"}})
    assert fixed.json()["detail"] == "closed 1"
    finding = _findings(runtime)["codeql/py/sql-injection"]
    assert (finding.open, finding.state) == (False, "fixed")
    bad = _deliver(client, {**event, "action": "exploded"})
    assert bad.status_code == 400 and "action" in bad.text


def test_an_event_for_another_alert_closes_nothing_else(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        github_service.import_alerts(
            session, payload=LISTING.read_bytes(), repo="acme/shop", commit="c1", now=runtime.now(), bus=runtime.bus
        )
        one = json.loads(LISTING.read_text())[0]
        one["number"], one["most_recent_instance"]["location"]["path"] = 9, "app/other.py"
        event = {"action": "appeared_in_branch", "alert": one, "ref": "refs/heads/main", "commit_oid": "c2",
                 "repository": {"full_name": "acme/shop"}}  # fmt: skip
        github_service.apply_event(session, payload=json.dumps(event).encode(), now=runtime.now(), bus=runtime.bus)
    assert sum(f.open for f in _findings_all(runtime)) == 4


def _findings_all(runtime: Runtime) -> list[SastFinding]:
    with runtime.sessions() as session:
        return list(session.scalars(select(SastFinding)))
