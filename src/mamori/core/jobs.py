"""Durable jobs in the state store: at a time, after a delay or periodically; leased, fenced, retried.

How a job runs exactly once:

1. A worker claims a due job in a short transaction (``FOR UPDATE SKIP LOCKED``
   on PostgreSQL; SQLite serialises writers) and stamps it with a claim token and
   a lease.
2. The handler runs in a second transaction. The job is marked done *in that same
   transaction*, guarded by the claim token. If the worker dies (even SIGKILL),
   the transaction never commits, the lease runs out and another worker claims
   the job again. If a lease ran out while a slow handler was still going and a
   second worker re-claimed, the first one's guarded update matches no row and
   its whole transaction rolls back, so the database sees the handler's work once.
3. Effects outside the database (an e-mail, a Jira ticket) are at least once;
   handlers make them idempotent with the job id or a key of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.models import Job, PeriodicJob

if TYPE_CHECKING:
    from mamori.core.runtime import Runtime

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5.0
PRIORITY_PAGE = 10
"""Escalation steps and page sends: claimed before any other due job, so an alert storm never delays a page."""
PRIORITY_INTAKE = 50
"""Turning accepted alert payloads into alerts: after pages, before everything else."""
PRIORITY_DEFAULT = 100
BACKOFF_MAX_SECONDS = 3600.0


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help; the job fails at once."""


@dataclass
class JobContext:
    """What a handler gets: its own session (committed with the job's completion) and the runtime."""

    session: Session
    job_id: int
    attempt: int
    now: datetime
    runtime: Runtime
    failure_hooks: list[Callable[[Session], None]] = field(default_factory=list)
    """Writes that must be kept even when the handler fails and its session rolls back (a failed delivery
    is logged this way); they run in the transaction that records the job's failure."""

    def on_failure(self, write: Callable[[Session], None]) -> None:
        self.failure_hooks.append(write)


JobHandler = Callable[[JobContext, dict[str, Any]], None]
P = TypeVar("P", bound=BaseModel)


class Payload(BaseModel):
    """Base of every job payload model: unknown fields are an error, so a renamed field cannot pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoPayload(Payload):
    """The payload of a job that takes nothing (most periodic jobs)."""


_MODELS: dict[str, type[BaseModel]] = {}
"""Payload model of every defined job kind, so `enqueue` can check a payload without a runtime."""
_PRIORITIES: dict[str, int] = {}
"""Priority of every job kind that declares one (`JobKind.priority`); others get PRIORITY_DEFAULT."""


@dataclass(frozen=True)
class JobKind(Generic[P]):
    """One kind of job: its name, the pydantic model of its payload and its handler.

    A domain defines its kinds in its `jobs` module and lists them in `JOBS`; the payload is validated
    when the job is enqueued and again when it is claimed (a row written by an older version may not fit).
    """

    kind: str
    payload: type[P]
    handler: Callable[[JobContext, P], None]
    priority: int = PRIORITY_DEFAULT
    """Among due jobs, lower is claimed first (PRIORITY_PAGE, PRIORITY_INTAKE, PRIORITY_DEFAULT)."""

    def __post_init__(self) -> None:
        _MODELS[self.kind] = self.payload
        if self.priority != PRIORITY_DEFAULT:
            _PRIORITIES[self.kind] = self.priority

    def __call__(self, ctx: JobContext, raw: dict[str, Any]) -> None:
        try:
            payload = self.payload.model_validate(raw)
        except ValidationError as exc:
            raise PermanentJobError(
                f"job {self.kind!r}: stored payload does not fit {self.payload.__name__}: {exc}"
            ) from exc
        self.handler(ctx, payload)


def priority_of(kind: str) -> int:
    return _PRIORITIES.get(kind, PRIORITY_DEFAULT)


def payload_for(kind: str, payload: BaseModel | dict[str, Any] | None) -> dict[str, Any]:
    """The JSON to store for a job of `kind`; raises ValueError naming the kind when it does not fit its model."""
    model = _MODELS.get(kind)
    if isinstance(payload, BaseModel):
        if model is not None and not isinstance(payload, model):
            raise ValueError(f"job {kind!r} takes a {model.__name__} payload, not {type(payload).__name__}")
        return payload.model_dump(mode="json")
    raw = dict(payload or {})
    if model is None:
        return raw
    try:
        return model.model_validate(raw).model_dump(mode="json")
    except ValidationError as exc:
        raise ValueError(f"job {kind!r}: payload does not fit {model.__name__}: {exc}") from exc


@dataclass
class JobRegistry:
    """Explicit map of job kinds to handlers; a job of an unknown kind fails with a clear error."""

    handlers: dict[str, JobHandler] = field(default_factory=dict)

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self.handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self.handlers[kind] = handler

    def add(self, job: JobKind[Any]) -> None:
        """Register a typed job kind; its handler gets the validated payload model."""
        self.register(job.kind, job)


def backoff(attempt: int) -> timedelta:
    """Delay before retry number `attempt` (1-based): 5s, 10s, 20s, ... capped at an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0), BACKOFF_MAX_SECONDS))


def enqueue(
    session: Session,
    *,
    kind: str,
    now: datetime,
    payload: BaseModel | dict[str, Any] | None = None,
    run_at: datetime | None = None,
    delay: timedelta | None = None,
    max_attempts: int = 5,
    dedupe_key: str | None = None,
    priority: int | None = None,
) -> Job:
    """Store a job. With a `dedupe_key` already used, the existing job is returned and nothing is added.

    A typed kind's payload is checked against its model here (ValueError when it does not fit). The
    priority is the kind's (`JobKind.priority`) unless given."""
    stored = payload_for(kind, payload)
    if dedupe_key is not None:
        existing = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    when = run_at or (now + delay if delay is not None else now)
    job = Job(
        kind=kind,
        priority=priority_of(kind) if priority is None else priority,
        payload=stored,
        status="queued",
        run_at=when,
        attempts=0,
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def cancel(session: Session, *, job_id: int, now: datetime) -> bool:
    """Cancel a queued job; a running or finished one is left alone."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued").values(status="cancelled", finished_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def schedule_periodic(
    session: Session,
    *,
    name: str,
    kind: str,
    interval: timedelta,
    now: datetime,
    payload: BaseModel | dict[str, Any] | None = None,
    first_run_at: datetime | None = None,
) -> PeriodicJob:
    """Create or update a periodic schedule; changing it keeps the next run unless the interval changed."""
    payload = payload_for(kind, payload)
    seconds = int(interval.total_seconds())
    if seconds <= 0:
        raise ValueError("a periodic job needs a positive interval")
    current = session.get(PeriodicJob, name)
    if current is None:
        current = PeriodicJob(
            name=name,
            kind=kind,
            payload=payload or {},
            interval_seconds=seconds,
            next_run_at=first_run_at or now,
            enabled=True,
        )
        session.add(current)
    else:
        if current.interval_seconds != seconds:
            current.next_run_at = first_run_at or now
        current.kind, current.payload, current.interval_seconds = kind, payload or {}, seconds
    session.flush()
    return current


def enqueue_due_periodic(session: Session, *, now: datetime) -> int:
    """Turn due periodic schedules into jobs; each tick becomes one job even with several workers."""
    created = 0
    due = session.scalars(
        select(PeriodicJob).where(PeriodicJob.enabled.is_(True), PeriodicJob.next_run_at <= now)
    ).all()
    for periodic in due:
        tick = periodic.next_run_at
        step = timedelta(seconds=periodic.interval_seconds)
        missed = int((now - tick) / step)
        following = tick + step * (missed + 1)
        moved = session.execute(
            update(PeriodicJob)
            .where(PeriodicJob.name == periodic.name, PeriodicJob.next_run_at == tick)
            .values(next_run_at=following)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            continue
        enqueue(
            session,
            kind=periodic.kind,
            now=now,
            payload=dict(periodic.payload),
            dedupe_key=f"periodic:{periodic.name}:{tick.isoformat()}",
        )
        created += 1
    return created


@dataclass(frozen=True)
class QueueStats:
    queued: int
    due: int
    running: int
    failed: int
    lag_seconds: float


def stats(session: Session, *, now: datetime) -> QueueStats:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    counts: dict[str, int] = {status: n for status, n in rows}
    due = session.scalar(select(func.count()).where(Job.status == "queued", Job.run_at <= now)) or 0
    oldest = session.scalar(select(func.min(Job.run_at)).where(Job.status == "queued", Job.run_at <= now))
    lag = (now - oldest).total_seconds() if oldest is not None else 0.0
    return QueueStats(
        queued=counts.get("queued", 0),
        due=due,
        running=counts.get("running", 0),
        failed=counts.get("failed", 0),
        lag_seconds=max(lag, 0.0),
    )


def list_jobs(session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 200) -> list[Job]:
    query = select(Job)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


def retry(session: Session, *, job_id: int, now: datetime, actor: Actor | None = None) -> bool:
    """Put a failed job back in the queue with a fresh attempt budget; audited when a person asked for it.
    False when there is no failed job with that id."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "failed")
        .values(status="queued", run_at=now, attempts=0, finished_at=None)
    )
    if not getattr(result, "rowcount", 0):
        return False
    if actor is not None:
        audit.record(session, actor=actor, action="retry", object_type="Job", object_id=str(job_id), at=now)
    return True
