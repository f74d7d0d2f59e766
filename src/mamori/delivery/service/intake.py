"""GitHub webhook intake: check the signature, count a delivery once, store what it carries in one
transaction (the caller commits)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.core.errors import Forbidden, InvalidInput, Problem, Unauthenticated, ValidationFailed
from mamori.core.events import EventBus
from mamori.delivery import github, kinds
from mamori.delivery.models import DeliveryWebhook
from mamori.delivery.service.store import Store

log = logging.getLogger(__name__)
SOURCE = "github"


@dataclass(frozen=True)
class Intake:
    status: str  # stored | duplicate | ignored | pong
    delivery_id: str | None
    event: str
    records: dict[str, int]


@dataclass(frozen=True)
class WebhookRequest:
    event: str | None
    delivery_id: str | None
    signature: str | None
    body: bytes


def accept_github(session: Session, *, bus: EventBus, secret: bytes, request: WebhookRequest, now: datetime) -> Intake:
    """Verify and store one GitHub delivery. Raises a 401/403 for a missing or wrong signature, 400 for a
    body that is not JSON or headers that are missing, 422 for a payload without a field Mamori needs;
    nothing is written then. A delivery id seen before is answered `duplicate` and changes nothing."""
    try:
        github.verify(secret, request.body, request.signature)
    except github.SignatureError as exc:
        raise (Unauthenticated if exc.missing else Forbidden)(str(exc)) from None
    event = (request.event or "").strip()
    if not event:
        raise InvalidInput("the request has no X-GitHub-Event header")
    if event == "ping":
        return Intake("pong", request.delivery_id, event, {})
    delivery_id = (request.delivery_id or "").strip()
    if not delivery_id:
        raise InvalidInput("the request has no X-GitHub-Delivery header (GitHub sends one with every delivery)")
    try:
        payload = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    if _seen(session, delivery_id):
        return Intake("duplicate", delivery_id, event, {})
    action = payload.get("action") if isinstance(payload, dict) else None
    if event not in github.EVENTS:
        return _receipt(
            session, delivery_id=delivery_id, event=event, action=action, repo=None, outcome="ignored", now=now
        ) or Intake("ignored", delivery_id, event, {})
    try:
        parsed = github.parse(event, payload)
    except github.PayloadError as exc:
        raise ValidationFailed(
            f"the {event} payload cannot be read", problems=[Problem(loc=exc.path, msg=exc.msg)]
        ) from None
    duplicate = _receipt(
        session, delivery_id=delivery_id, event=event, action=action, repo=parsed.repo, outcome="stored", now=now
    )
    if duplicate is not None:
        return duplicate
    stored = Store(session=session, policy=kinds.policy(session), bus=bus, source=SOURCE, now=now).add(parsed.records)
    return Intake("stored", delivery_id, event, dict(stored.counts))


def _seen(session: Session, delivery_id: str) -> bool:
    return (
        session.scalar(
            select(DeliveryWebhook.id).where(
                DeliveryWebhook.source == SOURCE, DeliveryWebhook.delivery_id == delivery_id
            )
        )
        is not None
    )


def _receipt(
    session: Session,
    *,
    delivery_id: str,
    event: str,
    action: object,
    repo: str | None,
    outcome: str,
    now: datetime,
) -> Intake | None:
    """Write the receipt first, in a savepoint: a concurrent copy of the same delivery loses the race on the
    unique key and is answered `duplicate` (None when this one is first)."""
    try:
        with session.begin_nested():
            session.add(
                DeliveryWebhook(
                    source=SOURCE,
                    delivery_id=delivery_id[:100],
                    event=event[:60],
                    action=str(action)[:60] if isinstance(action, str) else None,
                    repo=repo,
                    outcome=outcome,
                    received_at=now,
                )
            )
    except IntegrityError:
        log.info("GitHub delivery %s arrived twice at once; counted once", delivery_id)
        return Intake("duplicate", delivery_id, event, {})
    return None
