"""Slack Web API calls (chat.postMessage, chat.update, conversations.open and .history) with errors sorted
into retry and give-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mamori.integrations.errors import DeliveryError

# Errors of Slack's Web API that no retry cures (https://api.slack.com/methods/chat.postMessage#errors).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "no_permission",
        "missing_scope",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "message_not_found",
        "cant_update_message",
        "restricted_action",
    }
)


class SlackClient:
    def __init__(self, *, client: Callable[[], httpx.Client], token: str, api_url: str) -> None:
        self.client, self.token, self.api_url = client, token, api_url.rstrip("/")

    def call(self, method: str, body: dict[str, Any], *, read: bool = False) -> dict[str, Any]:
        """Call a Web API method; returns Slack's JSON answer (`ok` is true) or raises DeliveryError. Write
        methods take a JSON body; `read` methods (conversations.history) are a GET with query arguments, since
        Slack accepts JSON bodies only for write methods."""
        url, auth = f"{self.api_url}/{method}", {"Authorization": f"Bearer {self.token}"}
        try:
            with self.client() as client:
                if read:
                    response = client.get(url, params=body, headers=auth)
                else:
                    response = client.post(url, json=body, headers=auth)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Slack {method}: {exc}") from None
        if response.status_code == 429:
            wait = response.headers.get("Retry-After", "?")
            raise DeliveryError(f"Slack {method}: rate limited (Retry-After {wait}s)")
        if response.status_code >= 500:
            raise DeliveryError(f"Slack {method}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise DeliveryError(f"Slack {method}: HTTP {response.status_code} without JSON") from None
        if not isinstance(data, dict) or data.get("ok") is not True:
            error = (
                str(data.get("error", response.status_code)) if isinstance(data, dict) else str(response.status_code)
            )
            permanent = error in PERMANENT_ERRORS or 400 <= response.status_code < 500
            raise DeliveryError(f"Slack {method}: {error}", permanent=permanent)
        return data

    def post_message(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """chat.postMessage; `metadata` is Slack's message metadata (`event_type`, `event_payload`)."""
        body: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks is not None:
            body["blocks"] = blocks
        if metadata is not None:
            body["metadata"] = metadata
        return self.call("chat.postMessage", body)

    def update_message(
        self,
        channel: str,
        ts: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            body["blocks"] = blocks
        if metadata is not None:
            body["metadata"] = metadata
        return self.call("chat.update", body)

    def open_direct(self, user: str) -> str:
        """The id of the app's direct-message conversation with `user` (conversations.open), where
        chat.postMessage to a user id posts."""
        data = self.call("conversations.open", {"users": user})
        channel = data.get("channel")
        if not isinstance(channel, dict) or not isinstance(channel.get("id"), str):
            raise DeliveryError("Slack conversations.open: no channel id in the answer")
        return str(channel["id"])

    def history(self, channel: str, *, limit: int, include_all_metadata: bool = False) -> list[dict[str, Any]]:
        """The newest messages of a conversation (conversations.history, one page)."""
        args: dict[str, Any] = {"channel": channel, "limit": limit}
        if include_all_metadata:
            args["include_all_metadata"] = "true"
        messages = self.call("conversations.history", args, read=True).get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
