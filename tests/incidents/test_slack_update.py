"""After ack/resolve the Slack page is rewritten in place (chat.update) to show who did what."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.incidents.models import AlertGroup, Notification
from tests.conftest import RuntimeFactory
from tests.incidents.fakes import am_payload

CONFIG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: sam}
spec: {email: sam@example.com, name: Sam, contacts: [{type: slack, user: U024BE7LH}]}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: p}
spec: {steps: [{notify: {users: [sam@example.com]}, escalateAfter: 10m}]}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: r}
spec: {groupBy: [alertname], default: {severity: SEV2, escalationPolicy: p}}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: am}
spec: {type: alertmanager, route: r}
"""


class FakeSlack:
    """chat.postMessage to a user id answers with the DM channel; chat.update must name that channel and ts."""

    def __init__(self, update_failures: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []
        self.update_failures = update_failures

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer xoxb-test"
        method = request.url.path.rsplit("/", 1)[1]
        body = json.loads(request.content)
        self.calls.append((method, body))
        if method == "chat.postMessage":
            return httpx.Response(200, json={"ok": True, "channel": "D0DM1", "ts": "1700000000.000100"})
        if method == "chat.update":
            if self.update_failures:
                self.update_failures -= 1
                return httpx.Response(503)
            if (body["channel"], body["ts"]) != ("D0DM1", "1700000000.000100"):
                return httpx.Response(200, json={"ok": False, "error": "message_not_found"})
            return httpx.Response(200, json={"ok": True, "channel": "D0DM1", "ts": body["ts"], "text": body["text"]})
        return httpx.Response(200, json={"ok": False, "error": "unknown_method"})


def setup(make_runtime: RuntimeFactory, tmp_path: Path, fake: FakeSlack) -> tuple[Runtime, str]:
    runtime = make_runtime(http_transport=httpx.MockTransport(fake), slack_token=SecretStr("xoxb-test"))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "all.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp_path / "c", runtime.kinds), actor=Actor("test", "config"))
    with runtime.sessions.begin() as s:
        body = json.dumps(am_payload({"labels": {"alertname": "Down", "service": "jobs-api"}})).encode()
        service.accept(s, integration="am", source="alertmanager", body=body, content_type="", now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        group_id = str(s.scalar(select(AlertGroup.id)))
        note = s.scalar(select(Notification))
        assert note is not None and note.message_ref == "D0DM1:1700000000.000100"
    return runtime, group_id


def action_ids(body: dict[str, object]) -> list[str]:
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_ack_then_resolve_rewrite_the_sent_slack_message(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    fake = FakeSlack()
    runtime, group_id = setup(make_runtime, tmp_path, fake)
    assert [m for m, _ in fake.calls] == ["chat.postMessage"]
    assert action_ids(fake.calls[0][1]) == ["ack", "resolve", "open"]
    clock.advance(minutes=1)
    with runtime.sessions.begin() as s:
        service.acknowledge(s, runtime, group_id=group_id, actor=Actor("sam@example.com", "ui"), now=runtime.now())
    Worker(runtime).run_until_idle()
    method, body = fake.calls[-1]
    assert method == "chat.update" and (body["channel"], body["ts"]) == ("D0DM1", "1700000000.000100")
    assert body["text"] == "[SEV2] Down: acknowledged by sam@example.com"
    assert action_ids(body) == ["resolve", "open"], "no Acknowledge button once acknowledged"
    with runtime.sessions.begin() as s:
        service.resolve(s, runtime, group_id=group_id, actor=Actor("sam@example.com", "ui"), now=runtime.now())
    Worker(runtime).run_until_idle()
    method, body = fake.calls[-1]
    assert method == "chat.update" and "resolved by sam@example.com" in str(body["text"])
    assert action_ids(body) == ["open"]
    assert [m for m, _ in fake.calls] == ["chat.postMessage", "chat.update", "chat.update"]


def test_a_failed_update_is_retried_until_slack_takes_it(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    fake = FakeSlack(update_failures=2)
    runtime, group_id = setup(make_runtime, tmp_path, fake)
    with runtime.sessions.begin() as s:
        service.resolve(s, runtime, group_id=group_id, actor=Actor("sam@example.com", "ui"), now=runtime.now())
    for _ in range(3):
        Worker(runtime).run_until_idle()
        clock.advance(seconds=30)
    updates = [b for m, b in fake.calls if m == "chat.update"]
    assert len(updates) == 3 and fake.update_failures == 0
    clock.advance(hours=1)
    Worker(runtime).run_until_idle()
    assert len([m for m, _ in fake.calls if m == "chat.update"]) == 3, "done once it succeeded"
