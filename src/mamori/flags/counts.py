"""Evaluation counts per environment, flag and variant: gathered in memory, flushed to the database by a job."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.flags.models import FlagEvaluationCount

Key = tuple[str, str, str]


class EvaluationCounter:
    """Thread-safe tallies; `drain` hands them over and starts afresh (one flush per process and interval)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()

    def add(self, environment: str, flag_key: str, variant: str | None, n: int = 1) -> None:
        with self._lock:
            self._counts[(environment, flag_key, variant or "")] += n

    def drain(self) -> Counter[Key]:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts


COUNTER = EvaluationCounter()


def record(session: Session, counts: Counter[Key], *, now: datetime) -> int:
    """Add tallies to the per-day rows; returns how many evaluations were stored."""
    day = now.date().isoformat()
    total = 0
    for (environment, flag_key, variant), n in counts.items():
        if n <= 0:
            continue
        row = session.scalar(
            select(FlagEvaluationCount).where(
                FlagEvaluationCount.environment == environment,
                FlagEvaluationCount.flag_key == flag_key,
                FlagEvaluationCount.variant == variant,
                FlagEvaluationCount.day == day,
            )
        )
        if row is None:
            row = FlagEvaluationCount(environment=environment, flag_key=flag_key, variant=variant, day=day, count=0)
            session.add(row)
        row.count += n
        row.last_at = now
        total += n
    session.flush()
    return total


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
