"""GitHub REST backfill and catch-up for missed webhooks: each repository's pull requests, workflow runs and
deployments, newest first, until the items the last sweep already saw. Conditional on the first page's ETag
(a 304 costs nothing against the rate limit), resumable (the next page is stored after every page), and
rate-limit aware (a limited answer stores where it stopped and asks to be run again at the reset)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.events import EventBus
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryBackfill
from mamori.delivery.parsers import github, github_rest
from mamori.delivery.records import Record
from mamori.delivery.service.store import Store
from mamori.integrations.webhooks import get_checked

log = logging.getLogger(__name__)
SOURCE = "github"
MAX_PAGES = 10
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Outcome:
    pages: int = 0
    items: int = 0
    not_modified: int = 0
    wait_until: datetime | None = None
    more: bool = False
    """Pages are left: run again now."""


@dataclass(frozen=True)
class GitHubApi:
    client: httpx.Client
    base_url: str
    token: str | None
    allow_private: bool

    def get(self, url: str, etag: str | None = None) -> httpx.Response:
        headers = dict(github_rest.API_HEADERS)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if etag:
            headers["If-None-Match"] = etag
        return get_checked(self.client, url, allow_private=self.allow_private, headers=headers, max_bytes=MAX_BYTES)


def _state(session: Session, repo: str, resource: str) -> DeliveryBackfill:
    row = session.scalar(
        select(DeliveryBackfill).where(DeliveryBackfill.repo == repo, DeliveryBackfill.resource == resource)
    )
    if row is None:
        row = DeliveryBackfill(repo=repo, resource=resource, items=0)
        session.add(row)
        session.flush()
    return row


def sync_repo(session: Session, *, api: GitHubApi, bus: EventBus, repo: str, now: datetime) -> Outcome:
    """One run of the backfill of `repo`: up to MAX_PAGES pages over its lists, stored in this transaction."""
    store = Store(session=session, policy=kinds.policy(session), bus=bus, source=SOURCE, now=now)
    outcome = Outcome()
    for resource in github_rest.RESOURCES:
        state = _state(session, repo, resource.name)
        if state.wait_until is not None and state.wait_until > now:
            outcome.wait_until = min(outcome.wait_until or state.wait_until, state.wait_until)
            continue
        _sweep(api, store=store, state=state, resource=resource, repo=repo, outcome=outcome, now=now)
        if outcome.wait_until is not None:
            break
    return outcome


def _sweep(
    api: GitHubApi,
    *,
    store: Store,
    state: DeliveryBackfill,
    resource: github_rest.Resource,
    repo: str,
    outcome: Outcome,
    now: datetime,
) -> None:
    first = api.base_url.rstrip("/") + resource.path.format(repo=repo)
    url: str | None = state.next_url or first
    while url is not None:
        if outcome.pages >= MAX_PAGES:
            state.next_url, outcome.more = url, True
            return
        response = api.get(url, etag=state.etag if url == first else None)
        outcome.pages += 1
        headers = {k.lower(): v for k, v in response.headers.items()}
        until = github_rest.rate_limited_until(response.status_code, headers, now)
        if until is not None:
            state.next_url, state.wait_until, outcome.wait_until = url, until, until
            return
        if response.status_code == 304:
            outcome.not_modified += 1
            state.next_url, state.swept_at, state.wait_until = None, now, None
            return
        response.raise_for_status()
        if url == first:
            state.pending_etag = headers.get("etag")
        body = response.json()
        items = body.get(resource.items_key) if resource.items_key else body
        reached_old = _store_page(
            api, store=store, state=state, resource=resource, repo=repo, items=items if isinstance(items, list) else []
        )
        outcome.items += len(items) if isinstance(items, list) else 0
        url = None if reached_old else github_rest.next_page(response.headers.get("link"))
        state.next_url = url
    state.etag, state.pending_etag = state.pending_etag, None
    state.newest = max(filter(None, (state.newest, state.sweep_newest)), default=None)
    state.sweep_newest, state.swept_at, state.wait_until = None, now, None


def _store_page(
    api: GitHubApi,
    *,
    store: Store,
    state: DeliveryBackfill,
    resource: github_rest.Resource,
    repo: str,
    items: list[Any],
) -> bool:
    """Store a page; True when it reached items the last complete sweep had seen."""
    reached_old = False
    for item in items:
        if not isinstance(item, dict):
            continue
        stamp = github_rest.stamp_of(item, resource.stamp)
        if stamp is not None and state.newest is not None and stamp <= state.newest:
            reached_old = True
            continue
        records: list[Record] = github_rest.read(resource, item, repo)
        if resource.name == "deployments" and isinstance(item.get("statuses_url"), str):
            statuses = api.get(item["statuses_url"])
            listed = statuses.json() if statuses.status_code == 200 else []
            if isinstance(listed, list) and listed and isinstance(listed[0], dict):
                records.append(github.deploy_status(listed[0], external_id=f"{repo}/deployments/{item.get('id')}"))
        store.add(records)
        state.items = (state.items or 0) + 1
        if stamp is not None and (state.sweep_newest is None or stamp > state.sweep_newest):
            state.sweep_newest = stamp
    return reached_old
