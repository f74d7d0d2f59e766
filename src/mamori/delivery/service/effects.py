"""Improvements and their measured effect (before/after on one measure), and regressions of steps and tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import timeline
from mamori.core.errors import NotFound, ValidationFailed
from mamori.core.events import EventBus
from mamori.delivery import effect, regressions
from mamori.delivery.events import RegressionFound
from mamori.delivery.models import (
    DeliveryImprovement,
    DeliveryJob,
    DeliveryRun,
    DeliveryStep,
    DeliveryTestCase,
    DeliveryTestRun,
)
from mamori.delivery.service import measures

MEASURE_HELP = effect.MEASURE_HELP


def _check_measure(measure: str) -> str:
    try:
        return effect.check_measure(measure)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None


def create_improvement(
    session: Session,
    *,
    service: str,
    title: str,
    measure: str,
    at: datetime,
    by: str,
    now: datetime,
    source: str = "manual",
    ref: str | None = None,
) -> DeliveryImprovement:
    row = DeliveryImprovement(
        service=service, title=title[:2000], measure=_check_measure(measure), at=at, source=source, ref=ref,
        created_by=by, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    timeline.record(
        session, at=at, kind="note", source="delivery", title=f"Improvement: {title}", service=service,
        data={"measure": measure, "improvement": row.id}, ref=f"/delivery/services/{service}",
    )  # fmt: skip
    return row


def list_improvements(session: Session, *, service: str) -> list[DeliveryImprovement]:
    return list(
        session.scalars(
            select(DeliveryImprovement).where(DeliveryImprovement.service == service).order_by(DeliveryImprovement.at)
        )
    )


def values(
    session: Session, *, service: str, measure: str, start: datetime, end: datetime
) -> list[tuple[datetime, float, str | None]]:
    """(when, seconds, commit) of one measure in [start, end)."""
    if measure.startswith("step:"):
        job, _, step = measure.removeprefix("step:").partition("/")
        rows = session.execute(
            select(DeliveryStep.started_at, DeliveryStep.finished_at, DeliveryRun.sha)
            .join(DeliveryJob, DeliveryStep.job_id == DeliveryJob.id)
            .join(DeliveryRun, DeliveryJob.run_id == DeliveryRun.id)
            .where(
                DeliveryRun.service == service,
                DeliveryJob.name == job,
                DeliveryStep.name == step,
                DeliveryStep.started_at >= start,
                DeliveryStep.started_at < end,
            )
        )
        return [(a, (b - a).total_seconds(), sha) for a, b, sha in rows if a and b]
    if measure == "build":
        rows = session.execute(
            select(DeliveryRun.started_at, DeliveryRun.finished_at, DeliveryRun.sha).where(
                DeliveryRun.service == service, DeliveryRun.started_at >= start, DeliveryRun.started_at < end
            )
        )
        return [(a, (b - a).total_seconds(), sha) for a, b, sha in rows if a and b]
    if measure == "tests":
        reports = session.execute(
            select(DeliveryTestRun.recorded_at, DeliveryTestRun.duration_s, DeliveryTestRun.sha).where(
                DeliveryTestRun.service == service,
                DeliveryTestRun.recorded_at >= start,
                DeliveryTestRun.recorded_at < end,
            )
        )
        return [(a, float(s), sha) for a, s, sha in reports]
    return _lead_times(session, service=service, start=start, end=end)


def _lead_times(
    session: Session, *, service: str, start: datetime, end: datetime
) -> list[tuple[datetime, float, str | None]]:
    deploys = measures.production_deploys(session, service, end)
    parents, authored = measures.commit_history(session, {d.repo for d in deploys if d.repo})
    finished = {d.id: d.finished_at for d in deploys}
    out: list[tuple[datetime, float, str | None]] = []
    for sha, deploy_id in measures.shipped_commits(deploys, parents).items():
        at = finished.get(deploy_id)
        if at is not None and sha in authored and start <= at < end:
            out.append((at, (at - authored[sha]).total_seconds(), sha))
    return out


def effect_of(
    session: Session, *, improvement_id: str, window_days: int = 30
) -> tuple[DeliveryImprovement, effect.Effect]:
    row = session.get(DeliveryImprovement, improvement_id)
    if row is None:
        raise NotFound(f"no improvement {improvement_id!r}")
    window = timedelta(days=window_days)
    before = [
        v for _, v, _ in values(session, service=row.service, measure=row.measure, start=row.at - window, end=row.at)
    ]
    after = [
        v for _, v, _ in values(session, service=row.service, measure=row.measure, start=row.at, end=row.at + window)
    ]
    return row, effect.compare(before, after, rnd=random.Random(improvement_id))


def find_regressions(session: Session, *, service: str, since: datetime) -> list[regressions.Regression]:
    """Steps and tests of the service whose recent median rose markedly."""
    series: dict[str, list[regressions.Point]] = {}
    rows = session.execute(
        select(DeliveryJob.name, DeliveryStep.name, DeliveryStep.started_at, DeliveryStep.finished_at, DeliveryRun.sha)
        .join(DeliveryJob, DeliveryStep.job_id == DeliveryJob.id)
        .join(DeliveryRun, DeliveryJob.run_id == DeliveryRun.id)
        .where(DeliveryRun.service == service, DeliveryStep.started_at >= since)
    )
    for job, step, a, b, sha in rows:
        if a and b:
            series.setdefault(f"step:{job}/{step}", []).append(regressions.Point(a, (b - a).total_seconds(), sha))
    tests = session.execute(
        select(DeliveryTestCase.test_id, DeliveryTestRun.recorded_at, DeliveryTestCase.duration_s, DeliveryTestRun.sha)
        .join(DeliveryTestRun, DeliveryTestCase.run_id == DeliveryTestRun.id)
        .where(
            DeliveryTestRun.service == service,
            DeliveryTestRun.recorded_at >= since,
            DeliveryTestCase.outcome == "passed",
        )
    )
    for test_id, at, seconds, sha in tests:
        series.setdefault(f"test:{test_id}", []).append(regressions.Point(at, seconds, sha))
    found = [regressions.find(key, points) for key, points in sorted(series.items())]
    return [r for r in found if r is not None]


def announce_regressions(
    session: Session, *, bus: EventBus, services: list[str], since: datetime, now: datetime
) -> int:
    """Put each new regression on the timeline and publish RegressionFound once (keyed by where it began)."""
    count = 0
    for service in services:
        for r in find_regressions(session, service=service, since=since):
            noted = timeline.record(
                session,
                at=r.since_at,
                kind="note",
                source="delivery",
                title=f"{service}: {r.key} slower ({r.baseline_median:.0f} s -> {r.recent_median:.0f} s)",
                service=service,
                data={"key": r.key, "ratio": r.ratio, "sha": r.since_ref},
                ref=f"/delivery/services/{service}",
                dedupe_key=f"delivery:regression:{service}:{r.key}:{r.since_ref or r.since_at.isoformat()}"[:300],
            )
            if noted is None:
                continue
            bus.publish(
                session,
                RegressionFound(
                    service=service,
                    key=r.key,
                    baseline_seconds=r.baseline_median,
                    recent_seconds=r.recent_median,
                    since=r.since_at,
                    since_sha=r.since_ref,
                ),
                now=now,
            )
            count += 1
    return count
