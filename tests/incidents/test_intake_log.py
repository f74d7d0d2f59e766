"""The webhook intake through the group-commit log: a 2xx means the payload is stored (a SIGKILL right after
loses nothing, and a crash between accept and processing only delays it), the cached ingest token honours
revocation within its TTL, and Alertmanager's generatorURL is kept and linked (http/https only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core import auth
from mamori.core.audit import Actor
from mamori.core.clock import SystemClock
from mamori.core.models import ApiToken
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.models import Alert, AlertGroup, Intake
from tests.conftest import issue_token
from tests.incidents.fakes import am_payload, apply_config, install_fakes
from tests.support import REPO, free_port
from tests.web.conftest import PASSWORD, create_user, post_login


def _post(client: TestClient, headers: dict[str, str], alertname: str, **alert: object) -> httpx.Response:
    body = am_payload({"labels": {"alertname": alertname, "service": "jobs-api"}})
    body["alerts"][0].update(alert)  # type: ignore[index]
    return client.post("/hooks/alertmanager/prod-am", json=body, headers=headers)


def test_a_revoked_ingest_token_is_refused_once_its_cache_entry_expires(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest')}"}
    assert _post(client, headers, "A").status_code == 202
    with runtime.sessions.begin() as s:
        token = s.scalars(select(ApiToken)).one()
        auth.revoke_token(s, token_id=token.id, now=runtime.now(), actor=Actor.system("test"))
    assert _post(client, headers, "B").status_code == 202  # within the TTL the checked token is trusted
    client.app.state.token_cache.ttl = 0  # type: ignore[attr-defined]  # the TTL has passed
    refused = _post(client, headers, "C")
    assert refused.status_code == 401 and "revoked" in refused.text
    wrong = client.post("/hooks/alertmanager/prod-am", json={}, headers={"Authorization": "Bearer mmr_x_y"})
    assert wrong.status_code == 401
    with runtime.sessions() as s:
        assert len(s.scalars(select(Intake)).all()) == 2


def test_an_ingest_token_without_the_scope_is_refused_and_not_cached(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'read')}"}
    for _ in range(2):
        assert _post(client, headers, "A").status_code == 403
    assert client.app.state.token_cache.get(headers["Authorization"][7:], runtime.now()) is None  # type: ignore[attr-defined]


def test_generator_url_is_kept_and_linked_only_when_http(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest')}"}
    graph = "https://prometheus.example.com/graph?g0.expr=up%3D%3D0"
    assert _post(client, headers, "Down", generatorURL=graph).status_code == 202
    assert _post(client, headers, "Evil", generatorURL="javascript:alert(1)").status_code == 202
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        kept = {a.labels["alertname"]: (a.generator_url, a.group_id) for a in s.scalars(select(Alert))}
    assert kept["Down"][0] == graph and kept["Evil"][0] == "javascript:alert(1)"  # stored as sent
    create_user(runtime, "ada@example.com", role="admin")
    assert post_login(client, data={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    good = client.get(f"/alerts/{kept['Down'][1]}").text
    assert 'href="https://prometheus.example.com/graph?g0.expr=up%3D%3D0"' in good and ">source</a>" in good
    evil = client.get(f"/alerts/{kept['Evil'][1]}").text
    assert "javascript:" not in evil and ">source</a>" not in evil


ENOUGH = 24
"""Payloads acknowledged before the SIGKILL (eight clients in flight: a few more get their 202 meanwhile)."""


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_a_sigkill_under_load_loses_no_accepted_payload(runtime: Runtime, tmp_path: Path) -> None:
    """Eight clients post; the server (HTTP only, no worker) is SIGKILLed once ENOUGH payloads got their 202.
    Every 202 is on disk, still `accepted` (the crash came between accept and processing), and a worker
    started afterwards turns each into its alert: nothing accepted was lost."""
    runtime.clock = SystemClock()  # the server stamps jobs with the real time; they must be due for our worker
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    token = issue_token(runtime, "ingest")
    url, port = runtime.engine.url.render_as_string(hide_password=False), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.incidents.intake_server_main", url, str(port), str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # the shared machine can be slow to start a process
    while not _answers(f"{base}/healthz"):
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("the intake server did not start")
        time.sleep(0.2)
    accepted: dict[str, int] = {}
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"}) as http:
            for i in range(200):
                name = f"Crash{n}x{i}"
                body = am_payload({"labels": {"alertname": name, "service": "jobs-api"}})
                try:
                    answer = http.post("/hooks/alertmanager/prod-am", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code == 202:
                    with lock:
                        accepted[name] = answer.json()["intake_id"]
                        if len(accepted) >= ENOUGH and server.poll() is None:
                            server.send_signal(signal.SIGKILL)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if server.poll() is None:  # not killed by a client: fewer than ENOUGH accepted, the assertion below says so
        server.kill()
    server.wait(timeout=30)
    assert server.returncode == -signal.SIGKILL
    assert len(accepted) >= ENOUGH
    with runtime.sessions() as s:
        stored = {row.id: row for row in s.scalars(select(Intake))}
        for intake_id in accepted.values():
            assert intake_id in stored and stored[intake_id].status == "accepted"
            assert json.loads(stored[intake_id].body)["alerts"][0]["labels"]["alertname"].startswith("Crash")
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        names = {a.labels["alertname"] for a in s.scalars(select(Alert))}
        statuses = {row.id: row.status for row in s.scalars(select(Intake))}
        groups = len(s.scalars(select(AlertGroup)).all())
    assert set(accepted) <= names
    assert {statuses[i] for i in accepted.values()} == {"processed"}
    assert groups == len(names)


def test_pages_to_a_webhook_reuse_one_pooled_connection(runtime: Runtime) -> None:
    """The webhook channel that pages go through (the runtime's `Notifiers`) sends over the runtime's pooled
    client: three pages to a keep-alive receiver arrive over one TCP connection, not one each."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mamori.integrations.notify import Message, Notifiers

    peers: list[tuple[str, int]] = []

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            peers.append(self.client_address)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        webhook = runtime.state(Notifiers).get("webhook")
        target = f"http://127.0.0.1:{server.server_address[1]}/page"
        for n in range(3):
            assert webhook.send(Message(kind="page", title=f"page {n}"), target).startswith("webhook:")
    finally:
        server.shutdown()
        server.server_close()
    assert len(peers) == 3 and len(set(peers)) == 1, peers
    assert runtime.http_client() is runtime.http_client() and not runtime.http_client().is_closed
