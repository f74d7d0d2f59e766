"""A stand-in for the few Slack Web API methods Mamori calls, keeping messages and their metadata.

It answers as Slack documents them: chat.postMessage to a user id posts into the app's direct-message
conversation (`D...`) and answers with that channel and the message `ts`; conversations.open gives that
conversation's id; conversations.history lists the newest messages first and includes each message's
`metadata` only when `include_all_metadata` is set; read methods take query (or form) arguments, since
Slack accepts JSON bodies for write methods only. Slack does not deduplicate posts: each one is kept.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

WRITE_METHODS = frozenset({"chat.postMessage", "chat.update", "conversations.open"})


def _truthy(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "1")


@dataclass
class FakeSlack:
    posts: list[dict[str, Any]] = field(default_factory=list)
    """The arguments of every chat.postMessage, in order."""
    updates: list[dict[str, Any]] = field(default_factory=list)
    """The arguments of every chat.update."""
    calls: list[str] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    """Method -> the Slack error it answers (e.g. `missing_scope` for conversations.history)."""
    _history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def conversation(channel: str) -> str:
        return "D" + channel[1:] if channel[:1] in ("U", "W") else channel

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(method)
            if method in self.fail:
                return {"ok": False, "error": self.fail[method]}
            if method == "chat.postMessage":
                return self._post(args)
            if method == "chat.update":
                self.updates.append(args)
                return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
            if method == "conversations.open":
                return {"ok": True, "channel": {"id": self.conversation(str(args.get("users", "")))}}
            if method == "conversations.history":
                return self._read(args)
        return {"ok": False, "error": "unknown_method"}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        self.posts.append(args)
        channel = self.conversation(str(args["channel"]))
        ts = f"1700000000.{len(self.posts):06d}"
        message: dict[str, Any] = {"type": "message", "ts": ts, "text": args.get("text", "")}
        if isinstance(args.get("metadata"), dict):
            message["metadata"] = args["metadata"]
        self._history.setdefault(channel, []).insert(0, message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _read(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel not in self._history:
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = _truthy(args.get("include_all_metadata", False))
        messages = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in self._history[channel][: int(args.get("limit", 100))]
        ]
        return {"ok": True, "messages": messages, "has_more": False}

    def handle(self, method: str, http_method: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        """Arguments the way Slack reads them: a JSON body for a write method, else query or form fields."""
        if http_method == "POST" and method in WRITE_METHODS and body[:1] == b"{":
            args: dict[str, Any] = json.loads(body)
        else:
            args = {**query, **dict(httpx.QueryParams(body.decode()))} if body[:1] != b"{" else dict(query)
        return self.answer(method, args)

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            method = request.url.path.rsplit("/", 1)[-1]
            query = dict(request.url.params)
            return httpx.Response(200, json=self.handle(method, request.method, query, request.content))

        return httpx.MockTransport(handler)
