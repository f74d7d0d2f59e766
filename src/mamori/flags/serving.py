"""Serving an environment's flag set: compiled evaluators and per-process snapshots for the OFREP hot path."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mamori.core.errors import NotFound
from mamori.flags.evaluator import FlagEvaluator, Resolution
from mamori.flags.models import FlagEnvironment


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


class ServingCache:
    """Environment snapshots for the OFREP hot path, re-read at most every `ttl` seconds per process.

    Changes made in this process drop the entry when their transaction commits; other processes
    see them within `ttl`. (On SQLite every transaction takes the write lock, so a query per
    evaluation would serialise all OFREP traffic.)
    """

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 1.0) -> None:
        self.sessions, self.ttl = sessions, ttl
        self._entries: dict[str, tuple[Snapshot, float, int]] = {}

    def get(self, environment: str) -> Snapshot:
        entry = self._entries.get(environment)
        now = time.monotonic()
        generation = _COMMITTED_CHANGES.get(environment, 0)
        if entry is not None and now - entry[1] < self.ttl and entry[2] == generation:
            return entry[0]
        with self.sessions() as session:
            row = get_environment(session, environment=environment)
            limit = row.rate_limit
            snapshot = Snapshot(
                environment,
                row.etag,
                row.version,
                EVALUATORS.get(row),
                (int(limit["requests"]), float(limit["per_seconds"])) if limit else None,
            )
        self._entries[environment] = (snapshot, now, generation)
        return snapshot


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
