"""The shared notifiers: one Message rendered safely per channel, the wiring's Notifiers, the in-memory twin."""

from __future__ import annotations

import httpx
import pytest

from mamori.core.config import Settings
from mamori.core.errors import ValidationFailed
from mamori.integrations import DeliveryError
from mamori.integrations.notify import (
    SECTION_LIMIT,
    Button,
    EmailNotifier,
    InMemoryNotifier,
    Message,
    SlackNotifier,
    WebhookNotifier,
    email_text,
    notifiers_from_settings,
    slack_blocks,
)

MESSAGE = Message(
    kind="test.note",
    title="<!channel> disk <https://evil.example|full>",
    severity="SEV2",
    lines=("service: <@U1> jobs",),
    links=(("Open", "https://mamori.example/a/1"), ("Bad", "javascript:alert(1)")),
    buttons=(Button("ack", "Acknowledge", value="g1"), Button("open", "Open", url="javascript:alert(1)")),
    key="mamori:g1",
)


def test_slack_text_is_escaped_and_only_http_links_become_buttons() -> None:
    blocks = slack_blocks(MESSAGE)
    text = blocks[0]["text"]["text"]
    assert "<!channel>" not in text and "<@U1>" not in text and "&lt;!channel&gt;" in text
    assert text.startswith("*[SEV2] ")
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert actions["block_id"] == "mamori:g1"
    assert [e["action_id"] for e in actions["elements"]] == ["ack"]


def test_a_long_slack_message_is_split_into_sections_within_slacks_limits() -> None:
    long = Message(kind="k", title="t", lines=tuple("x" * 100 for _ in range(2000)))
    blocks = slack_blocks(long)
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks)
    assert len(blocks) == 40 and "shortened" in blocks[-1]["text"]["text"]


def test_email_text_lists_http_links_only() -> None:
    text = email_text(MESSAGE)
    assert "Open: https://mamori.example/a/1" in text and "javascript" not in text


def test_slack_send_posts_blocks_and_returns_a_receipt_naming_the_message() -> None:
    seen: list[httpx.Request] = []

    def slack(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "channel": "C1", "ts": "1.2"})

    notifier = SlackNotifier(
        client=lambda: httpx.Client(transport=httpx.MockTransport(slack)), token="x", api_url="https://s/api"
    )
    receipt = notifier.send(MESSAGE, "C1")
    assert receipt == "slack:C1:1.2"
    assert notifier.update(MESSAGE, receipt) == "slack:C1:1.2"
    assert [r.url.path for r in seen] == ["/api/chat.postMessage", "/api/chat.update"]


def test_webhook_body_carries_the_kind_and_data_and_the_receipt_names_the_url() -> None:
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    keys: list[str] = []
    notifier = WebhookNotifier(
        client=lambda: httpx.Client(transport=httpx.MockTransport(hook)),
        key=lambda: keys.append("read") or b"k",  # type: ignore[func-returns-value]
        allow_private=True,
    )
    assert keys == [], "the signing key is read only when a webhook goes out"
    message = Message(kind="test.note", title="t", data={"id": 7})
    assert notifier.send(message, "https://hooks.example/x") == "webhook:https://hooks.example/x"
    assert seen[0].read() == b'{"type":"test.note","id":7}' and keys == ["read"]


def test_notifiers_from_settings_say_what_to_set() -> None:
    made = notifiers_from_settings(Settings(), httpx.Client)
    assert set(made.by_channel) == {"webhook"} and made.find("slack") is None
    with pytest.raises(ValidationFailed, match="MAMORI_SMTP_HOST"):
        made.get("email")
    with pytest.raises(ValidationFailed, match="MAMORI_SLACK_TOKEN"):
        made.get("slack")
    full = notifiers_from_settings(Settings(smtp_host="127.0.0.1", slack_token="xoxb"), httpx.Client)
    assert isinstance(full.get("email"), EmailNotifier) and isinstance(full.get("slack"), SlackNotifier)


def test_the_in_memory_twin_records_and_fails_on_demand() -> None:
    twin = InMemoryNotifier("email", failures_left=1, permanent=True)
    with pytest.raises(DeliveryError) as exc:
        twin.send(MESSAGE, "a@b.c")
    assert exc.value.permanent and twin.sent == []
    assert twin.send(MESSAGE, "a@b.c") == "email:ok" and twin.sent == [("a@b.c", MESSAGE)]
