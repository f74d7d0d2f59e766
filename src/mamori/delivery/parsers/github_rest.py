"""GitHub REST backfill, the pure parts: which lists are read (newest first), how their items become the
same records as the webhooks', the Link header's next page, and when the rate limit says to wait."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mamori.delivery.parsers import github
from mamori.delivery.records import Record, parse_time

NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    """First page, newest first; {repo} is owner/name."""
    items_key: str | None
    """The list's key in the answer (None: the answer is the list)."""
    stamp: str
    """The item field that orders the list: the sweep stops at items not newer than the last sweep's."""
    event: str
    """The webhook event whose object the list's items are."""


RESOURCES = (
    Resource(
        "pulls",
        "/repos/{repo}/pulls?state=all&sort=updated&direction=desc&per_page=100",
        None,
        "updated_at",
        "pull_request",
    ),
    Resource("runs", "/repos/{repo}/actions/runs?per_page=100", "workflow_runs", "created_at", "workflow_run"),
    Resource("deployments", "/repos/{repo}/deployments?per_page=100", None, "created_at", "deployment"),
)


def read(resource: Resource, item: dict[str, Any], repo: str) -> list[Record]:
    return github.records_of(resource.event, item, repo)


def next_page(link: str | None) -> str | None:
    match = NEXT.search(link or "")
    return match.group(1) if match else None


def rate_limited_until(status: int, headers: dict[str, str], now: datetime) -> datetime | None:
    """When a 403/429 is GitHub's rate limit, the moment to try again (x-ratelimit-reset, or retry-after)."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "")
    if retry_after.isdigit():
        return datetime.fromtimestamp(now.timestamp() + int(retry_after), tz=UTC)
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
        return datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), tz=UTC)
    return None


def stamp_of(item: dict[str, Any], field: str) -> datetime | None:
    try:
        return parse_time(item.get(field))
    except ValueError:
        return None
