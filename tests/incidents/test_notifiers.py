from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.incidents.alerts.signing import slack_signature
from mamori.incidents.models import AlertGroup
from mamori.incidents.oncall import service as paging
from mamori.incidents.oncall.notifiers import NotifyError, Page, message
from mamori.integrations.notify import EmailNotifier, Notifiers, SlackNotifier, WebhookNotifier, slack_blocks
from mamori.integrations.webhooks import check_url
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory
from tests.incidents.fakes import apply_config
from tests.incidents.test_escalation import fire

PAGE = Page(
    group_id="g1",
    title="HighLatency",
    severity="SEV2",
    service="jobs-api",
    status="triggered",
    ack_url="https://m/ack",
    resolve_url="https://m/resolve",
    details_url="https://m/alerts/g1",
)


SLACK_RESPONDER = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: una}
spec: {email: una@example.com, name: Una, role: responder, contacts: [{type: slack, user: U1}]}
"""


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_email_page_reaches_a_real_smtp_server_with_a_working_ack_link(
    make_runtime: RuntimeFactory, clock: FixedClock, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    runtime = make_runtime(
        smtp_host="127.0.0.1", smtp_port=port, smtp_from="pager@mamori.test", base_url="https://mamori.test"
    )
    apply_config(runtime, tmp_path / "c")
    runtime.states.put(Notifiers({"email": paging.notifiers(runtime)["email"]}))
    group_id = fire(runtime)
    deadline = time.monotonic() + 5
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["bob@example.com"]
    mail = message_from_bytes(envelope.content)
    assert mail["Subject"] == "[SEV2] HighLatency"
    body = mail.get_payload(decode=True).decode()
    ack_url = next(line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("Acknowledge: "))
    assert ack_url.startswith("https://mamori.test/hooks/incidents/action/")
    path = ack_url.removeprefix("https://mamori.test")
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert client.get(path).status_code == 200  # a link scanner opening it changes nothing
        with runtime.sessions() as s:
            assert s.get(AlertGroup, group_id).status == "triggered"  # type: ignore[union-attr]
        assert client.post(path).status_code == 200
        assert client.post(path[:-3] + "AAA").status_code == 403
    with runtime.sessions() as s:
        group = s.get(AlertGroup, group_id)
        assert group is not None and (group.status, group.acknowledged_by) == ("acknowledged", "bob@example.com")


def test_email_to_a_closed_port_is_a_notify_error() -> None:
    with pytest.raises(NotifyError, match="SMTP"):
        EmailNotifier(host="127.0.0.1", port=_free_port(), sender="a@b.c", timeout=2).send(message(PAGE), "x@y.z")


def test_slack_message_has_ack_and_resolve_buttons() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "channel": "C1", "ts": "1.2"})

    slack = SlackNotifier(
        client=lambda: httpx.Client(transport=httpx.MockTransport(handler)),
        token="xoxb-t",
        api_url="https://slack.test/api",
    )
    assert slack.send(message(PAGE), "U024BE7LH") == "slack:C1:1.2"
    body = json.loads(seen[0].content)
    assert seen[0].url == "https://slack.test/api/chat.postMessage"
    assert seen[0].headers["authorization"] == "Bearer xoxb-t"
    actions = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a.get("value")) for a in actions][:2] == [("ack", "g1"), ("resolve", "g1")]


def test_slack_error_answers_are_notify_errors() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"ok": False, "error": "channel_not_found"}))
    slack = SlackNotifier(client=lambda: httpx.Client(transport=transport), token="t", api_url="https://s/api")
    with pytest.raises(NotifyError, match="channel_not_found"):
        slack.send(message(PAGE), "C9")


def test_slack_interactivity_callback_acknowledges_after_signature_check(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = make_runtime(slack_signing_secret=SecretStr("shh"), slack_token=SecretStr("xoxb"), states=[Notifiers({})])
    apply_config(runtime, tmp_path / "c", SLACK_RESPONDER)  # the clicking Slack user U1 is a Mamori responder
    group_id = fire(runtime)
    payload = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "ack", "value": group_id}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(runtime.now().timestamp()))
    headers = {"X-Slack-Request-Timestamp": ts, "Content-Type": "application/x-www-form-urlencoded"}
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        bad = client.post("/hooks/slack/interactivity", content=body, headers={**headers, "X-Slack-Signature": "v0=00"})
        assert bad.status_code == 403
        old = str(int((runtime.now() - timedelta(minutes=10)).timestamp()))
        stale = client.post(
            "/hooks/slack/interactivity",
            content=body,
            headers={
                **headers,
                "X-Slack-Request-Timestamp": old,
                "X-Slack-Signature": slack_signature(b"shh", old, body),
            },
        )
        assert stale.status_code == 403
        ok = client.post(
            "/hooks/slack/interactivity",
            content=body,
            headers={**headers, "X-Slack-Signature": slack_signature(b"shh", ts, body)},
        )
        assert ok.status_code == 200, ok.text
    with runtime.sessions() as s:
        assert s.scalar(select(AlertGroup.status)) == "acknowledged"


def test_slack_link_buttons_are_answered_quietly_and_buttons_without_a_group_are_400(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    runtime = make_runtime(slack_signing_secret=SecretStr("shh"), slack_token=SecretStr("xoxb"))
    ts = str(int(runtime.now().timestamp()))

    def post(client: TestClient, action: dict[str, object]) -> httpx.Response:
        payload = {"type": "block_actions", "user": {"id": "U1"}, "actions": [action]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {
            "X-Slack-Request-Timestamp": ts,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Signature": slack_signature(b"shh", ts, body),
        }
        return client.post("/hooks/slack/interactivity", content=body, headers=headers)

    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        opened = post(client, {"action_id": "open", "url": "https://mamori.example/alerts/1"})  # Slack sends no value
        assert (opened.status_code, opened.json()) == (200, {})
        for value in (None, 5, ""):
            ack = {"action_id": "ack"} if value is None else {"action_id": "ack", "value": value}
            response = post(client, ack)
            assert response.status_code == 400 and "carries no alert group id" in response.json()["detail"]


def test_webhook_is_hmac_signed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    hook = WebhookNotifier(
        client=lambda: httpx.Client(transport=httpx.MockTransport(handler)), key=b"k", allow_private=True
    )
    hook.send(message(PAGE), "https://hooks.example.com/x")
    assert (
        seen[0].headers["x-mamori-signature"] == "sha256=" + hmac.new(b"k", seen[0].content, hashlib.sha256).hexdigest()
    )
    assert json.loads(seen[0].content)["group_id"] == "g1"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://10.1.2.3/", "http://[::1]/", "http://localhost/"],
)
def test_webhook_refuses_private_addresses_unless_allowed(url: str) -> None:
    with pytest.raises(NotifyError, match="non-public"):
        check_url(url, allow_private=False)
    hook = WebhookNotifier(
        client=lambda: httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))),
        key=b"k",
        allow_private=False,
    )
    with pytest.raises(NotifyError, match="MAMORI_ALLOW_PRIVATE_WEBHOOKS"):
        hook.send(message(PAGE), url)


def test_signed_action_links_expire() -> None:
    from mamori.core.errors import Forbidden
    from mamori.incidents.alerts.signing import sign_action, verify_action

    now = datetime(2026, 11, 28, tzinfo=UTC)
    token = sign_action(b"k", group_id="g", action="ack", user="a@b.c", expires=now + timedelta(minutes=1))
    assert verify_action(b"k", token, now=now)["group_id"] == "g"
    with pytest.raises(Forbidden, match="expired"):
        verify_action(b"k", token, now=now + timedelta(minutes=2))
    with pytest.raises(Forbidden, match="not valid"):
        verify_action(b"other", token, now=now)


def test_runtime_notifiers_follow_settings(runtime: Runtime) -> None:
    assert set(paging.notifiers(runtime)) == {"webhook"}


def test_a_page_in_slack_carries_the_alert_title_escaped() -> None:
    page = replace(PAGE, title="<!channel> disk <https://evil.example|full>")
    text = slack_blocks(message(page))[0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; disk &lt;https://evil.example|full&gt;" in text


def test_a_page_names_the_alert_its_key_labels_annotations_and_runbook(runtime: Runtime, tmp_path: Path) -> None:
    from mamori.integrations.notify import email_text
    from tests.incidents.fakes import am_payload, install_fakes

    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    labels = {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical", "region": "eu-west-1"}
    annotations = {
        "summary": "p99 latency 2.3 s on /search",
        "runbook_url": "https://runbooks.example/latency",
        "description": "x" * 900,
    }
    with runtime.sessions.begin() as s:
        service.accept(
            s,
            integration="prod-am",
            source="alertmanager",
            body=json.dumps(am_payload({"labels": labels, "annotations": annotations})).encode(),
            content_type="application/json",
            now=runtime.now(),
        )
    Worker(runtime).run_until_idle()
    (_, sent), *_ = fakes["email"].sent
    text = email_text(sent)
    assert "summary: p99 latency 2.3 s on /search" in text and "region=eu-west-1" in text
    assert "Runbook: https://runbooks.example/latency" in text and "alertname=" not in text
    assert max(len(line) for line in text.splitlines()) < 600, "long annotations are shortened"
    blocks = slack_blocks(sent)
    assert any(e.get("url") == "https://runbooks.example/latency" for b in blocks for e in b.get("elements", []))
    assert sent.data["labels"]["region"] == "eu-west-1" and sent.data["annotations"]["summary"].startswith("p99")


def test_a_runbook_link_that_is_not_http_is_never_rendered() -> None:
    page = replace(PAGE, annotations={"runbook_url": "javascript:alert(1)"})
    rendered = message(page)
    assert "javascript" not in json.dumps(slack_blocks(rendered))
    from mamori.integrations.notify import email_text

    assert "javascript" not in email_text(rendered)
