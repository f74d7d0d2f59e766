"""A real `mamori serve` process: a drill pages a participant by e-mail (a real SMTP server) and nobody else its
route names, the test acts as the responder over HTTP (a customer-facing update is refused), the score matches
what was done, and the abort leaves nothing open and nothing counted in the real metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from mamori.core import migrate
from mamori.core.config import load_settings
from mamori.core.db import make_engine
from mamori.wiring import build_runtime
from tests.conftest import issue_token
from tests.gamedays.support import PAGING, USER
from tests.support import free_port, smtp_inbox

pytestmark = pytest.mark.slow
T = TypeVar("T")
SCENARIO = """\
apiVersion: mamori.dev/v1
kind: GameDay
metadata: {name: e2e}
spec:
  title: Checkout down (end to end)
  kind: outage
  participants:
    - {user: alice@example.com, role: game-master}
    - {user: bob@example.com}
  injects:
    - {id: page, at: 1s, alert: {integration: drills, title: Checkout 5xx, labels: {alertname: CheckoutE2E}}}
  expectations:
    - {id: ack, after: page, acknowledge: {within: 2m}}
    - {id: declare, after: page, declare: {severity: SEV2, within: 2m}}
    - {id: ic, after: page, assignRole: {role: commander, within: 2m}}
    - {id: comms, after: page, assignRole: {role: communications, within: 2m}}
    - {id: updates, after: page, statusUpdates: {firstWithin: 2m}}
"""
# the drill route's policy names carol too: only the drill's participant (bob) may be paged
DRILL_PAGING = PAGING.replace(
    "notify: {users: [bob@example.com]}", "notify: {users: [carol@example.com, bob@example.com]}"
)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[httpx.Client, dict[str, str], dict[str, str], Any]]:
    url = f"sqlite:///{tmp_path / 'mamori.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.yaml").write_text("---\n".join(USER % {"name": n} for n in ("alice", "bob", "carol")))
    assert DRILL_PAGING != PAGING
    (config / "paging.yaml").write_text(DRILL_PAGING)
    (config / "scenario.yaml").write_text(SCENARIO)
    env = {
        **os.environ,
        "MAMORI_DATABASE_URL": url,
        "MAMORI_DATA_DIR": str(tmp_path),
        "MAMORI_SECRET_KEY": "e2e-secret-0123456789",
    }
    mamori = str(Path(sys.executable).parent / "mamori")
    applied = subprocess.run(
        [mamori, "apply", "--config", str(config)], env=env, capture_output=True, text=True, check=False
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    runtime = build_runtime(load_settings(env={}, database_url=url, secret_key="e2e-secret-0123456789"))
    admin = {"Authorization": f"Bearer {issue_token(runtime, 'admin')}"}
    bob = {"Authorization": f"Bearer {issue_token(runtime, 'write', email='bob@example.com')}"}
    runtime.engine.dispose()
    port = free_port()
    with smtp_inbox() as inbox:
        env.update(
            MAMORI_SMTP_HOST="127.0.0.1",
            MAMORI_SMTP_PORT=str(inbox.port),
            MAMORI_JOB_POLL_SECONDS="0.2",
            MAMORI_SESSION_COOKIE_SECURE="false",
        )
        proc = subprocess.Popen([mamori, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for("the server", lambda: _up(base), timeout=90)
            with httpx.Client(base_url=base, timeout=10) as api:
                yield api, admin, bob, inbox
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _up(base: str) -> bool:
    try:
        with httpx.Client(timeout=1) as probe:
            return probe.get(f"{base}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def test_a_drill_pages_bob_who_responds_over_http_and_the_score_matches(
    server: tuple[httpx.Client, dict[str, str], dict[str, str], Any],
) -> None:
    api, admin, bob, inbox = server
    drill = api.post("/api/v1/gamedays/drills", json={"scenario": "e2e"}, headers=admin)
    assert drill.status_code == 201, drill.text
    drill_id = drill.json()["id"]

    mail = wait_for("the page by e-mail", lambda: [m for m in inbox.messages if b"[DRILL] Checkout 5xx" in m])
    assert b"bob@example.com" in mail[0]
    (group,) = api.get("/api/v1/alert-groups", headers=admin).json()
    assert api.post(f"/api/v1/alert-groups/{group['id']}/acknowledge", headers=bob).status_code == 200
    declared = api.post(
        "/api/v1/incidents",
        json={"title": "[DRILL] checkout", "severity": "SEV2", "group_id": group["id"]},
        headers=bob,
    )
    assert declared.status_code == 201, declared.text
    ref = declared.json()["id"]
    role = api.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "commander", "user": "bob@example.com"}, headers=bob
    )
    assert role.status_code == 200, role.text

    customer = api.post(
        f"/api/v1/incidents/{ref}/updates", json={"text": "we are down", "audience": "external"}, headers=bob
    )
    assert customer.status_code == 409 and "no customer-facing" in customer.text
    update = api.post(f"/api/v1/incidents/{ref}/updates", json={"text": "rolling back the deploy"}, headers=bob)
    assert update.status_code == 200, update.text
    incident = api.get(f"/api/v1/incidents/{ref}", headers=admin).json()
    assert incident["title"] == "[DRILL] checkout" and incident["status"] == "investigating"

    def recorded() -> list[str] | None:
        kinds = [e["kind"] for e in api.get(f"/api/v1/gamedays/drills/{drill_id}/timeline", headers=admin).json()]
        wanted = {"acknowledged", "incident_declared", "role_assigned", "update_posted"}
        return kinds if wanted <= set(kinds) else None

    kinds = wait_for("the responses on the drill's timeline", recorded)
    assert kinds.count("update_posted") == 1  # the refused customer update left nothing
    score = api.post(f"/api/v1/gamedays/drills/{drill_id}/score", headers=admin).json()
    got = {o["id"]: o["outcome"] for o in score["expectations"]}
    assert got == {"ack": "met", "declare": "met", "ic": "met", "comms": "pending", "updates": "met"}
    bob_score = next(p for p in score["participants"] if p["user"] == "bob@example.com")
    assert sorted(bob_score["credited"]) == ["ack", "declare", "ic", "updates"] and bob_score["points"] == 4.0
    assert not any(b"carol@example.com" in m for m in inbox.messages)

    aborted = api.post(f"/api/v1/gamedays/drills/{drill_id}/abort", json={"reason": "end of test"}, headers=bob)
    assert aborted.status_code == 200 and aborted.json()["status"] == "aborted"

    def closed() -> bool:
        groups = api.get("/api/v1/alert-groups", headers=admin).json()
        incident = api.get(f"/api/v1/incidents/{ref}", headers=admin).json()
        return all(g["status"] == "resolved" for g in groups) and incident["status"] == "resolved"

    wait_for("the drill's alert and incident to be resolved", closed)
    real = api.get("/api/v1/metrics/incidents", headers=admin).json()
    assert (real["alert_groups"], real["incidents"], real["mtta_seconds"], real["mttr_seconds"]) == (0, 0, None, None)
    assert real["incidents_by_severity"] == {} and real["trends"]["total"] == 0
    assert api.get("/api/v1/metrics/oncall", headers=admin).json()["people"] == []
