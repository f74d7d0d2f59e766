"""The delivery log: every outbound attempt of every domain (pages, notifications, tickets, webhooks) in one
place, with what was sent, to whom, when, whether it was delivered and why not, and which attempt it was.

A domain records an attempt in the transaction that keeps its effect (the job that sent it), so the log
and the domain's own state never disagree; a failure is recorded as a failure and never counted as sent.
Subjects name what the delivery was about, `<domain>:<kind>:<id>`, so a page can show its own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.jobs import JobContext
from mamori.core.models import Delivery

KINDS = ("page", "notification", "ticket", "webhook", "digest")
MAX_DETAIL = 2000


def record(
    session: Session,
    *,
    at: datetime,
    source: str,
    kind: str,
    channel: str,
    target: str,
    subject: str,
    ok: bool,
    detail: str = "",
    attempt: int = 1,
) -> Delivery:
    """Log one attempt; `detail` is the receipt when delivered, the reason when not."""
    if kind not in KINDS:
        raise ValueError(f"delivery kind must be one of {', '.join(KINDS)}, not {kind!r}")
    row = Delivery(
        at=at,
        source=source[:32],
        kind=kind,
        channel=channel[:32],
        target=target[:500],
        subject=subject[:300],
        ok=ok,
        detail=detail[:MAX_DETAIL],
        attempt=attempt,
    )
    session.add(row)
    return row


def attempt(
    ctx: JobContext,
    *,
    source: str,
    kind: str,
    channel: str,
    target: str,
    subject: str,
    ok: bool,
    detail: str = "",
) -> None:
    """Log an attempt made by a job: in the job's transaction, and (for a failure) again in the transaction
    that records the job's failure, so a failed send is logged even when the job then fails and rolls back."""
    fields = {"source": source, "kind": kind, "channel": channel, "target": target, "subject": subject}
    record(ctx.session, at=ctx.now, ok=ok, detail=detail, attempt=ctx.attempt, **fields)
    if not ok:

        def again(session: Session) -> None:
            record(session, at=ctx.now, ok=False, detail=detail, attempt=ctx.attempt, **fields)

        ctx.on_failure(again)


def for_subject(session: Session, subject: str, *, limit: int = 100) -> list[Delivery]:
    """The attempts about one subject (or every subject under a prefix ending in ':'), newest first."""
    query = select(Delivery)
    query = (
        query.where(Delivery.subject.startswith(subject, autoescape=True))
        if subject.endswith(":")
        else query.where(Delivery.subject == subject)
    )
    return list(session.scalars(query.order_by(Delivery.at.desc(), Delivery.id.desc()).limit(limit)))


def search(
    session: Session,
    *,
    source: str | None = None,
    kind: str | None = None,
    ok: bool | None = None,
    subject: str | None = None,
    limit: int = 200,
) -> list[Delivery]:
    query = select(Delivery)
    if source:
        query = query.where(Delivery.source == source)
    if kind:
        query = query.where(Delivery.kind == kind)
    if ok is not None:
        query = query.where(Delivery.ok.is_(ok))
    if subject:
        query = query.where(Delivery.subject.startswith(subject, autoescape=True))
    return list(session.scalars(query.order_by(Delivery.at.desc(), Delivery.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Totals:
    delivered: int
    failed: int


def totals(session: Session, *, since: datetime | None = None) -> Totals:
    query = select(Delivery.ok, func.count()).group_by(Delivery.ok)
    if since is not None:
        query = query.where(Delivery.at >= since)
    counts = dict(session.execute(query).all())
    return Totals(delivered=int(counts.get(True, 0)), failed=int(counts.get(False, 0)))
