"""Outbound integrations of error-budget policies: Jira Cloud issues, GitHub issues, webhook notifications.

Each call is made idempotent with a marker label (`mamori-action-<id>`): before creating, look for an
issue that already carries it, so a job retried after the ticket was made (a lost response, a crash
before commit) finds it instead of filing a second one.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx


class TicketError(Exception):
    """An integration answered with an error; `permanent` when retrying cannot help (e.g. 400/401/403/404)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Ticket:
    key: str
    url: str
    existing: bool = False


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    permanent = response.status_code in (400, 401, 403, 404, 410, 422)
    raise TicketError(f"{what} failed: HTTP {response.status_code}: {response.text[:300]}", permanent=permanent)


def marker(action_id: int) -> str:
    return f"mamori-action-{action_id}"


def _adf(text: str) -> dict[str, Any]:
    """Jira Cloud v3 wants descriptions in the Atlassian Document Format."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs],
    }


def create_jira_issue(
    client: httpx.Client,
    *,
    base_url: str,
    email: str,
    token: str,
    project: str,
    issue_type: str,
    summary: str,
    description: str,
    labels: list[str],
    action_id: int,
) -> Ticket:
    auth = httpx.BasicAuth(email, token)
    root = base_url.rstrip("/")
    tag = marker(action_id)
    found = client.get(
        f"{root}/rest/api/3/search/jql",
        params={"jql": f'labels = "{tag}"', "fields": "key"},
        auth=auth,
        headers={"Accept": "application/json"},
    )
    _raise_for(found, "Jira search")
    issues = found.json().get("issues") or []
    if issues:
        key = str(issues[0]["key"])
        return Ticket(key=key, url=f"{root}/browse/{key}", existing=True)
    body = {
        "fields": {
            "project": {"key": project},
            "summary": summary[:250],
            "issuetype": {"name": issue_type},
            "description": _adf(description),
            "labels": [*labels, tag],
        }
    }
    created = client.post(f"{root}/rest/api/3/issue", json=body, auth=auth, headers={"Accept": "application/json"})
    _raise_for(created, "Jira create issue")
    key = str(created.json()["key"])
    return Ticket(key=key, url=f"{root}/browse/{key}")


def create_github_issue(
    client: httpx.Client,
    *,
    api_url: str,
    token: str,
    repository: str,
    title: str,
    body: str,
    labels: list[str],
    action_id: int,
) -> Ticket:
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    root = f"{api_url.rstrip('/')}/repos/{repository}"
    tag = marker(action_id)
    found = client.get(f"{root}/issues", params={"labels": tag, "state": "all"}, headers=headers)
    _raise_for(found, "GitHub list issues")
    existing = found.json()
    if existing:
        return Ticket(key=f"{repository}#{existing[0]['number']}", url=str(existing[0]["html_url"]), existing=True)
    created = client.post(
        f"{root}/issues", json={"title": title[:250], "body": body, "labels": [*labels, tag]}, headers=headers
    )
    _raise_for(created, "GitHub create issue")
    data = created.json()
    return Ticket(key=f"{repository}#{data['number']}", url=str(data["html_url"]))


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Refuse webhooks to loopback/private/link-local addresses unless the operator allowed them."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TicketError(f"not an http(s) URL: {url!r}", permanent=True)
    if allow_private:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, None)}
    except OSError as exc:
        raise TicketError(f"cannot resolve {parts.hostname}: {exc}") from None
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise TicketError(f"webhook host {parts.hostname} resolves to a private address ({ip})", permanent=True)


def send_webhook(client: httpx.Client, *, url: str, payload: dict[str, Any], allow_private: bool) -> int:
    check_webhook_url(url, allow_private=allow_private)
    response = client.post(url, json=payload)
    _raise_for(response, "webhook")
    return response.status_code
