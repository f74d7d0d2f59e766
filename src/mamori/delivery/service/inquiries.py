"""Inquiries to the dev team: Slack events applied as they arrive, Jira issues synced by a job, and the
load they make (count, first-response and resolution medians, answers per team member)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.delivery import dora
from mamori.delivery.kinds import Inquiries
from mamori.delivery.models import DeliveryInquiry
from mamori.delivery.parsers import inquiries
from mamori.integrations.webhooks import get_checked

JIRA_FIELDS = "summary,created,resolutiondate,reporter,comment,labels"


def _row(session: Session, source: str, key: str) -> DeliveryInquiry | None:
    return session.scalar(select(DeliveryInquiry).where(DeliveryInquiry.source == source, DeliveryInquiry.key == key))


def apply_slack(session: Session, *, change: inquiries.SlackChange, config: Inquiries) -> str:
    """Store what one Slack event changes; returns what happened (asked, answered, resolved, ignored)."""
    row = _row(session, "slack", change.key)
    if isinstance(change, inquiries.Ask):
        if row is not None or change.by in config.team_slack_ids:
            return "ignored"  # a replay, or the team posting in its own channel
        session.add(
            DeliveryInquiry(
                source="slack",
                key=change.key,
                channel=change.channel,
                title=change.title,
                asked_by=change.by,
                asked_at=change.at,
                tags=list(change.tags),
            )
        )
        session.flush()
        return "asked"
    if row is None:
        return "ignored"
    if isinstance(change, inquiries.Reply):
        if change.by in config.team_slack_ids and (row.first_response_at is None or change.at < row.first_response_at):
            row.first_response_at, row.first_responder = change.at, change.by
            return "answered"
        return "ignored"
    if row.resolved_at is None:
        row.resolved_at = change.at
        return "resolved"
    return "ignored"


def sync_jira(
    session: Session,
    *,
    client: httpx.Client,
    base_url: str,
    email: str,
    token: str,
    config: Inquiries,
    allow_private: bool,
) -> int:
    """Upsert the issues the JQL finds (first page of 100, newest first); returns how many were read."""
    if not config.jira_jql:
        return 0
    query = urlencode({"jql": f"{config.jira_jql} ORDER BY created DESC", "fields": JIRA_FIELDS, "maxResults": 100})
    auth = base64.b64encode(f"{email}:{token}".encode()).decode()
    response = get_checked(
        client,
        f"{base_url.rstrip('/')}/rest/api/3/search?{query}",
        allow_private=allow_private,
        headers={"Authorization": f"Basic {auth}", "Accept": "application/json"},
        max_bytes=10 * 1024 * 1024,
    )
    response.raise_for_status()
    try:
        found = inquiries.jira_issues(response.json(), team=set(config.team_jira))
    except ValueError as exc:
        raise InvalidInput(f"Jira search answer: {exc}") from None
    for issue in found:
        row = _row(session, "jira", issue.key)
        if row is None:
            row = DeliveryInquiry(source="jira", key=issue.key, asked_at=issue.at)
            session.add(row)
        row.title, row.asked_by, row.asked_at, row.tags = issue.title, issue.by, issue.at, list(issue.tags)
        row.first_response_at, row.first_responder, row.resolved_at = (
            issue.first_response_at,
            issue.first_responder,
            issue.resolved_at,
        )
    session.flush()
    return len(found)


@dataclass
class InquiryLoad:
    asked: int
    answered: int
    resolved: int
    first_response_s: float | None
    resolution_s: float | None
    by_responder: list[tuple[str, int]]


def load(session: Session, *, since: datetime) -> InquiryLoad:
    rows = session.scalars(select(DeliveryInquiry).where(DeliveryInquiry.asked_at >= since)).all()
    responders: dict[str, int] = {}
    for r in rows:
        if r.first_responder:
            responders[r.first_responder] = responders.get(r.first_responder, 0) + 1
    return InquiryLoad(
        asked=len(rows),
        answered=sum(1 for r in rows if r.first_response_at),
        resolved=sum(1 for r in rows if r.resolved_at),
        first_response_s=dora.lower_median(
            (r.first_response_at - r.asked_at).total_seconds() for r in rows if r.first_response_at
        ),
        resolution_s=dora.lower_median((r.resolved_at - r.asked_at).total_seconds() for r in rows if r.resolved_at),
        by_responder=sorted(responders.items(), key=lambda x: (-x[1], x[0])),
    )
