"""The event bus: a domain publishes typed events; subscribers get them as durable jobs.

Publishing inside a transaction enqueues one delivery job per subscriber in that
same transaction (an outbox), so an event is delivered if and only if the change
that raised it committed, and a subscriber's work commits together with the
delivery's completion. Subscriptions are made in one place, `mamori.wiring`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from mamori.core import jobs
from mamori.core.jobs import JobContext, PermanentJobError

DELIVER_JOB = "events.deliver"


class Event(BaseModel):
    """Base of every published event; subclasses set `type` to "<domain>.<name>"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str] = "event"
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)


E = TypeVar("E", bound=Event)
Subscriber = Callable[[JobContext, Any], None]


@dataclass
class _Subscription:
    name: str
    event_cls: type[Event]
    handler: Subscriber


@dataclass
class EventBus:
    subscriptions: dict[str, list[_Subscription]] = field(default_factory=dict)
    by_name: dict[str, _Subscription] = field(default_factory=dict)

    def subscribe(self, event_cls: type[E], name: str, handler: Callable[[JobContext, E], None]) -> None:
        """Deliver every `event_cls` to `handler`; `name` identifies the subscription in jobs and logs."""
        if name in self.by_name:
            raise ValueError(f"subscription {name!r} made twice")
        sub = _Subscription(name=name, event_cls=event_cls, handler=handler)
        self.subscriptions.setdefault(event_cls.type, []).append(sub)
        self.by_name[name] = sub

    def publish(self, session: Session, event: Event, *, now: datetime) -> int:
        """Enqueue a delivery for each subscriber; returns how many. Call inside the change's transaction."""
        count = 0
        for sub in self.subscriptions.get(event.type, []):
            jobs.enqueue(
                session,
                kind=DELIVER_JOB,
                now=now,
                payload={"subscriber": sub.name, "type": event.type, "data": event.model_dump(mode="json")},
                dedupe_key=f"event:{event.event_id}:{sub.name}",
                max_attempts=8,
            )
            count += 1
        return count

    def deliver(self, ctx: JobContext, payload: dict[str, Any]) -> None:
        """The job handler behind `events.deliver`."""
        sub = self.by_name.get(str(payload.get("subscriber")))
        if sub is None:
            raise PermanentJobError(f"no subscriber named {payload.get('subscriber')!r}")
        sub.handler(ctx, sub.event_cls.model_validate(payload["data"]))
