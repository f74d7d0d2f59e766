"""Evaluation counts per environment, flag and variant: gathered in memory, flushed to the database by a job."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from mamori.core.runtime import Runtime
from mamori.flags.models import FlagEvaluationCount

logger = logging.getLogger(__name__)
Key = tuple[str, str, str]


class EvaluationCounter:
    """Thread-safe tallies; `drain` hands them over and starts afresh (one flush per process and interval)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()

    def add(self, environment: str, flag_key: str, variant: str | None, n: int = 1) -> None:
        with self._lock:
            self._counts[(environment, flag_key, variant or "")] += n

    def add_all(self, environment: str, resolved: list[tuple[str, str | None]]) -> None:
        """One evaluation of each (flag key, variant), under one lock (a bulk evaluation)."""
        with self._lock:
            for flag_key, variant in resolved:
                self._counts[(environment, flag_key, variant or "")] += 1

    def drain(self) -> Counter[Key]:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts


def record(session: Session, counts: Counter[Key], *, now: datetime) -> int:
    """Add tallies to the per-day rows; returns how many evaluations were stored.

    One upsert that adds in the database (`count = count + n`), so writers in several processes at once
    neither lose each other's counts nor collide creating a day's row; keys go in one order, so two
    writers never wait on each other in a cycle."""
    day = now.date().isoformat()
    positive = sorted((key, n) for key, n in counts.items() if n > 0)
    if not positive:
        return 0
    rows = [
        {"environment": e, "flag_key": k, "variant": v, "day": day, "count": n, "last_at": now}
        for (e, k, v), n in positive
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FlagEvaluationCount).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["environment", "flag_key", "variant", "day"],
        set_={"count": FlagEvaluationCount.count + statement.excluded.count, "last_at": statement.excluded.last_at},
    )
    session.execute(statement)
    return sum(n for _, n in positive)


def last_evaluated(session: Session, *, environment: str) -> dict[str, datetime]:
    rows = session.execute(
        select(FlagEvaluationCount.flag_key, FlagEvaluationCount.last_at).where(
            FlagEvaluationCount.environment == environment
        )
    ).all()
    out: dict[str, datetime] = {}
    for key, at in rows:
        if key not in out or at > out[key]:
            out[key] = at
    return out


FLUSH_SECONDS = 10.0
"""OFREP counts are written at most this often per process (and at shutdown, and by the periodic job)."""


class CountBuffer:
    """One runtime's OFREP tallies: written to its database at most every `interval` seconds, and on exit.

    `add` only counts; the edge calls `flush_if_due` (off the event loop). A failed write puts the
    tallies back for the next attempt, so counts are lost only if the process dies without exiting.
    """

    def __init__(self, sessions: sessionmaker[Session], now: Callable[[], datetime], interval: float) -> None:
        self.sessions, self.now, self.interval = sessions, now, interval
        self.counter = EvaluationCounter()
        self._last = time.monotonic()
        self._writing = threading.Lock()
        atexit.register(_flush_at_exit, weakref.ref(self))

    def add(self, environment: str, flag_key: str, variant: str | None, n: int = 1) -> None:
        self.counter.add(environment, flag_key, variant, n)

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.interval

    def flush_if_due(self) -> int:
        return self.flush() if self.due() else 0

    def flush(self) -> int:
        """Write the tallies now (one writer at a time; a concurrent call returns 0 at once)."""
        if not self._writing.acquire(blocking=False):
            return 0
        try:
            self._last = time.monotonic()
            tally = self.counter.drain()
            if not tally:
                return 0
            try:
                with self.sessions.begin() as session:
                    return record(session, tally, now=self.now())
            except Exception:
                for (environment, key, variant), n in tally.items():
                    self.counter.add(environment, key, variant, n)
                raise
        finally:
            self._writing.release()


def buffer_for(runtime: Runtime) -> CountBuffer:
    """The runtime's count buffer (one per runtime, so that tests on separate databases never share one)."""
    return runtime.state(CountBuffer)


def new_buffer(runtime: Runtime) -> CountBuffer:
    """The factory behind the runtime's count buffer (`Plugin.states`)."""
    return CountBuffer(runtime.sessions, runtime.now, FLUSH_SECONDS)


def _flush_at_exit(ref: weakref.ref[CountBuffer]) -> None:
    buffer = ref()
    if buffer is None:
        return
    try:
        buffer.flush()
    except Exception as exc:
        logger.warning("could not store evaluation counts at exit: %s", type(exc).__name__)
