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

from mamori.core.errors import ValidationFailed
from mamori.core.runtime import Runtime
from mamori.integrations import DeliveryError
from mamori.integrations.notify import Message, Notifiers
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
            .where(VulnFinding.state.in_(OPEN_STATES), VulnFinding.kind != "drill")  # drills are not news
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
    message = _message(digest, text)
    planned: list[tuple[str, str, str, Callable[[], str]]] = []
    if targets.slack_channel:
        slack_channel = targets.slack_channel
        planned.append(("slack", slack_channel, "slack", partial(_send, runtime, "slack", slack_channel, message)))
    for address in targets.email:
        planned.append(("email", address, f"email {address}", partial(_send, runtime, "email", address, message)))
    if targets.webhook:
        planned.append(
            ("webhook", targets.webhook, "webhook", partial(_send, runtime, "webhook", targets.webhook, message))
        )
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


def _message(digest: Digest, text: str) -> Message:
    """The digest as a message: its first line is the title (the mail's subject), the rest the lines."""
    title, *lines = text.splitlines() or ["Mamori vulnerability digest"]
    return Message(
        kind="vulns.digest", title=title, lines=tuple(lines), data=digest.as_dict() | {"text": text}, fallback=text
    )


def _send(runtime: Runtime, channel: str, target: str, message: Message) -> str:
    """One target through the shared notifiers; any failure becomes the RuntimeError `deliver` records."""
    try:
        return runtime.state(Notifiers).get(channel).send(message, target)
    except ValidationFailed as exc:
        raise RuntimeError(exc.detail) from None
    except DeliveryError as exc:
        raise RuntimeError(str(exc)) from None
