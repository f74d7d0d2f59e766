"""Tickets in Jira Cloud (REST v3) and GitHub Issues, created at most once per marker label.

Before creating, each call looks for an issue that already carries the caller's marker label,
so a job retried after the ticket was made (a lost response, a crash before commit) finds it
instead of filing a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from mamori.integrations.errors import DeliveryError

PERMANENT_STATUSES = (400, 401, 403, 404, 410, 422)


@dataclass(frozen=True)
class Ticket:
    key: str
    url: str
    existing: bool = False


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    raise DeliveryError(
        f"{what} failed: HTTP {response.status_code}: {response.text[:300]}",
        permanent=response.status_code in PERMANENT_STATUSES,
    )


def adf(text: str) -> dict[str, Any]:
    """Atlassian Document Format, as Jira Cloud v3 wants descriptions: a paragraph per block of lines
    separated by a blank line, the lines inside a block joined by hard breaks."""
    content: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(block.splitlines()):
            if i:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        if inline:
            content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


@dataclass(frozen=True)
class JiraTarget:
    base_url: str
    email: str
    token: str
    project: str
    issue_type: str = "Task"


def create_jira_issue(
    client: httpx.Client, target: JiraTarget, *, summary: str, description: str, labels: list[str], marker: str
) -> Ticket:
    auth = httpx.BasicAuth(target.email, target.token)
    root = target.base_url.rstrip("/")
    try:
        found = client.get(
            f"{root}/rest/api/3/search/jql",
            params={"jql": f'labels = "{marker}"', "fields": "key"},
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
                "project": {"key": target.project},
                "summary": summary[:250],
                "issuetype": {"name": target.issue_type},
                "description": adf(description),
                "labels": [*labels, marker],
            }
        }
        created = client.post(f"{root}/rest/api/3/issue", json=body, auth=auth, headers={"Accept": "application/json"})
        _raise_for(created, "Jira create issue")
        key = str(created.json()["key"])
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Jira {root}: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a 2xx that is not Jira's JSON (a proxy page)
        raise DeliveryError(f"Jira {root}: unexpected answer ({type(exc).__name__}: {exc})") from None
    return Ticket(key=key, url=f"{root}/browse/{key}")


@dataclass(frozen=True)
class GitHubTarget:
    api_url: str
    token: str
    repository: str  # owner/name


def create_github_issue(
    client: httpx.Client, target: GitHubTarget, *, title: str, body: str, labels: list[str], marker: str
) -> Ticket:
    headers = {
        "Authorization": f"Bearer {target.token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    root = f"{target.api_url.rstrip('/')}/repos/{target.repository}"
    try:
        found = client.get(f"{root}/issues", params={"labels": marker, "state": "all"}, headers=headers)
        _raise_for(found, "GitHub list issues")
        existing = found.json()
        if existing:
            first = existing[0]
            return Ticket(key=f"{target.repository}#{first['number']}", url=str(first["html_url"]), existing=True)
        created = client.post(
            f"{root}/issues", json={"title": title[:250], "body": body, "labels": [*labels, marker]}, headers=headers
        )
        _raise_for(created, "GitHub create issue")
        data = created.json()
        return Ticket(key=f"{target.repository}#{data['number']}", url=str(data["html_url"]))
    except httpx.HTTPError as exc:
        raise DeliveryError(f"GitHub {root}: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:  # a 2xx that is not GitHub's JSON
        raise DeliveryError(f"GitHub {root}: unexpected answer ({type(exc).__name__}: {exc})") from None
