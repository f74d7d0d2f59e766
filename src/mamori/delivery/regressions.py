"""Regressions: a step or test whose recent median rose markedly against its own recent past, with the run
where it started (its commit is the change that coincides) (pure).

A series is flagged when the median of its last `recent` values is at least `factor` times the median of
the `baseline` values before them, at least `min_delta` seconds more, and the rank test agrees (p < 0.05).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from mamori.delivery.effect import ALPHA, mann_whitney


@dataclass(frozen=True)
class Point:
    at: datetime
    seconds: float
    ref: str | None


@dataclass(frozen=True)
class Regression:
    key: str
    baseline_median: float
    recent_median: float
    ratio: float
    since_at: datetime
    since_ref: str | None


def find(
    key: str,
    points: Sequence[Point],
    *,
    recent: int = 5,
    baseline: int = 20,
    factor: float = 1.5,
    min_delta: float = 5.0,
) -> Regression | None:
    ordered = sorted(points, key=lambda p: p.at)
    if len(ordered) < recent + max(recent, 5):
        return None
    tail = ordered[-recent:]
    past = ordered[-(recent + baseline) : -recent]
    before, after = [p.seconds for p in past], [p.seconds for p in tail]
    m_before, m_after = median(before), median(after)
    if m_after < m_before * factor or m_after - m_before < min_delta:
        return None
    if mann_whitney(before, after)[1] >= ALPHA:
        return None
    threshold = m_before + (m_after - m_before) / 2
    start = next(p for p in tail if p.seconds >= threshold)
    return Regression(key, m_before, m_after, m_after / m_before if m_before else float("inf"), start.at, start.ref)
