"""Issue trackers for postmortem action items: Jira Cloud (REST v3) and GitHub Issues.

Each filed issue carries a marker naming the action item (a Jira label, a hidden comment in the GitHub
body), so that a retry after a lost response finds the issue it already created instead of filing a
second one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx

from mamori.integrations import DeliveryError
from mamori.integrations.tickets import adf

REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
JIRA_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


TrackerError = DeliveryError
"""A filing failed. `permanent` when retrying cannot help (bad project, no permission)."""


@dataclass(frozen=True)
class Ticket:
    """What to file: the action item with enough context to act on it."""

    item_id: str
    title: str
    description: str
    owner: str | None
    due: date | None
    incident_url: str


@dataclass(frozen=True)
class Filed:
    ref: str
    url: str


class Tracker(Protocol):
    def find(self, target: str, ticket: Ticket) -> Filed | None: ...

    def create(self, target: str, ticket: Ticket) -> Filed: ...


def marker(item_id: str) -> str:
    return f"mamori-ai-{item_id}"


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code == 429 or response.status_code >= 500:
        raise TrackerError(f"{what}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise TrackerError(f"{what}: HTTP {response.status_code}: {response.text[:500]}", permanent=True)
    try:
        data = response.json()
    except ValueError:
        raise TrackerError(f"{what}: answer is not JSON") from None
    if not isinstance(data, dict):
        raise TrackerError(f"{what}: unexpected answer")
    return data


def _send(client: Callable[[], httpx.Client], what: str, method: str, url: str, **kw: Any) -> dict[str, Any]:
    try:
        with client() as http:
            response = http.request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise TrackerError(f"{what}: {exc}") from None
    return _check(response, what)


class JiraCloud:
    def __init__(self, *, client: Callable[[], httpx.Client], url: str, email: str, token: str) -> None:
        self.client, self.url, self.auth = client, url.rstrip("/"), (email, token)

    def payload(self, project: str, ticket: Ticket) -> dict[str, Any]:
        text = f"{ticket.description}\n\nOwner: {ticket.owner or '-'}\nIncident: {ticket.incident_url}"
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": "Task"},
            "summary": ticket.title[:255],
            "description": adf(text),
            "labels": ["mamori", marker(ticket.item_id)],
        }
        if ticket.due is not None:
            fields["duedate"] = ticket.due.isoformat()
        return {"fields": fields}

    def find(self, target: str, ticket: Ticket) -> Filed | None:
        data = _send(
            self.client,
            "Jira search",
            "GET",
            f"{self.url}/rest/api/3/search/jql",
            params={"jql": f'project = "{target}" AND labels = "{marker(ticket.item_id)}"', "fields": "key"},
            auth=self.auth,
            headers={"Accept": "application/json"},
        )
        issues = data.get("issues") or []
        if not issues:
            return None
        key = str(issues[0]["key"])
        return Filed(key, f"{self.url}/browse/{key}")

    def create(self, target: str, ticket: Ticket) -> Filed:
        data = _send(
            self.client,
            "Jira create issue",
            "POST",
            f"{self.url}/rest/api/3/issue",
            json=self.payload(target, ticket),
            auth=self.auth,
            headers={"Accept": "application/json"},
        )
        if "key" not in data:
            raise TrackerError("Jira create issue: answer has no issue key")
        return Filed(str(data["key"]), f"{self.url}/browse/{data['key']}")


class GitHubIssues:
    def __init__(self, *, client: Callable[[], httpx.Client], api_url: str, token: str) -> None:
        self.client, self.api_url = client, api_url.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def payload(self, ticket: Ticket) -> dict[str, Any]:
        lines = [
            ticket.description,
            "",
            f"- Owner: {ticket.owner or '-'}",
            f"- Due: {ticket.due.isoformat() if ticket.due else '-'}",
            f"- Incident: {ticket.incident_url}",
            "",
            f"<!-- {marker(ticket.item_id)} -->",
        ]
        return {"title": ticket.title[:256], "body": "\n".join(lines), "labels": ["mamori"]}

    def find(self, target: str, ticket: Ticket) -> Filed | None:
        data = _send(
            self.client,
            "GitHub search",
            "GET",
            f"{self.api_url}/search/issues",
            params={"q": f'repo:{target} is:issue in:body "{marker(ticket.item_id)}"'},
            headers=self.headers,
        )
        for item in data.get("items") or []:
            if marker(ticket.item_id) in str(item.get("body") or ""):
                return Filed(f"{target}#{item['number']}", str(item.get("html_url", "")))
        return None

    def create(self, target: str, ticket: Ticket) -> Filed:
        data = _send(
            self.client,
            "GitHub create issue",
            "POST",
            f"{self.api_url}/repos/{target}/issues",
            json=self.payload(ticket),
            headers=self.headers,
        )
        if "number" not in data:
            raise TrackerError("GitHub create issue: answer has no issue number")
        return Filed(f"{target}#{data['number']}", str(data.get("html_url", "")))
