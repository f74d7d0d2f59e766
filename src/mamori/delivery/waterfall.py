"""The build waterfall: a run's jobs and steps placed on one time axis (pure; percentages for the page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Bar:
    label: str
    job: str
    offset_pct: float
    width_pct: float
    seconds: float
    cached: bool | None
    conclusion: str | None
    is_job: bool


@dataclass(frozen=True)
class Chart:
    start: datetime | None
    seconds: float
    bars: list[Bar]


@dataclass(frozen=True)
class Span:
    name: str
    started_at: datetime | None
    finished_at: datetime | None
    conclusion: str | None
    cached: bool | None = None


def layout(jobs: Sequence[tuple[Span, Sequence[Span]]]) -> Chart:
    """Jobs, each followed by its steps; spans without both ends are left off the axis."""
    timed = [s for job, steps in jobs for s in (job, *steps) if s.started_at and s.finished_at]
    if not timed:
        return Chart(start=None, seconds=0.0, bars=[])
    start = min(s.started_at for s in timed if s.started_at)
    end = max(s.finished_at for s in timed if s.finished_at)
    total = max((end - start).total_seconds(), 1.0)
    bars: list[Bar] = []
    for job, steps in jobs:
        for span, is_job in ((job, True), *((s, False) for s in steps)):
            if span.started_at is None or span.finished_at is None:
                continue
            seconds = max((span.finished_at - span.started_at).total_seconds(), 0.0)
            bars.append(
                Bar(
                    label=span.name,
                    job=job.name,
                    offset_pct=round(100 * (span.started_at - start).total_seconds() / total, 2),
                    width_pct=max(round(100 * seconds / total, 2), 0.5),
                    seconds=seconds,
                    cached=span.cached,
                    conclusion=span.conclusion,
                    is_job=is_job,
                )
            )
    return Chart(start=start, seconds=total, bars=bars)
