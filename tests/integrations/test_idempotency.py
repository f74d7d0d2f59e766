"""A delivery's idempotency key on every channel: email Message-ID, webhook Idempotency-Key, Slack metadata."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes

import httpx
import pytest

from mamori.integrations.notify import SLACK_EVENT_TYPE, EmailNotifier, Message, SlackNotifier, WebhookNotifier
from tests.integrations.fake_slack import FakeSlack
from tests.support import smtp_inbox

PAGE = Message(kind="mamori.page", title="Disk full", severity="SEV2", idempotency_key="mamori.page.v1.abc123")


def test_every_send_of_one_delivery_has_the_same_message_id_and_others_differ() -> None:
    with smtp_inbox() as inbox:
        email = EmailNotifier(host="127.0.0.1", port=inbox.port, sender="Mamori <pager@mamori.example>")
        email.send(PAGE, "alice@example.com")
        email.send(replace(PAGE, resend=True), "alice@example.com")
        email.send(replace(PAGE, idempotency_key="mamori.page.v1.other"), "alice@example.com")
        email.send(replace(PAGE, idempotency_key=None), "alice@example.com")
        email.send(replace(PAGE, idempotency_key=None), "alice@example.com")
        ids = [message_from_bytes(raw)["Message-ID"] for raw in inbox.messages]
    assert ids[0] == ids[1] == "<mamori.page.v1.abc123@mamori.example>"
    assert ids[2] == "<mamori.page.v1.other@mamori.example>"
    assert len({ids[0], ids[2], ids[3], ids[4]}) == 4  # without a key, every message is its own


def test_a_webhook_carries_the_key_as_an_idempotency_key_header_on_every_hop() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/old":
            return httpx.Response(308, headers={"Location": "/new"})
        return httpx.Response(204)

    hook = WebhookNotifier(
        client=lambda: httpx.Client(transport=httpx.MockTransport(handler)), key=b"k", allow_private=True
    )
    assert hook.send(PAGE, "http://127.0.0.1/old") == "webhook:http://127.0.0.1/new"
    assert [r.headers.get("idempotency-key") for r in seen] == ['"mamori.page.v1.abc123"'] * 2
    assert all(r.headers["content-type"] == "application/json" and "x-mamori-signature" in r.headers for r in seen)
    hook.send(replace(PAGE, idempotency_key=None), "http://127.0.0.1/new")
    assert "idempotency-key" not in seen[-1].headers


def slack_for(fake: FakeSlack) -> SlackNotifier:
    return SlackNotifier(client=lambda: httpx.Client(transport=fake.transport()), token="xoxb", api_url="https://s/api")


@pytest.mark.parametrize("target", ["U024BE7LH", "C0PAGES"])
def test_a_slack_resend_finds_the_message_by_its_metadata_and_does_not_post_again(target: str) -> None:
    fake = FakeSlack()
    slack = slack_for(fake)
    first = slack.send(PAGE, target)
    assert fake.posts[0]["metadata"] == {
        "event_type": SLACK_EVENT_TYPE,
        "event_payload": {"idempotency_key": "mamori.page.v1.abc123"},
    }
    assert slack.send(replace(PAGE, resend=True), target) == first
    assert len(fake.posts) == 1
    assert "conversations.history" in fake.calls


def test_a_slack_resend_of_a_message_that_never_arrived_posts_it() -> None:
    fake = FakeSlack()
    slack = slack_for(fake)
    slack.send(replace(PAGE, idempotency_key="mamori.page.v1.someone-else"), "C0PAGES")
    slack.send(replace(PAGE, resend=True), "C0PAGES")
    assert len(fake.posts) == 2
    slack.send(replace(PAGE, resend=True), "C0EMPTY")  # nothing there yet: the history lookup fails, it posts
    assert len(fake.posts) == 3


def test_a_first_slack_send_does_not_read_history() -> None:
    fake = FakeSlack()
    slack_for(fake).send(PAGE, "U024BE7LH")
    assert fake.calls == ["chat.postMessage"]


def test_a_slack_resend_posts_when_history_cannot_be_read() -> None:
    fake = FakeSlack(fail={"conversations.history": "missing_scope"})
    slack = slack_for(fake)
    slack.send(PAGE, "C0PAGES")
    slack.send(replace(PAGE, resend=True), "C0PAGES")
    assert len(fake.posts) == 2  # a page twice rather than none


def test_an_updated_slack_message_keeps_its_metadata() -> None:
    fake = FakeSlack()
    slack = slack_for(fake)
    slack.update(replace(PAGE, title="Disk full: acknowledged"), slack.send(PAGE, "C0PAGES"))
    assert fake.updates[0]["metadata"] == fake.posts[0]["metadata"]
    assert fake.updates[0]["metadata"]["event_payload"] == {"idempotency_key": "mamori.page.v1.abc123"}


@pytest.mark.parametrize("key", ["", "a b", "x\r\nBcc: evil@example.com", "<id@host>", "k" * 201])
def test_a_key_that_would_not_fit_every_channel_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        Message(kind="k", title="t", idempotency_key=key)
