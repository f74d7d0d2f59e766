"""The weekly security digest: what changed (new, resolved, reopened), SLA breaches and findings due soon,
per service, sent to Slack, email or a webhook through `mamori.integrations`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.runtime import Runtime
from mamori.findings.kinds import DigestTargets
from mamori.findings.models import FindingHistory, FindingRow
from mamori.findings.service.queries import DUE_SOON, Filters, list_findings
from mamori.integrations import DeliveryError, webhooks
from mamori.integrations.email import send_email
from mamori.integrations.slack import SlackClient
from mamori.integrations.text import slack_escape

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Digest:
    since: datetime
    events: dict[str, int]
    overdue: list[FindingRow]
    due_soon: list[FindingRow]

    def text(self, base_url: str, *, slack: bool = False) -> str:
        safe = slack_escape if slack else (lambda v: v)
        counts = ", ".join(f"{n} {e}" for e, n in sorted(self.events.items())) or "no changes"
        lines = [f"Mamori security digest since {self.since.date().isoformat()}: {counts}"]
        for title, rows in (("SLA breached", self.overdue), ("Due within 7 days", self.due_soon)):
            lines.append(f"\n{title}: {len(rows)}")
            for f in rows[:25]:
                due = f.due_at.date().isoformat() if f.due_at else ""
                link = f"{base_url.rstrip('/')}/findings/{f.id}"
                where = safe(f.service or "unmapped")
                lines.append(f"- [{f.priority}] {safe(f.title)} ({where}, due {due}) {link}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        def row(f: FindingRow) -> dict[str, Any]:
            return {
                "id": f.id,
                "title": f.title,
                "priority": f.priority,
                "service": f.service,
                "due_at": f.due_at.isoformat() if f.due_at else None,
            }

        return {
            "since": self.since.isoformat(),
            "events": self.events,
            "overdue": [row(f) for f in self.overdue],
            "due_soon": [row(f) for f in self.due_soon],
        }


def compose(session: Session, *, now: datetime) -> Digest:
    since = now - WEEK
    events: dict[str, int] = {}
    for event in session.scalars(
        select(FindingHistory.event).where(FindingHistory.at >= since, FindingHistory.event != "updated")
    ):
        events[event] = events.get(event, 0) + 1
    overdue = list_findings(session, filters=Filters(sla="overdue"), now=now, limit=200)
    soon = list_findings(session, filters=Filters(sla="due_soon"), now=now, limit=200)
    assert DUE_SOON == WEEK
    return Digest(since=since, events=events, overdue=overdue, due_soon=soon)


def deliver(runtime: Runtime, digest: Digest, *, targets: DigestTargets) -> list[tuple[str, str, bool, str]]:
    """(channel, target, ok, receipt or reason) per configured target; one failing target spares the others."""
    s = runtime.settings
    out: list[tuple[str, str, bool, str]] = []
    if targets.slack_channel:
        try:
            if s.slack_token is None:
                raise DeliveryError("no slack_token is configured")
            slack = SlackClient(
                client=runtime.http_client, token=s.slack_token.get_secret_value(), api_url=s.slack_api_url
            )
            answer = slack.post_message(targets.slack_channel, digest.text(s.base_url, slack=True))
            out.append(("slack", targets.slack_channel, True, f"slack:{answer.get('ts', '')}"))
        except DeliveryError as exc:
            out.append(("slack", targets.slack_channel, False, str(exc)))
    for address in targets.email:
        try:
            msg = send_email(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_from,
                to=[address],
                subject="Mamori security digest",
                text=digest.text(s.base_url),
            )
            out.append(("email", address, True, msg))
        except DeliveryError as exc:
            out.append(("email", address, False, str(exc)))
    if targets.webhook:
        try:
            with runtime.http_client() as client:
                status, final = webhooks.deliver_json(
                    client,
                    targets.webhook,
                    digest.as_dict() | {"text": digest.text(s.base_url)},
                    allow_private=s.allow_private_webhooks,
                )
            out.append(("webhook", targets.webhook, True, f"HTTP {status} {final}"))
        except DeliveryError as exc:
            out.append(("webhook", targets.webhook, False, str(exc)))
    return out
