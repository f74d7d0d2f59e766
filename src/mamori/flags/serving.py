"""Serving an environment's flag set: compiled evaluators and per-process snapshots for the OFREP hot path."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mamori.core.errors import NotFound
from mamori.flags.evaluator import FlagEvaluator, Resolution
from mamori.flags.models import FlagEnvironment

logger = logging.getLogger(__name__)


def get_environment(session: Session, *, environment: str, for_update: bool = False) -> FlagEnvironment:
    """An environment's flag set. A read-modify-write passes `for_update`: the row is then re-read and locked
    until the transaction ends (SELECT ... FOR UPDATE on PostgreSQL; a SQLite transaction already holds the
    write lock, ADR 6), so two writers of one environment take turns and neither loses the other's change."""
    if for_update:
        row = session.get(FlagEnvironment, environment, with_for_update=True, populate_existing=True)
    else:
        row = session.get(FlagEnvironment, environment)
    if row is None:
        raise NotFound(f"no flag set for environment {environment!r}")
    return row


def list_environments(session: Session) -> list[FlagEnvironment]:
    return list(session.scalars(select(FlagEnvironment).order_by(FlagEnvironment.environment)))


class EvaluatorCache:
    """Compiled evaluators by (environment, ETag): a flag set is compiled once per change, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_env: dict[str, tuple[str, FlagEvaluator]] = {}

    def get(self, row: FlagEnvironment) -> FlagEvaluator:
        cached = self._by_env.get(row.environment)
        if cached is not None and cached[0] == row.etag:
            return cached[1]
        evaluator = FlagEvaluator(fractional=row.fractional)  # type: ignore[arg-type]
        evaluator.set_flags(row.document)
        with self._lock:
            self._by_env[row.environment] = (row.etag, evaluator)
        return evaluator


EVALUATORS = EvaluatorCache()


@dataclass(frozen=True)
class Snapshot:
    """What OFREP needs of an environment, without a database round trip."""

    environment: str
    etag: str
    version: int
    evaluator: FlagEvaluator
    rate_limit: tuple[int, float] | None = None
    """(requests, per seconds) allowed per SDK key, or None."""


BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mamori-ofrep")
"""Where the OFREP hot path's caches do their database reads, off the event loop (one load per key at a time)."""


class ServingCache:
    """Environment snapshots for the OFREP hot path, kept in memory and refreshed from the database off the hot path.

    A change committed in this process is seen by the next evaluation (the entry's commit count no longer matches,
    so it is loaded again before answering). A change committed by another process is seen within `2 * ttl`: an
    entry older than `ttl` is still served while one background load replaces it; one older than `2 * ttl` is
    loaded before answering. An unknown environment is remembered too (as its NotFound), for as long.
    """

    def __init__(
        self, sessions: sessionmaker[Session], ttl: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sessions, self.ttl, self.clock = sessions, ttl, clock
        self._entries: dict[str, tuple[Snapshot | NotFound, float, int]] = {}
        self._pending: dict[tuple[str, int], Future[Snapshot | NotFound]] = {}
        self._lock = threading.Lock()

    def cached(self, environment: str) -> Snapshot | NotFound | None:
        """What may be answered at once without the database, or None when it must be loaded first."""
        entry = self._entries.get(environment)
        if entry is None:
            return None
        generation = _COMMITTED_CHANGES.get(environment, 0)
        if entry[2] != generation:
            return None
        age = self.clock() - entry[1]
        if age < self.ttl:
            return entry[0]
        if age < 2 * self.ttl:
            self.load_soon(environment, generation)
            return entry[0]
        return None

    async def snapshot(self, environment: str) -> Snapshot:
        """The environment's snapshot; NotFound when it has no flag set. Waits (off the loop) only for a load."""
        found = self.cached(environment)
        if found is None:
            found = await asyncio.wrap_future(self.load_soon(environment, _COMMITTED_CHANGES.get(environment, 0)))
        if isinstance(found, NotFound):
            raise found
        return found

    def get(self, environment: str) -> Snapshot:
        """The same, for a caller already off the event loop (loads in the calling thread)."""
        found = self.cached(environment)
        if found is None:
            found = self._load(environment, _COMMITTED_CHANGES.get(environment, 0))
        if isinstance(found, NotFound):
            raise found
        return found

    def load_soon(self, environment: str, generation: int) -> Future[Snapshot | NotFound]:
        """One background load per (environment, commit count): concurrent callers share it."""
        with self._lock:
            future = self._pending.get((environment, generation))
            if future is None:
                future = BACKGROUND.submit(self._load_pending, environment, generation)
                self._pending[(environment, generation)] = future
        return future

    def _load_pending(self, environment: str, generation: int) -> Snapshot | NotFound:
        try:
            return self._load(environment, generation)
        except Exception:
            logger.warning("could not load the flag set of %s; the last one is served meanwhile", environment)
            raise
        finally:
            with self._lock:
                self._pending.pop((environment, generation), None)

    def _load(self, environment: str, generation: int) -> Snapshot | NotFound:
        now = self.clock()
        found: Snapshot | NotFound
        entry = self._entries.get(environment)
        with self.sessions() as session:
            if entry is not None and isinstance(entry[0], Snapshot):
                # Most reloads find nothing changed: three columns, not the document, and the same snapshot.
                same = entry[0]
                current = session.execute(
                    select(FlagEnvironment.etag, FlagEnvironment.version, FlagEnvironment.rate_limit).where(
                        FlagEnvironment.environment == environment
                    )
                ).first()
                if current is not None and (current.etag, current.version, _limit(current.rate_limit)) == (
                    same.etag,
                    same.version,
                    same.rate_limit,
                ):
                    self._entries[environment] = (same, now, generation)
                    return same
            try:
                row = get_environment(session, environment=environment)
            except NotFound as exc:
                found = exc
            else:
                found = Snapshot(environment, row.etag, row.version, EVALUATORS.get(row), _limit(row.rate_limit))
        self._entries[environment] = (found, now, generation)
        return found


def _limit(stored: dict[str, Any] | None) -> tuple[int, float] | None:
    return (int(stored["requests"]), float(stored["per_seconds"])) if stored else None


# Changes committed in this process, per environment: a ServingCache refetches when the count moves.
_COMMITTED_CHANGES: dict[str, int] = {}


def note_commit(environment: str) -> None:
    _COMMITTED_CHANGES[environment] = _COMMITTED_CHANGES.get(environment, 0) + 1


def evaluate(
    session: Session, *, environment: str, key: str, context: dict[str, Any]
) -> tuple[FlagEnvironment, Resolution]:
    row = get_environment(session, environment=environment)
    return row, EVALUATORS.get(row).evaluate(key, to_context(context))


def to_context(raw: dict[str, Any]) -> EvaluationContext:
    attributes = {k: v for k, v in raw.items() if k != "targetingKey"}
    key = raw.get("targetingKey")
    return EvaluationContext(targeting_key=key if isinstance(key, str) else None, attributes=attributes)
