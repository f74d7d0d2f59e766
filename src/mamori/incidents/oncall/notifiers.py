"""Notifiers: one small Protocol, with email (SMTP), Slack (chat.postMessage) and webhook (HMAC) behind it.

An SMS or voice provider plugs in by implementing `Notifier` and being put in the registry
(`oncall.service.Channels`, a per-runtime state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

from mamori.integrations import DeliveryError, webhooks
from mamori.integrations.email import send_email
from mamori.integrations.slack import SlackClient
from mamori.integrations.text import slack_escape

NotifyError = DeliveryError
"""A send failed; the message says why. Sends are retried with backoff."""


@dataclass(frozen=True)
class Page:
    """What a notification says, whatever the channel."""

    group_id: str
    title: str
    severity: str
    service: str | None
    status: str
    ack_url: str
    resolve_url: str
    details_url: str
    acted_by: str | None = None
    """Who acknowledged or resolved it, for messages updated after the fact."""


class Notifier(Protocol):
    def send(self, page: Page, target: str) -> str:
        """Deliver `page` to `target` (an address, a Slack user/channel id, a URL); return a receipt."""
        ...


@runtime_checkable
class UpdatingNotifier(Notifier, Protocol):
    """A notifier whose sent messages can be changed later (Slack): the receipt names the message."""

    def update(self, page: Page, message_ref: str) -> str: ...


class EmailNotifier:
    def __init__(self, *, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, page: Page, target: str) -> str:
        text = (
            f"{page.title}\nseverity: {page.severity}\nservice: {page.service or '-'}\n\n"
            f"Acknowledge: {page.ack_url}\nResolve: {page.resolve_url}\nDetails: {page.details_url}\n"
        )
        send_email(
            host=self.host,
            port=self.port,
            sender=self.sender,
            to=[target],
            subject=f"[{page.severity}] {page.title}",
            text=text,
            timeout=self.timeout,
        )
        return f"smtp:{target}"


class SlackNotifier:
    def __init__(self, *, client: Callable[[], httpx.Client], token: str, api_url: str) -> None:
        self.client, self.token, self.api_url = client, token, api_url.rstrip("/")

    def blocks(self, page: Page) -> list[dict[str, Any]]:
        title, service = slack_escape(page.title), slack_escape(page.service or "-")
        text = f"*[{page.severity}] {title}*\nservice: {service} · status: {page.status}"
        if page.acted_by:
            text += f" by {slack_escape(page.acted_by)}"
        open_button = {
            "type": "button",
            "action_id": "open",
            "url": page.details_url,
            "text": {"type": "plain_text", "text": "Open"},
        }
        section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        if page.status == "resolved":
            return [section, {"type": "actions", "block_id": f"mamori:{page.group_id}", "elements": [open_button]}]
        acknowledged = page.status == "acknowledged"
        return [
            section,
            {
                "type": "actions",
                "block_id": f"mamori:{page.group_id}",
                "elements": [
                    *(
                        []
                        if acknowledged
                        else [
                            {
                                "type": "button",
                                "action_id": "ack",
                                "value": page.group_id,
                                "style": "primary",
                                "text": {"type": "plain_text", "text": "Acknowledge"},
                            }
                        ]
                    ),
                    {
                        "type": "button",
                        "action_id": "resolve",
                        "value": page.group_id,
                        "text": {"type": "plain_text", "text": "Resolve"},
                    },
                    open_button,
                ],
            },
        ]

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        return SlackClient(client=self.client, token=self.token, api_url=self.api_url).call(method, body)

    def send(self, page: Page, target: str) -> str:
        body = {"channel": target, "text": f"[{page.severity}] {slack_escape(page.title)}", "blocks": self.blocks(page)}
        data = self._call("chat.postMessage", body)
        return f"slack:{data.get('channel', target)}:{data.get('ts', '')}"

    def update(self, page: Page, message_ref: str) -> str:
        """Rewrite a sent message (`channel:ts`) to show the group's new status (chat.update)."""
        channel, _, ts = message_ref.partition(":")
        text = f"[{page.severity}] {slack_escape(page.title)}: {page.status}" + (
            f" by {slack_escape(page.acted_by)}" if page.acted_by else ""
        )
        data = self._call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": self.blocks(page)})
        return f"slack:{data.get('channel', channel)}:{data.get('ts', ts)}"


def refuse_private(url: str) -> None:
    """Outbound webhooks must not reach loopback, link-local or private networks (SSRF)."""
    webhooks.check_url(url, allow_private=False)


class WebhookNotifier:
    def __init__(self, *, client: Callable[[], httpx.Client], key: bytes, allow_private: bool) -> None:
        self.client, self.key, self.allow_private = client, key, allow_private

    def send(self, page: Page, target: str) -> str:
        payload = {
            "type": "mamori.page",
            "group_id": page.group_id,
            "title": page.title,
            "severity": page.severity,
            "service": page.service,
            "status": page.status,
            "ack_url": page.ack_url,
            "resolve_url": page.resolve_url,
            "details_url": page.details_url,
        }
        with self.client() as client:
            status = webhooks.post_json(client, target, payload, allow_private=self.allow_private, key=self.key)
        return f"webhook:{status}"
