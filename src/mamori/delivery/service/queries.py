"""Read-only queries behind the pages and the catalog column: deploy counts, recent deploys and runs, step
duration trends, one run with its jobs and steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from mamori.core.errors import NotFound
from mamori.delivery import dora
from mamori.delivery.models import (
    DeliveryCodeStat,
    DeliveryDeploy,
    DeliveryImage,
    DeliveryJob,
    DeliveryRun,
    DeliveryStep,
)
from mamori.delivery.waterfall import Span


@dataclass(frozen=True)
class ServiceSummary:
    service: str
    deploys: int
    production_deploys: int
    failed: int
    last_deploy: datetime | None


def service_summaries(
    session: Session, *, since: datetime, services: Sequence[str] | None = None
) -> list[ServiceSummary]:
    query = (
        select(
            DeliveryDeploy.service,
            func.count(),
            func.sum(case((DeliveryDeploy.production.is_(True), 1), else_=0)),
            func.max(DeliveryDeploy.finished_at),
        )
        .where(DeliveryDeploy.created_at >= since)
        .group_by(DeliveryDeploy.service)
    )
    failed_query = (
        select(DeliveryDeploy.service, func.count())
        .where(DeliveryDeploy.created_at >= since, DeliveryDeploy.status == "failure")
        .group_by(DeliveryDeploy.service)
    )
    if services is not None:
        query = query.where(DeliveryDeploy.service.in_(services))
        failed_query = failed_query.where(DeliveryDeploy.service.in_(services))
    failed = {name: n for name, n in session.execute(failed_query)}
    return [
        ServiceSummary(
            service=name, deploys=n, production_deploys=int(prod or 0), failed=failed.get(name, 0), last_deploy=last
        )
        for name, n, prod, last in session.execute(query.order_by(DeliveryDeploy.service))
    ]


def recent_deploys(session: Session, *, service: str, limit: int) -> list[DeliveryDeploy]:
    return list(
        session.scalars(
            select(DeliveryDeploy)
            .where(DeliveryDeploy.service == service)
            .order_by(DeliveryDeploy.created_at.desc())
            .limit(limit)
        )
    )


def recent_runs(session: Session, *, service: str, limit: int) -> list[DeliveryRun]:
    return list(
        session.scalars(
            select(DeliveryRun)
            .where(DeliveryRun.service == service)
            .order_by(DeliveryRun.created_at.desc())
            .limit(limit)
        )
    )


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """end - start in seconds, computed by the database (no row's times are parsed in Python)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


@dataclass(frozen=True)
class StepTrend:
    job: str
    step: str
    runs: int
    median_s: float | None
    cache_hit_ratio: float | None


def step_trends(session: Session, *, service: str, since: datetime) -> list[StepTrend]:
    """Per job and step: how many runs, the median duration and how often the cache was hit."""
    rows = session.execute(
        select(
            DeliveryJob.name,
            DeliveryStep.name,
            seconds_between(session, DeliveryStep.started_at, DeliveryStep.finished_at),
            DeliveryStep.cached,
        )
        .join(DeliveryJob, DeliveryStep.job_id == DeliveryJob.id)
        .join(DeliveryRun, DeliveryJob.run_id == DeliveryRun.id)
        .where(DeliveryRun.service == service, DeliveryRun.created_at >= since)
    )
    grouped: dict[tuple[str, str], list[tuple[float | None, bool | None]]] = {}
    for job, step, seconds, cached in rows:
        value = None if seconds is None else round(float(seconds), 3)
        grouped.setdefault((job, step), []).append((value, cached))
    out = []
    for (job, step), values in sorted(grouped.items()):
        known = [c for _, c in values if c is not None]
        out.append(
            StepTrend(
                job=job,
                step=step,
                runs=len(values),
                median_s=dora.lower_median(s for s, _ in values if s is not None),
                cache_hit_ratio=sum(known) / len(known) if known else None,
            )
        )
    return out


def get_run(session: Session, *, run_id: str) -> tuple[DeliveryRun, list[tuple[Span, list[Span]]]]:
    run = session.get(DeliveryRun, run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    jobs = session.scalars(
        select(DeliveryJob).where(DeliveryJob.run_id == run.id).order_by(DeliveryJob.started_at)
    ).all()
    out = []
    for job in jobs:
        steps = session.scalars(select(DeliveryStep).where(DeliveryStep.job_id == job.id).order_by(DeliveryStep.number))
        out.append(
            (
                Span(job.name, job.started_at, job.finished_at, job.conclusion),
                [Span(s.name, s.started_at, s.finished_at, s.conclusion, s.cached) for s in steps],
            )
        )
    return run, out


def image_sizes(session: Session, *, service: str, since: datetime, limit: int = 50) -> list[DeliveryImage]:
    """The service's images, oldest first (the size trend)."""
    rows = session.scalars(
        select(DeliveryImage)
        .where(DeliveryImage.service == service, DeliveryImage.recorded_at >= since)
        .order_by(DeliveryImage.recorded_at.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def code_stats(session: Session, *, service: str, kind: str, since: datetime) -> dict[str, list[DeliveryCodeStat]]:
    """Per tool, its counts over time (oldest first): the code size trend or the lint trend."""
    out: dict[str, list[DeliveryCodeStat]] = {}
    for row in session.scalars(
        select(DeliveryCodeStat)
        .where(
            DeliveryCodeStat.service == service, DeliveryCodeStat.kind == kind, DeliveryCodeStat.recorded_at >= since
        )
        .order_by(DeliveryCodeStat.recorded_at)
    ):
        out.setdefault(row.tool, []).append(row)
    return out


@dataclass(frozen=True)
class DeployGroup:
    branch: str
    environment: str
    deploys: int
    failed: int
    median_s: float | None


def deploys_by_branch_and_env(session: Session, *, service: str, since: datetime) -> list[DeployGroup]:
    """Deploys per branch and environment since `since`: count, failures and the median deploy duration."""
    rows = session.execute(
        select(
            DeliveryDeploy.branch,
            DeliveryDeploy.environment,
            DeliveryDeploy.status,
            seconds_between(session, DeliveryDeploy.started_at, DeliveryDeploy.finished_at),
        ).where(DeliveryDeploy.service == service, DeliveryDeploy.created_at >= since)
    )
    groups: dict[tuple[str, str], list[tuple[str, float | None]]] = {}
    for branch, environment, status, seconds in rows:
        groups.setdefault((branch or "", environment), []).append((status, None if seconds is None else float(seconds)))
    return [
        DeployGroup(
            branch=branch,
            environment=environment,
            deploys=len(items),
            failed=sum(1 for status, _ in items if status == "failure"),
            median_s=dora.lower_median(v for _, v in items if v is not None),
        )
        for (branch, environment), items in sorted(groups.items())
    ]
