"""GitHub webhook intake: check the signature, count a delivery once, store what it carries in one
transaction (the caller commits)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mamori.core.errors import Forbidden, InvalidInput, Problem, Unauthenticated, ValidationFailed
from mamori.core.events import EventBus
from mamori.delivery import kinds
from mamori.delivery.kinds import DeliveryPolicySpec
from mamori.delivery.models import DeliveryWebhook
from mamori.delivery.parsers import github
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


def accept_github(
    session: Session,
    *,
    bus: EventBus,
    secret: bytes,
    request: WebhookRequest,
    now: datetime,
    policy: DeliveryPolicySpec | None = None,
) -> Intake:
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
    action = payload.get("action") if isinstance(payload, dict) else None
    if event not in github.EVENTS:
        fresh = _claim(
            session, delivery_id=delivery_id, event=event, action=action, repo=None, outcome="ignored", now=now
        )
        return Intake("ignored" if fresh else "duplicate", delivery_id, event, {})
    try:
        parsed = github.parse(event, payload)
    except github.PayloadError as exc:
        raise ValidationFailed(
            f"the {event} payload cannot be read", problems=[Problem(loc=exc.path, msg=exc.msg)]
        ) from None
    if not _claim(
        session, delivery_id=delivery_id, event=event, action=action, repo=parsed.repo, outcome="stored", now=now
    ):
        return Intake("duplicate", delivery_id, event, {})
    policy = policy if policy is not None else kinds.policy(session)
    stored = Store(session=session, policy=policy, bus=bus, source=SOURCE, now=now).add(parsed.records)
    return Intake("stored", delivery_id, event, dict(stored.counts))


_CLAIMS: dict[str, Any] = {}
_WEBHOOKS = cast(Table, DeliveryWebhook.__table__)


def _claim_statement(dialect: str) -> Any:
    """The receipt's INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect (the values are
    the execute's parameters)."""
    statement = _CLAIMS.get(dialect)
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = _CLAIMS[dialect] = (
            insert(_WEBHOOKS).on_conflict_do_nothing(index_elements=["source", "delivery_id"]).returning(_WEBHOOKS.c.id)
        )
    return statement


def _claim(
    session: Session,
    *,
    delivery_id: str,
    event: str,
    action: object,
    repo: str | None,
    outcome: str,
    now: datetime,
) -> bool:
    """Write the receipt, unless this delivery id has one: True when this copy is the first. One statement
    (INSERT ... ON CONFLICT DO NOTHING), so two copies arriving at once are still counted once."""
    values = {
        "source": SOURCE,
        "delivery_id": delivery_id[:100],
        "event": event[:60],
        "action": action[:60] if isinstance(action, str) else None,
        "repo": repo,
        "outcome": outcome,
        "received_at": now,
    }
    statement = _claim_statement(session.get_bind().dialect.name)
    # Core, not the ORM's bulk insert path (which costs more than the statement); in the session's transaction
    claimed = (
        session.connection().execute(statement, values).first() is not None
    )  # RETURNING gives no row when the key was taken
    if not claimed:
        log.info("GitHub delivery %s seen before; counted once", delivery_id)
    return claimed
