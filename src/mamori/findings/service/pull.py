"""Pulling findings from the tools' APIs: Security Hub GetFindings (SigV4, NextToken), a repository's
Dependabot alerts (REST, cursor pagination through the Link header) and Snyk's REST Issues API (JSON:API
`links.next`). Each source's pages become one document, parsed and imported like an upload."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from mamori.core.errors import Unavailable
from mamori.core.events import EventBus
from mamori.findings.kinds import PullSource
from mamori.findings.parsers import asff, dependabot, snyk
from mamori.findings.service.imports import ImportReport, import_batch
from mamori.findings.sigv4 import Credentials, sign

MAX_PAGES = 200
SNYK_VERSION = "2024-10-15"


@dataclass(frozen=True)
class Secrets:
    """What the pull needs to authenticate; the job fills it from settings and the environment."""

    github_token: str | None = None
    github_api_url: str = "https://api.github.com"
    snyk_token: str | None = None
    snyk_api_url: str = "https://api.snyk.io"
    aws: Credentials | None = None


def _json(response: httpx.Response, what: str) -> Any:
    if not response.is_success:
        raise Unavailable(f"{what}: HTTP {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError:
        raise Unavailable(f"{what}: the answer is not JSON") from None


def github_alerts(client: httpx.Client, *, api_url: str, token: str, repository: str) -> list[Any]:
    """Every Dependabot alert of the repository, following `Link: <...>; rel="next"`."""
    url: str | None = f"{api_url.rstrip('/')}/repos/{repository}/dependabot/alerts?per_page=100"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    out: list[Any] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        response = client.get(url, headers=headers)
        page = _json(response, f"GitHub {repository} Dependabot alerts")
        if not isinstance(page, list):
            raise Unavailable(f"GitHub {repository}: expected a list of alerts")
        out.extend(page)
        url = response.links.get("next", {}).get("url")
    return out


def snyk_issues(client: httpx.Client, *, api_url: str, token: str, organization: str) -> dict[str, Any]:
    """Every issue of the organisation, following JSON:API `links.next` (relative to the API root)."""
    root = api_url.rstrip("/")
    url: str | None = f"{root}/rest/orgs/{organization}/issues?version={SNYK_VERSION}&limit=100"
    data: list[Any] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page = _json(
            client.get(url, headers={"Authorization": f"token {token}", "Accept": "application/vnd.api+json"}),
            f"Snyk {organization} issues",
        )
        data.extend(page.get("data") or [])
        following = (page.get("links") or {}).get("next")
        url = (following if following.startswith("http") else root + following) if following else None
    return {"jsonapi": {"version": "1.0"}, "data": data}


def securityhub_findings(
    client: httpx.Client, *, region: str, credentials: Credentials, now: datetime, days: int
) -> dict[str, Any]:
    """GetFindings of the last `days`, page by page (`NextToken`), as one `{"Findings": [...]}` document."""
    url = f"https://securityhub.{region}.amazonaws.com/findings"
    findings: list[Any] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        body: dict[str, Any] = {
            "MaxResults": 100,
            "Filters": {"UpdatedAt": [{"DateRange": {"Value": days, "Unit": "DAYS"}}]},
        }
        if token:
            body["NextToken"] = token
        raw = json.dumps(body).encode()
        headers = sign(
            method="POST",
            url=url,
            headers={"Content-Type": "application/json"},
            body=raw,
            credentials=credentials,
            region=region,
            service="securityhub",
            now=now,
        )
        page = _json(client.post(url, content=raw, headers=headers), f"Security Hub {region} GetFindings")
        findings.extend(page.get("Findings") or [])
        token = page.get("NextToken")
        if not token:
            break
    return {"Findings": findings}


def pull(
    session: Session,
    client: httpx.Client,
    *,
    source: PullSource,
    secrets: Secrets,
    now: datetime,
    bus: EventBus | None = None,
) -> ImportReport:
    """Fetch one source and import what it returned, in the caller's transaction."""
    if source.type == "github-dependabot":
        if not secrets.github_token:
            raise Unavailable("GitHub is not configured: set MAMORI_GITHUB_TOKEN")
        alerts = github_alerts(
            client, api_url=secrets.github_api_url, token=secrets.github_token, repository=source.repository or ""
        )
        batch = dependabot.parse(alerts)
    elif source.type == "snyk-issues":
        if not secrets.snyk_token:
            raise Unavailable("Snyk is not configured: set MAMORI_SNYK_TOKEN")
        batch = snyk.parse_issues(
            snyk_issues(
                client, api_url=secrets.snyk_api_url, token=secrets.snyk_token, organization=source.organization or ""
            )
        )
    else:
        if secrets.aws is None:
            raise Unavailable("AWS credentials are not configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        batch = asff.parse(
            securityhub_findings(
                client, region=source.region or "", credentials=secrets.aws, now=now, days=source.updated_within_days
            )
        )
    return import_batch(
        session,
        batch=batch,
        now=now,
        actor=f"pull:{source.name}",
        name=f"pull {source.name}",
        bus=bus,
        repository=source.repository or "",
    )
