"""Pages survive a worker SIGKILLed between send and commit without being delivered twice.

Real worker processes send real email to an SMTP server (aiosmtpd), webhooks and Slack Web API calls to
an HTTP server on 127.0.0.1, and each is killed right after the first send of every notification. The
job runs again after its lease, so email and webhooks go out twice on the wire (the raw duplicate rate,
printed); the receivers drop what they already have by Message-ID and Idempotency-Key, which leaves every
page delivered exactly once. Slack cannot drop a second post, so the notifier must find its first one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import SystemClock
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from mamori.incidents.models import AlertGroup, Notification, NotificationAttempt
from tests.incidents.fakes import am_payload
from tests.integrations.fake_slack import FakeSlack
from tests.support import REPO, free_port, smtp_inbox

pytestmark = pytest.mark.slow

GROUPS, USERS = 2, 2
CHANNELS = ("email", "webhook", "slack")


def config(http_port: int) -> str:
    users = [
        f"""\
apiVersion: mamori.dev/v1
kind: User
metadata: {{name: u{i}}}
spec:
  email: u{i}@example.com
  name: U{i}
  contacts:
    - {{type: email, address: u{i}@example.com}}
    - {{type: webhook, url: "http://127.0.0.1:{http_port}/hook/u{i}"}}
    - {{type: slack, user: U0USER{i}}}
"""
        for i in range(USERS)
    ]
    names = ", ".join(f"u{i}@example.com" for i in range(USERS))
    return "---\n".join(
        [
            *users,
            f"""\
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {{name: once}}
spec: {{steps: [{{notify: {{users: [{names}]}}, escalateAfter: 30m}}], repeat: 0}}
""",
            """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: r}
spec: {groupBy: [alertname], default: {severity: SEV2, escalationPolicy: once}}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: am}
spec: {type: alertmanager, route: r}
""",
        ]
    )


@dataclass
class Receiver:
    """Slack's Web API and the webhook endpoints, on one HTTP server; webhooks kept raw, with their key."""

    slack: FakeSlack = field(default_factory=FakeSlack)
    webhooks: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    """(path, Idempotency-Key header, body) of every POST to /hook/..., duplicates included."""


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    state, port = Receiver(), free_port()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if parts.path.startswith("/hook/"):
                state.webhooks.append((parts.path, self.headers.get("Idempotency-Key"), json.loads(body)))
                answer, status = b"", 204
            elif parts.path.startswith("/api/"):
                method = parts.path.removeprefix("/api/")
                reply = state.slack.handle(method, self.command, dict(parse_qsl(parts.query)), body)
                answer, status = json.dumps(reply).encode(), 200
            else:
                answer, status = b"", 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, port
    finally:
        server.shutdown()
        server.server_close()


def fire_groups(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        for n in range(GROUPS):
            body = am_payload({"labels": {"alertname": f"Broken{n}", "service": "jobs-api"}})
            service.accept(
                s,
                integration="am",
                source="alertmanager",
                body=json.dumps(body).encode(),
                content_type="application/json",
                now=runtime.now(),
            )


def run_crashing_workers(runtime: Runtime, smtp_port: int, http_port: int, state: Path) -> int:
    url = runtime.engine.url.render_as_string(hide_password=False)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.incidents.notify_crash_worker_main", url, str(smtp_port), str(http_port), state],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0
    return int((state / "kills").read_text())


def test_a_page_resent_after_a_sigkill_between_send_and_commit_is_delivered_once(
    runtime: Runtime, receiver: tuple[Receiver, int], tmp_path: Path
) -> None:
    received, http_port = receiver
    runtime.clock = SystemClock()  # the workers run on wall-clock time
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "all.yaml").write_text(config(http_port))
    manifest.apply(runtime, manifest.load(tmp_path / "c", runtime.kinds), actor=Actor("test", "config"))
    fire_groups(runtime)
    with smtp_inbox() as inbox:
        kills = run_crashing_workers(runtime, inbox.port, http_port, tmp_path)
        mails = [message_from_bytes(raw) for raw in inbox.messages]

    with runtime.sessions() as s:
        title = {g.id: g.title for g in s.scalars(select(AlertGroup))}
        notes = s.scalars(select(Notification)).all()
        oks = Counter(a.notification_id for a in s.scalars(select(NotificationAttempt)) if a.ok)
    pages = len(title) * USERS  # per channel
    assert len(title) == GROUPS and len(notes) == pages * len(CHANNELS)
    assert kills == len(notes), "every notification's worker was killed once, right after the send"
    assert Counter(n.status for n in notes) == Counter({"sent": len(notes)}), "no page lost"
    assert all(oks[n.id] == 1 for n in notes), "each notification has one successful attempt on record"

    # What each receiver keeps after dropping what it already has: per page, the distinct keys it saw.
    mail_keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    for mail in mails:
        mail_keys[(str(mail["Subject"]), str(mail["To"]))].add(str(mail["Message-ID"]))
    hook_keys: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for path, key, body in received.webhooks:
        hook_keys[(body["group_id"], path)].add(key)
    slack_posts = Counter(
        (post["channel"], next(b for b in post["blocks"] if b["type"] == "actions")["block_id"])
        for post in received.slack.posts
    )

    raw = {"email": len(mails), "webhook": len(received.webhooks), "slack": len(received.slack.posts)}
    rates = {channel: (count - pages) / pages for channel, count in raw.items()}
    print(f"\nSIGKILL after every first send: {pages} pages per channel, raw duplicate rate {rates}")
    assert len(mail_keys) == pages and all(len(ids) == 1 for ids in mail_keys.values()), mail_keys
    assert len(hook_keys) == pages and all(len(k) == 1 and None not in k for k in hook_keys.values()), hook_keys
    assert len(slack_posts) == pages and set(slack_posts.values()) == {1}, slack_posts
    assert raw["email"] == raw["webhook"] == 2 * pages, "the crash came after the send: each went out again"
