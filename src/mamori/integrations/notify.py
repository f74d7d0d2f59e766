"""Telling a person or a team: one `Message`, one `Notifier` Protocol, email, Slack and webhook behind it.

A domain says what to tell (`Message`: a title, a few lines, links, buttons for channels that have
them, a JSON body for webhooks) and whom (a channel and a target: an address, a Slack user or channel
id, a URL). Each channel renders the message its own way and makes it safe on the way: the subject
becomes one header-safe line, Slack text is escaped so an alert title cannot mention `@channel` or
smuggle a link, and only http(s) links become buttons or lines.

The wiring builds the runtime's `Notifiers` from settings; tests and SMS or voice providers put their
own (an `InMemoryNotifier` twin, say) in its place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, Protocol, runtime_checkable

import httpx
from pydantic import Field, field_validator

from mamori.core.catalog import check_email
from mamori.core.config import Settings
from mamori.core.documents import SpecModel
from mamori.core.errors import ValidationFailed
from mamori.core.urls import check_http_url, is_http_url
from mamori.integrations import webhooks
from mamori.integrations.email import send_email
from mamori.integrations.errors import DeliveryError
from mamori.integrations.slack import SlackClient
from mamori.integrations.text import slack_escape

log = logging.getLogger(__name__)

CHANNELS = ("email", "slack", "webhook")


class Recipients(SpecModel):
    """Whom a configuration document tells (a digest, a report): a Slack channel, addresses, a webhook."""

    slack_channel: str | None = None
    email: list[str] = Field(default_factory=list)
    webhook: str | None = None

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("email")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            check_email(address)
        return value


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""What fits every channel unquoted: an email Message-ID's left part (dot-atom), an HTTP header, Slack metadata."""
SLACK_EVENT_TYPE = "mamori_delivery"
"""The `event_type` of the metadata Mamori attaches to the Slack messages it posts."""


@dataclass(frozen=True)
class Button:
    """An interactive button (Slack): a `value` posted back to Mamori, or a `url` to open."""

    action_id: str
    label: str
    value: str | None = None
    url: str | None = None
    style: str | None = None


@dataclass(frozen=True)
class Message:
    """What to tell, whatever the channel. `kind` names it for webhook receivers (`type` of the JSON);
    `data` is the rest of the webhook body; `key` groups the Slack buttons (`block_id`)."""

    kind: str
    title: str
    lines: tuple[str, ...] = ()
    severity: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    key: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    fallback: str | None = None
    """The plain text of a Slack message (notifications, screen readers); `[severity] title` by default."""
    idempotency_key: str | None = None
    """A stable name of this delivery, the same on every retry of it, so that the receiving side can drop a
    resend after a crash: the email's Message-ID, the webhook's `Idempotency-Key`, the Slack message's metadata."""
    resend: bool = False
    """An earlier attempt of this delivery may have reached the target (it crashed or failed after sending):
    a channel that can look its sent messages up (Slack) looks for the key before it sends again."""

    def __post_init__(self) -> None:
        if self.idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(self.idempotency_key):
            raise ValueError(f"an idempotency key is 1-200 of [A-Za-z0-9._-], not {self.idempotency_key!r}")

    @property
    def headline(self) -> str:
        return f"[{self.severity}] {self.title}" if self.severity else self.title


class Notifier(Protocol):
    def send(self, message: Message, target: str) -> str:
        """Deliver `message` to `target`; return a receipt (`slack:<channel>:<ts>` names a Slack message)."""
        ...


@runtime_checkable
class UpdatingNotifier(Notifier, Protocol):
    """A notifier whose sent messages can be changed later (Slack): the receipt names the message."""

    def update(self, message: Message, message_ref: str) -> str: ...


def email_text(message: Message) -> str:
    links = [f"{label}: {url}" for label, url in message.links if is_http_url(url)]
    return "\n".join([message.title, *message.lines, *(["", *links] if links else [])]) + "\n"


class EmailNotifier:
    def __init__(self, *, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, message: Message, target: str) -> str:
        send_email(
            host=self.host,
            port=self.port,
            sender=self.sender,
            to=[target],
            subject=message.headline,
            text=email_text(message),
            timeout=self.timeout,
            message_id=self.message_id(message),
        )
        return f"smtp:{target}"

    def message_id(self, message: Message) -> str | None:
        """`<key@sender's domain>`: the same on every retry, so a mailbox or gateway that drops a Message-ID it
        already has keeps one copy of a page resent after a crash."""
        if message.idempotency_key is None:
            return None
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "mamori.invalid"
        return f"<{message.idempotency_key}@{domain}>"


def slack_blocks(message: Message) -> list[dict[str, Any]]:
    """Block Kit: the escaped headline in bold and the escaped lines, then the buttons (http(s) links only)."""
    lines = [f"*{slack_escape(message.headline)}*", *(slack_escape(line) for line in message.lines)]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in _sections(lines)
    ]
    elements: list[dict[str, Any]] = []
    for button in message.buttons:
        if button.url is not None and not is_http_url(button.url):
            continue
        element: dict[str, Any] = {
            "type": "button",
            "action_id": button.action_id,
            "text": {"type": "plain_text", "text": button.label[:75]},
        }
        if button.value is not None:
            element["value"] = button.value
        if button.url is not None:
            element["url"] = button.url
        if button.style is not None:
            element["style"] = button.style
        elements.append(element)
    if elements:
        actions: dict[str, Any] = {"type": "actions", "elements": elements}
        if message.key:
            actions["block_id"] = message.key
        blocks.append(actions)
    return blocks


SECTION_LIMIT, MAX_SECTIONS = 3000, 40
"""Slack's limits: a section's text is at most 3,000 characters, a message at most 50 blocks."""


def _sections(lines: list[str]) -> list[str]:
    """The lines packed into as few sections as fit Slack's limits; a message too long ends with a note."""
    chunks: list[str] = []
    current = ""
    for whole in lines:
        line = whole[:SECTION_LIMIT]
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    chunks.append(current)
    if len(chunks) > MAX_SECTIONS:
        chunks = [*chunks[: MAX_SECTIONS - 1], "(message shortened: open Mamori for the rest)"]
    return chunks


class SlackNotifier:
    """chat.postMessage and chat.update. A message with an idempotency key carries it as metadata; a resend
    first looks for a message with that key among the target's recent messages and, if one is there, does not
    post again (reading history needs the `channels:history`/`groups:history`/`im:history` scopes; without
    them, or when the lookup fails, the message is posted: a page twice rather than none)."""

    HISTORY_LIMIT = 200

    def __init__(self, *, client: Callable[[], httpx.Client], token: str, api_url: str) -> None:
        self.slack = SlackClient(client=client, token=token, api_url=api_url)

    def _text(self, message: Message) -> str:
        return slack_escape(message.fallback or message.headline)

    def send(self, message: Message, target: str) -> str:
        key = message.idempotency_key
        if key is not None and message.resend:
            found = self._find_sent(target, key)
            if found is not None:
                log.info("Slack message %s was sent before a crash or failure; not posting it again", key)
                return found
        data = self.slack.post_message(
            target, self._text(message), blocks=slack_blocks(message), metadata=_metadata(message)
        )
        return f"slack:{data.get('channel', target)}:{data.get('ts', '')}"

    def update(self, message: Message, message_ref: str) -> str:
        """Rewrite a sent message (`channel:ts`, or the `slack:channel:ts` receipt) in place (chat.update)."""
        channel, _, ts = message_ref.removeprefix("slack:").partition(":")
        data = self.slack.update_message(
            channel, ts, self._text(message), blocks=slack_blocks(message), metadata=_metadata(message)
        )
        return f"slack:{data.get('channel', channel)}:{data.get('ts', ts)}"

    def _find_sent(self, target: str, key: str) -> str | None:
        """The receipt of a recent message to `target` whose metadata carries `key`, or None."""
        try:
            channel = self.slack.open_direct(target) if target[:1] in ("U", "W") else target
            messages = self.slack.history(channel, limit=self.HISTORY_LIMIT, include_all_metadata=True)
        except DeliveryError as exc:
            log.warning("Slack: cannot look for an earlier send of %s (%s); posting it", key, exc)
            return None
        for sent in messages:
            meta = sent.get("metadata")
            if not isinstance(meta, dict) or meta.get("event_type") != SLACK_EVENT_TYPE:
                continue
            payload = meta.get("event_payload")
            if isinstance(payload, dict) and payload.get("idempotency_key") == key:
                return f"slack:{channel}:{sent.get('ts', '')}"
        return None


def _metadata(message: Message) -> dict[str, Any] | None:
    if message.idempotency_key is None:
        return None
    return {"event_type": SLACK_EVENT_TYPE, "event_payload": {"idempotency_key": message.idempotency_key}}


class WebhookNotifier:
    """A signed JSON POST (`X-Mamori-Signature`) to a public http(s) URL; the receipt names the URL that took
    it (after redirects, each checked like the first). The signing key may be given as a function, read when
    the first webhook goes out (an offline command never needs the secret). A message's idempotency key goes
    out as the `Idempotency-Key` header, a structured-field string as the IETF httpapi draft has it (`"<key>"`)."""

    def __init__(self, *, client: Callable[[], httpx.Client], key: bytes | Callable[[], bytes], allow_private: bool):
        self.client, self._key, self.allow_private = client, key, allow_private

    @property
    def key(self) -> bytes:
        return self._key if isinstance(self._key, bytes) else self._key()

    def send(self, message: Message, target: str) -> str:
        payload = {"type": message.kind, **message.data}
        headers = {webhooks.IDEMPOTENCY_HEADER: f'"{message.idempotency_key}"'} if message.idempotency_key else {}
        with self.client() as client:
            _, final = webhooks.deliver_json(
                client, target, payload, allow_private=self.allow_private, key=self.key, headers=headers
            )
        return f"webhook:{final}"


@dataclass
class InMemoryNotifier:
    """A notifier twin: keeps `(target, message)` of every send; the next `failures_left` sends fail
    (transiently unless `permanent`)."""

    channel: str = "memory"
    sent: list[tuple[str, Message]] = field(default_factory=list)
    failures_left: int = 0
    permanent: bool = False
    updated: list[tuple[str, Message]] = field(default_factory=list)

    def send(self, message: Message, target: str) -> str:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise DeliveryError(f"{self.channel} is down", permanent=self.permanent)
        self.sent.append((target, message))
        return f"{self.channel}:ok"

    def update(self, message: Message, message_ref: str) -> str:
        self.updated.append((message_ref, message))
        return message_ref


@dataclass
class Notifiers:
    """The runtime's notifiers by channel (built by the wiring from settings, or given by a test), and for
    each channel not configured, what to set."""

    by_channel: dict[str, Notifier] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def get(self, channel: str) -> Notifier:
        if channel in self.by_channel:
            return self.by_channel[channel]
        if channel in self.missing:
            raise ValidationFailed(self.missing[channel])
        raise ValidationFailed(f"no notifier for channel {channel!r} (channels: {', '.join(sorted(self.by_channel))})")

    def find(self, channel: str) -> Notifier | None:
        return self.by_channel.get(channel)


def notifiers_from_settings(settings: Settings, client: Callable[[], httpx.Client]) -> Notifiers:
    """Webhook always; email and Slack when configured."""
    s = settings
    by_channel: dict[str, Notifier] = {
        "webhook": WebhookNotifier(client=client, key=s.signing_key, allow_private=s.allow_private_webhooks)
    }
    missing: dict[str, str] = {}
    if s.smtp_host:
        by_channel["email"] = EmailNotifier(host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from)
    else:
        missing["email"] = "email is not configured: set MAMORI_SMTP_HOST"
    if s.slack_token is not None and s.slack_token.get_secret_value():
        by_channel["slack"] = SlackNotifier(
            client=client, token=s.slack_token.get_secret_value(), api_url=s.slack_api_url
        )
    else:
        missing["slack"] = "Slack is not configured: set MAMORI_SLACK_TOKEN"
    return Notifiers(by_channel, missing)
