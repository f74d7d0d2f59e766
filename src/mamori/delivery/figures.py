"""The figures computed for one service (plain values the service fills and the edges render)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mamori.delivery import dora


@dataclass
class PullRequestStats:
    merged: int
    coding_s: float | None
    pickup_s: float | None
    review_s: float | None
    deploy_s: float | None
    cycle_s: float | None
    size_median: float | None
    review_rounds_median: float | None


@dataclass
class ServiceMeasures:
    service: str
    start: datetime
    end: datetime
    dora: dora.Dora
    pull_requests: PullRequestStats
