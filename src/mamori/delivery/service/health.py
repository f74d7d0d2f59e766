"""Test health and coverage trend of a service: pass rate, slowest tests, flaky tests (a pass and a failure
on the same commit, or a pass after a rerun), coverage over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.delivery import dora
from mamori.delivery.models import DeliveryCoverage, DeliveryTestCase, DeliveryTestRun


@dataclass(frozen=True)
class SlowTest:
    test_id: str
    median_s: float
    runs: int


@dataclass
class Health:
    reports: int
    runs: int
    pass_rate: float | None
    total_median_s: float | None
    slowest: list[SlowTest]
    flaky: list[str]
    coverage: list[tuple[datetime, float]]


def health(session: Session, *, service: str, since: datetime, slowest: int = 10) -> Health:
    rows = session.execute(
        select(
            DeliveryTestRun.id,
            DeliveryTestRun.sha,
            DeliveryTestCase.test_id,
            DeliveryTestCase.outcome,
            DeliveryTestCase.duration_s,
            DeliveryTestCase.flaky,
        )
        .join(DeliveryTestCase, DeliveryTestCase.run_id == DeliveryTestRun.id)
        .where(DeliveryTestRun.service == service, DeliveryTestRun.recorded_at >= since)
    ).all()
    durations: dict[str, list[float]] = {}
    outcomes: dict[tuple[str, str], set[str]] = {}
    flaky: set[str] = set()
    ran = passed = 0
    for _run, sha, test_id, outcome, seconds, was_flaky in rows:
        durations.setdefault(test_id, []).append(seconds)
        if was_flaky:
            flaky.add(test_id)
        if sha:
            outcomes.setdefault((sha, test_id), set()).add(outcome)
        if outcome != "skipped":
            ran += 1
            passed += outcome == "passed"
    flaky.update(t for (_sha, t), seen in outcomes.items() if "passed" in seen and seen & {"failed", "error"})
    reports = session.scalars(
        select(DeliveryTestRun.duration_s).where(
            DeliveryTestRun.service == service, DeliveryTestRun.recorded_at >= since
        )
    ).all()
    medians = [SlowTest(t, dora.lower_median(v) or 0.0, len(v)) for t, v in durations.items()]
    trend = [
        (at, covered / valid)
        for at, covered, valid in session.execute(
            select(DeliveryCoverage.recorded_at, DeliveryCoverage.lines_covered, DeliveryCoverage.lines_valid)
            .where(DeliveryCoverage.service == service, DeliveryCoverage.recorded_at >= since)
            .order_by(DeliveryCoverage.recorded_at)
        )
        if valid
    ]
    return Health(
        reports=len(reports),
        runs=len(rows),
        pass_rate=passed / ran if ran else None,
        total_median_s=dora.lower_median(reports),
        slowest=sorted(medians, key=lambda s: (-s.median_s, s.test_id))[:slowest],
        flaky=sorted(flaky),
        coverage=trend,
    )
