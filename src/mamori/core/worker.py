"""The job worker: claims due jobs under a lease, runs their handlers, fences a lost lease, retries with
backoff, and keeps the writes a failed handler asked to keep (see `mamori.core.jobs` for how a job runs once).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from mamori.core.clock import Clock
from mamori.core.jobs import PRIORITY_PAGE, JobContext, PermanentJobError, backoff, enqueue_due_periodic
from mamori.core.models import Job

if TYPE_CHECKING:
    from mamori.core.runtime import Runtime

log = logging.getLogger(__name__)

_NUDGES: weakref.WeakSet[threading.Event] = weakref.WeakSet()
IDLE_SLICE_SECONDS = 0.05
CLAIM_BATCH = 8
"""Due page jobs claimed in one transaction (their leases start together)."""


class WriteTurn:
    """First-come-first-served turns at one SQLite database's write lock among this process's job workers
    and the intake log. Every SQLite transaction takes the lock up front (`BEGIN IMMEDIATE`), and SQLite's
    busy handler retries by sleeping (up to 100 ms a time), so a worker that commits and begins again at once
    keeps winning and a waiting writer starves. Taking a turn here first hands the lock over in order and
    wakes the next one the moment it is free. No-op on PostgreSQL (row locks, no single writer)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._mutex:
            mine: threading.Lock | None = None
            if self._held:
                mine = threading.Lock()
                mine.acquire()
                self._waiters.append(mine)
            else:
                self._held = True
        if mine is not None:
            mine.acquire()  # released by the holder before us: the turn is ours
        try:
            yield
        finally:
            with self._mutex:
                if self._waiters:
                    self._waiters.popleft().release()
                else:
                    self._held = False


_TURNS: weakref.WeakKeyDictionary[Engine, WriteTurn] = weakref.WeakKeyDictionary()
_TURNS_LOCK = threading.Lock()


@contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """Hold this process's turn at `engine`'s write lock for a transaction (SQLite only; see `WriteTurn`)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _TURNS_LOCK:
        turn = _TURNS.get(engine)
        if turn is None:
            turn = _TURNS[engine] = WriteTurn()
    with turn():
        yield


def wake() -> None:
    """Tell this process's idle workers that a job was just committed (the intake log calls it), so they
    claim it now instead of at their next poll; workers in other processes poll as before."""
    for nudge in list(_NUDGES):
        nudge.set()


@dataclass
class Claim:
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    token: str
    lease_until: datetime


class Worker:
    """Claims and runs due jobs. `run_once` is what tests call; `run_forever` is the server loop."""

    def __init__(self, runtime: Runtime, *, worker_id: str | None = None, lease_seconds: float | None = None) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=lease_seconds or runtime.settings.job_lease_seconds)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.sessions

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def run_once(self, *, limit: int = 100) -> int:
        """Run up to `limit` due jobs, one after another; returns how many were run."""
        with write_turn(self.runtime.engine), self.sessions.begin() as session:
            enqueue_due_periodic(session, now=self.clock.now())
        ran = 0
        while ran < limit:
            claims = self._claim(limit=min(CLAIM_BATCH, limit - ran))
            if not claims:
                break
            for claim in claims:
                if self.clock.now() >= claim.lease_until:  # waited behind the others of its batch too long:
                    continue  # the lease ran out and another worker may hold it now; it is claimable again
                self._execute(claim)
                ran += 1
        return ran

    def run_until_idle(self, *, max_rounds: int = 100) -> int:
        """Run jobs until none is due (jobs may enqueue more); for tests and the CLI."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if ran == 0:
                break
        return total

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.worker_id)
        nudge = threading.Event()
        _NUDGES.add(nudge)
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker loop error; retrying")
                ran = 0
            if ran == 0:
                self._idle(stop, nudge)
        log.info("worker %s stopped", self.worker_id)

    def _idle(self, stop: threading.Event, nudge: threading.Event) -> None:
        """Wait for the next poll, a `wake()` or the stop, whichever comes first."""
        deadline = time.monotonic() + self.runtime.settings.job_poll_seconds
        while not stop.is_set() and not nudge.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            nudge.wait(min(left, IDLE_SLICE_SECONDS))
        nudge.clear()

    def _claim(self, *, limit: int = 1) -> list[Claim]:
        """The due jobs to run next, in one transaction: the lowest priority first (pages before intake work
        before the rest), then the oldest. Up to `limit` page jobs are taken together (one transaction
        instead of one each); other jobs one by one, so that a page that falls due meanwhile waits for one
        job at most (an intake batch, or one event delivery of a storm's backlog)."""
        now = self.clock.now()
        with write_turn(self.runtime.engine), self.sessions.begin() as session:
            claimable = or_(
                (Job.status == "queued") & (Job.run_at <= now),
                (Job.status == "running") & (Job.lease_until < now),
            )
            found = session.scalars(
                select(Job)
                .where(claimable)
                .order_by(Job.priority, Job.run_at, Job.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not found:
                return []
            first = found[0].priority
            taken = [j for j in found if j.priority == first] if first == PRIORITY_PAGE else [found[0]]
            claims = []
            for job in taken:
                job.attempts += 1
                token = f"{self.worker_id}:{job.attempts}:{uuid.uuid4().hex[:8]}"
                job.status, job.locked_by = "running", token
                job.lease_until, job.started_at = now + self.lease, now
                claims.append(
                    Claim(job.id, job.kind, dict(job.payload), job.attempts, job.max_attempts, token, now + self.lease)
                )
            return claims

    def _execute(self, claim: Claim) -> None:
        handler = self.runtime.jobs.handlers.get(claim.kind)
        heartbeat = _Heartbeat(self, claim)
        heartbeat.start()
        ctx: JobContext | None = None
        try:
            if handler is None:
                raise PermanentJobError(f"no handler registered for job kind {claim.kind!r}")
            with write_turn(self.runtime.engine), self.sessions() as session:
                now = self.clock.now()
                ctx = JobContext(session, claim.job_id, claim.attempt, now, self.runtime)
                handler(ctx, claim.payload)
                done = session.execute(
                    update(Job)
                    .where(Job.id == claim.job_id, Job.locked_by == claim.token, Job.status == "running")
                    .values(status="succeeded", finished_at=self.clock.now(), lease_until=None, last_error=None)
                )
                if getattr(done, "rowcount", 0) != 1:
                    session.rollback()
                    log.warning("job %s lost its lease; its work was rolled back", claim.job_id)
                    return
                session.commit()
        except Exception as exc:
            self._fail(claim, exc, hooks=ctx.failure_hooks if ctx is not None else [])
        finally:
            heartbeat.stop()

    def _fail(self, claim: Claim, exc: Exception, *, hooks: list[Callable[[Session], None]] | None = None) -> None:
        now = self.clock.now()
        permanent = isinstance(exc, PermanentJobError) or claim.attempt >= claim.max_attempts
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.warning("job %s (%s) attempt %s failed: %s", claim.job_id, claim.kind, claim.attempt, text)
        with write_turn(self.runtime.engine), self.sessions.begin() as session:
            values: dict[str, Any] = {"last_error": text[:4000], "lease_until": None}
            if permanent:
                values.update(status="failed", finished_at=now)
            else:
                values.update(status="queued", run_at=now + backoff(claim.attempt))
            failed = session.execute(
                update(Job).where(Job.id == claim.job_id, Job.locked_by == claim.token).values(**values)
            )
            if getattr(failed, "rowcount", 0) == 1:  # this worker still holds the job: its failure counts
                for write in hooks or []:
                    write(session)


class _Heartbeat:
    """Extends a running job's lease so that a slow handler is not taken for a dead one."""

    def __init__(self, worker: Worker, claim: Claim) -> None:
        self.worker, self.claim = worker, claim
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{claim.job_id}")

    def start(self) -> None:
        # On SQLite the handler's transaction holds the database's write lock from its
        # first statement, and claiming needs that lock, so no one can take the job over:
        # there is nothing to extend (and the heartbeat would only queue behind the lock).
        if self.worker.runtime.engine.dialect.name != "sqlite":
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        interval = self.worker.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                with self.worker.sessions.begin() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id == self.claim.job_id, Job.locked_by == self.claim.token)
                        .values(lease_until=self.worker.clock.now() + self.worker.lease)
                    )
            except Exception:
                log.exception("could not extend lease of job %s", self.claim.job_id)
