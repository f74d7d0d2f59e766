"""Questions to the dev team: Slack Events API messages in the configured channels (signature v0 checked,
five-minute replay window) and Jira issues of a project/type/label, turned into asks, first responses by a
dev team member, and resolutions (pure; the clock comes in as an argument).

Slack: a top-level message opens an inquiry (channel, ts); the first reply in its thread by a team member
is the first response; a `white_check_mark` reaction on it resolves it. Jira: created, the first comment by
a team member, and the resolution date.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mamori.delivery.records import parse_time

MAX_SKEW = timedelta(minutes=5)
RESOLVED_REACTIONS = {"white_check_mark", "heavy_check_mark", "done"}


class SlackSignatureError(Exception):
    pass


def slack_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def verify_slack(secret: bytes, *, timestamp: str | None, signature: str | None, body: bytes, now: datetime) -> None:
    if not timestamp or not signature or not timestamp.isdigit():
        raise SlackSignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if abs(now.timestamp() - int(timestamp)) > MAX_SKEW.total_seconds():
        raise SlackSignatureError("the Slack request timestamp is more than five minutes off (a replay?)")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body).encode(), signature.encode()):
        raise SlackSignatureError("X-Slack-Signature does not match the body")


HASHTAG = re.compile(r"(?<![\w&#<])#([A-Za-z0-9][A-Za-z0-9_-]{0,49})")
"""A `#toil` in a Slack question's text (not a channel link `<#C123|name>`, not an HTML entity `&#39;`)."""


def hashtags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lower() for t in HASHTAG.findall(text)))


@dataclass(frozen=True)
class Ask:
    key: str
    channel: str
    title: str
    by: str | None
    at: datetime
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    key: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Resolve:
    key: str
    by: str | None
    at: datetime


SlackChange = Ask | Reply | Resolve


def _ts(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), tz=UTC)


def slack_event(envelope: dict[str, Any], *, channels: set[str]) -> SlackChange | None:
    """What one Events API callback changes (None: not a message of a watched channel)."""
    event = envelope.get("event")
    if envelope.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind == "message" and event.get("channel") in channels and not event.get("subtype") and event.get("ts"):
        channel, ts = str(event["channel"]), str(event["ts"])
        thread = str(event.get("thread_ts") or ts)
        if thread == ts:
            return Ask(
                key=f"{channel}:{ts}",
                channel=channel,
                title=str(event.get("text") or "")[:500],
                by=event.get("user"),
                at=_ts(ts),
                tags=hashtags(str(event.get("text") or "")),
            )
        return Reply(key=f"{channel}:{thread}", by=str(event.get("user") or ""), at=_ts(ts))
    item = event.get("item")
    watched = isinstance(item, dict) and item.get("channel") in channels and bool(item.get("ts"))
    if kind == "reaction_added" and event.get("reaction") in RESOLVED_REACTIONS and watched and isinstance(item, dict):
        return Resolve(
            key=f"{item['channel']}:{item['ts']}", by=event.get("user"), at=_ts(event.get("event_ts") or item["ts"])
        )
    return None


@dataclass(frozen=True)
class JiraInquiry:
    key: str
    title: str
    by: str | None
    at: datetime
    first_response_at: datetime | None
    first_responder: str | None
    resolved_at: datetime | None
    tags: tuple[str, ...] = ()


def _who(user: Any) -> str | None:
    if not isinstance(user, dict):
        return None
    return user.get("emailAddress") or user.get("accountId") or user.get("displayName")


def jira_issues(doc: dict[str, Any], *, team: set[str]) -> list[JiraInquiry]:
    """Issues of a /rest/api/3/search answer (fields summary, created, resolutiondate, reporter, comment)."""
    issues = doc.get("issues")
    if not isinstance(issues, list):
        raise ValueError("issues: expected a list (is this a Jira search answer?)")
    out = []
    for i, issue in enumerate(issues):
        fields = issue.get("fields") if isinstance(issue, dict) else None
        if not isinstance(fields, dict) or not isinstance(issue.get("key"), str):
            raise ValueError(f"issues[{i}]: needs key and fields")
        try:
            created = parse_time(_jira_time(fields.get("created")))
            resolved = parse_time(_jira_time(fields["resolutiondate"])) if fields.get("resolutiondate") else None
        except ValueError as exc:
            raise ValueError(f"issues[{i}].fields: {exc}") from None
        comments = (fields.get("comment") or {}).get("comments") or []
        first = None
        for c in comments:
            who = _who(c.get("author")) if isinstance(c, dict) else None
            if who in team:
                at = parse_time(_jira_time(c.get("created")))
                if first is None or at < first[0]:
                    first = (at, who)
        out.append(
            JiraInquiry(
                key=issue["key"],
                title=str(fields.get("summary") or "")[:500],
                by=_who(fields.get("reporter")),
                at=created,
                first_response_at=first[0] if first else None,
                first_responder=first[1] if first else None,
                resolved_at=resolved,
                tags=tuple(dict.fromkeys(str(x).lower() for x in fields.get("labels") or [] if isinstance(x, str))),
            )
        )
    return out


def _jira_time(value: Any) -> Any:
    """Jira writes 2026-12-01T10:00:00.000+0000: make the offset ISO 8601 (+00:00)."""
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        return value[:-2] + ":" + value[-2:]
    return value
