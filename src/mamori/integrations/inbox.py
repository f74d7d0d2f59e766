"""The demo's inbox: where the messages and tickets of a demo go when no real email, Slack or tracker is set.

`mamori demo` (and the browser tests, which run the demo as it is served) put an `Inbox` in the runtime
and route every channel and tracker that settings leave unconfigured into it, so that a visitor sees the
whole loop (burn -> alert -> page -> one-click ack) on the dashboard's Inbox page. Configured channels
keep their real notifier. The inbox lives in memory, as long as the process: it is a demo's, not a log
(the delivery log, `core/deliveries.py`, records every attempt durably either way).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mamori.integrations.notify import Message, Notifiers
from mamori.integrations.tickets import Ticket as FiledTicket
from mamori.integrations.tickets import TicketRequest, Trackers

KEEP = 500
"""The newest messages kept; older ones drop off."""


@dataclass(frozen=True)
class Received:
    """One message or ticket as the inbox got it."""

    number: int
    at: datetime
    channel: str
    target: str
    title: str
    severity: str | None
    lines: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    kind: str
    updated: bool = False


@dataclass
class Inbox:
    """What the demo's channels received, newest last; thread-safe (the worker thread sends)."""

    items: deque[Received] = field(default_factory=lambda: deque(maxlen=KEEP))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    def add(self, **fields: object) -> Received:
        with self._lock:
            self._count += 1
            item = Received(number=self._count, at=datetime.now(UTC), **fields)  # type: ignore[arg-type]
            self.items.append(item)
            return item

    def newest_first(self, *, channel: str | None = None) -> list[Received]:
        with self._lock:
            items = list(self.items)
        return [i for i in reversed(items) if channel is None or i.channel == channel]


@dataclass
class InboxNotifier:
    """A channel (email, Slack) that delivers into the inbox."""

    channel: str
    inbox: Inbox

    def send(self, message: Message, target: str) -> str:
        item = self._add(message, target, updated=False)
        return f"inbox:{self.channel}:{item.number}"

    def update(self, message: Message, message_ref: str) -> str:
        self._add(message, message_ref, updated=True)
        return message_ref

    def _add(self, message: Message, target: str, *, updated: bool) -> Received:
        return self.inbox.add(
            channel=self.channel,
            target=target,
            title=message.title,
            severity=message.severity,
            lines=tuple(message.lines),
            links=tuple(message.links),
            kind=message.kind,
            updated=updated,
        )


@dataclass
class InboxTracker:
    """A ticket tracker (Jira, GitHub) that files into the inbox; idempotent by the request's marker."""

    name: str
    inbox: Inbox
    filed: dict[tuple[str, str], FiledTicket] = field(default_factory=dict)

    def find(self, project: str, marker: str) -> FiledTicket | None:
        ticket = self.filed.get((project, marker))
        return None if ticket is None else FiledTicket(ticket.key, ticket.url, existing=True)

    def create(self, project: str, request: TicketRequest) -> FiledTicket:
        number = len(self.filed) + 1
        key = f"{project}-{number}" if self.name == "jira" else f"{project}#{number}"
        item = self.inbox.add(
            channel=self.name,
            target=project,
            title=f"{key} {request.title}",
            severity=None,
            lines=(request.body, *(f"{name}: {value}" for name, value in request.facts)),
            links=(),
            kind="ticket",
        )
        ticket = FiledTicket(key, f"/inbox#message-{item.number}")
        self.filed[(project, request.marker)] = ticket
        return ticket


def route_unconfigured(inbox: Inbox, notifiers: Notifiers, trackers: Trackers) -> tuple[Notifiers, Trackers]:
    """The same notifiers and trackers, with each channel or tracker that settings leave unconfigured
    delivering into `inbox` instead of failing."""
    channels = dict(notifiers.by_channel)
    for channel in notifiers.missing:
        channels[channel] = InboxNotifier(channel, inbox)
    given = dict(trackers.given)
    for name in trackers.missing:
        given[name] = InboxTracker(name, inbox)
    return Notifiers(channels, {}), Trackers(given, {})
