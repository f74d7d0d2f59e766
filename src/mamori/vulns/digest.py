"""The weekly digest: new findings, those due soon and those overdue, sent to Slack, email or a webhook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.runtime import Runtime
from mamori.integrations import DeliveryError, webhooks
from mamori.integrations.email import send_email
from mamori.integrations.slack import SlackClient
from mamori.vulns import kinds
from mamori.vulns.models import VulnFinding
from mamori.vulns.states import OPEN_STATES

log = logging.getLogger(__name__)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Digest:
    since: datetime
    new: list[VulnFinding]
    due_soon: list[VulnFinding]
    overdue: list[VulnFinding]

    def text(self, base_url: str) -> str:
        lines = [f"Mamori vulnerability digest since {self.since.date().isoformat()}"]
        for title, rows in (("New", self.new), ("Due within 7 days", self.due_soon), ("Overdue", self.overdue)):
            lines.append(f"\n{title}: {len(rows)}")
            for f in rows[:20]:
                due = f" due {f.due_at.date().isoformat()}" if f.due_at else ""
                lines.append(f"- [{f.priority}] {f.title}{due} {base_url.rstrip('/')}/vulns/findings/{f.id}")
            if len(rows) > 20:
                lines.append(f"- ... and {len(rows) - 20} more")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        def rows(fs: list[VulnFinding]) -> list[dict[str, Any]]:
            return [
                {
                    "id": f.id,
                    "title": f.title,
                    "priority": f.priority,
                    "state": f.state,
                    "due_at": f.due_at.isoformat() if f.due_at else None,
                }
                for f in fs
            ]

        return {
            "since": self.since.isoformat(),
            "new": rows(self.new),
            "due_soon": rows(self.due_soon),
            "overdue": rows(self.overdue),
        }


def compose(session: Session, *, now: datetime) -> Digest:
    since = now - WEEK
    open_rows = list(
        session.scalars(
            select(VulnFinding)
            .where(VulnFinding.state.in_(OPEN_STATES))
            .order_by(VulnFinding.priority, VulnFinding.due_at)
        )
    )
    return Digest(
        since=since,
        new=[f for f in open_rows if f.first_seen_at >= since],
        due_soon=[f for f in open_rows if f.due_at is not None and now <= f.due_at < now + WEEK],
        overdue=[f for f in open_rows if f.due_at is not None and f.due_at < now],
    )


@dataclass(frozen=True)
class Attempt:
    """One target's delivery: the receipt when it went out, the reason when it did not."""

    channel: str
    target: str
    ok: bool
    detail: str
    label: str
    """How the target is named in an error ("slack", "email a@b", "webhook")."""


def deliver(runtime: Runtime, digest: Digest, *, targets: kinds.Digest) -> list[Attempt]:
    """Deliver to every configured target; one failing target spares the others."""
    s = runtime.settings
    text = digest.text(s.base_url)
    planned: list[tuple[str, str, str, Callable[[], str]]] = []
    if targets.slack_channel:
        slack_channel = targets.slack_channel
        planned.append(("slack", slack_channel, "slack", lambda: _slack(runtime, slack_channel, text)))
    for address in targets.email:
        planned.append(("email", address, f"email {address}", partial(_email, runtime, address, text)))
    if targets.webhook:
        url, body = targets.webhook, digest.as_dict() | {"text": text}
        planned.append(("webhook", url, "webhook", partial(_webhook, runtime, url, body)))
    attempts = []
    for kind, target, label, send_one in planned:
        try:
            attempts.append(Attempt(kind, target, True, send_one(), label))
        except RuntimeError as exc:
            attempts.append(Attempt(kind, target, False, str(exc), label))
    return attempts


def send(runtime: Runtime, digest: Digest, *, targets: kinds.Digest) -> tuple[list[str], list[str]]:
    """Deliver to every configured target; returns (receipts, errors)."""
    attempts = deliver(runtime, digest, targets=targets)
    return [a.detail for a in attempts if a.ok], [f"{a.label}: {a.detail}" for a in attempts if not a.ok]


def _slack(runtime: Runtime, channel: str, text: str) -> str:
    s = runtime.settings
    if s.slack_token is None:
        raise RuntimeError("no slack_token is configured")
    client = SlackClient(client=runtime.http_client, token=s.slack_token.get_secret_value(), api_url=s.slack_api_url)
    try:
        answer = client.post_message(channel, text)
    except DeliveryError as exc:
        raise RuntimeError(str(exc)) from None
    return f"slack:{channel}:{answer.get('ts', '')}"


def _email(runtime: Runtime, address: str, text: str) -> str:
    s = runtime.settings
    if not s.smtp_host:
        raise RuntimeError("no smtp_host is configured")
    try:
        send_email(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.smtp_from,
            to=[address],
            subject="Mamori vulnerability digest",
            text=text,
        )
    except DeliveryError as exc:
        raise RuntimeError(str(exc)) from None
    return f"smtp:{address}"


def _webhook(runtime: Runtime, url: str, payload: dict[str, Any]) -> str:
    """POST the digest through Mamori's one webhook policy (`integrations.webhooks.deliver_json`)."""
    try:
        with runtime.http_client() as client:
            _, final = webhooks.deliver_json(
                client, url, payload, allow_private=runtime.settings.allow_private_webhooks
            )
    except DeliveryError as exc:
        raise RuntimeError(str(exc)) from None
    return f"webhook:{final}"
