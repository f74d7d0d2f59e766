"""Signed links and signatures: one-click ack tokens, Slack request verification, webhook HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from mamori.core.errors import Forbidden

SLACK_MAX_SKEW = timedelta(minutes=5)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_action(key: bytes, *, group_id: str, action: str, user: str | None, expires: datetime) -> str:
    """A token for a one-click action on an alert group, valid until `expires`."""
    body = _b64(json.dumps({"g": group_id, "a": action, "u": user, "e": int(expires.timestamp())}).encode())
    mac = hmac.new(key, b"ack-link:" + body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_action(key: bytes, token: str, *, now: datetime) -> dict[str, str | None]:
    body, _, mac = token.partition(".")
    expected = hmac.new(key, b"ack-link:" + body.encode(), hashlib.sha256).digest()
    try:
        ok = hmac.compare_digest(_unb64(mac), expected)
        data = json.loads(_unb64(body)) if ok else None
    except (ValueError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise Forbidden("this link is not valid")
    if int(data.get("e", 0)) < now.timestamp():
        raise Forbidden("this link has expired")
    return {"group_id": data.get("g"), "action": data.get("a"), "user": data.get("u")}


def slack_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def verify_slack(secret: bytes, *, timestamp: str | None, signature: str | None, body: bytes, now: datetime) -> None:
    """Slack's v0 request signature, with the 5-minute replay window Slack recommends."""
    if not timestamp or not signature or not timestamp.isdigit():
        raise Forbidden("missing Slack signature headers")
    if abs(now.timestamp() - int(timestamp)) > SLACK_MAX_SKEW.total_seconds():
        raise Forbidden("Slack request timestamp is too old")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), signature):
        raise Forbidden("Slack signature does not match")


def feed_token(key: bytes, *, kind: str, name: str) -> str:
    """The secret part of a calendar feed URL: names the schedule or user and is signed, never expires.

    Changing MAMORI_SECRET_KEY revokes every feed URL."""
    body = _b64(json.dumps({"k": kind, "n": name}, separators=(",", ":")).encode())
    mac = hmac.new(key, b"ical-feed:" + body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_feed(key: bytes, token: str) -> tuple[str, str]:
    body, _, mac = token.partition(".")
    expected = hmac.new(key, b"ical-feed:" + body.encode(), hashlib.sha256).digest()
    try:
        ok = hmac.compare_digest(_unb64(mac), expected)
        data = json.loads(_unb64(body)) if ok else None
    except (ValueError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("k") not in ("schedule", "user") or not isinstance(data.get("n"), str):
        raise Forbidden("this calendar link is not valid")
    return str(data["k"]), str(data["n"])
