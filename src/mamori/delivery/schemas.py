"""Pydantic In/Out models of the delivery domain, shared by api.py, hooks.py and cli.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.delivery.effect import Effect, check_measure
from mamori.delivery.figures import PullRequestStats, ServiceMeasures
from mamori.delivery.models import DeliveryCoverage, DeliveryImprovement, DeliveryTestCase, DeliveryTestRun

DeployStatus = Literal["success", "failure"]
RunStatus = Literal["success", "failure", "cancelled", "skipped"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Timed(_In):
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Timed:
        if self.started_at and self.finished_at and self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        return self


class ImprovementNote(_In):
    title: str = Field(min_length=1, max_length=2000)
    measure: str = Field(min_length=1, max_length=400, description="step:<job>/<step>, build, lead_time or tests")

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str) -> str:
        return check_measure(value)


class DeployIn(_Timed):
    """A deploy from any CI or script: `mamori delivery record deploy` and POST /api/v1/delivery/deploys."""

    id: str | None = Field(default=None, max_length=200, description="your id for it (re-sending it changes nothing)")
    service: str = Field(min_length=1, max_length=200)
    environment: str = Field(min_length=1, max_length=100)
    status: DeployStatus
    sha: str | None = Field(default=None, max_length=64)
    version: str | None = Field(default=None, max_length=200)
    branch: str | None = Field(default=None, max_length=300)
    repo: str | None = Field(default=None, max_length=300)
    rollback: bool = False
    hotfix: bool = False
    finished_at: AwareDatetime
    improvement: ImprovementNote | None = Field(default=None, description="this deploy brings a change to measure")


class BuildIn(_Timed):
    """A build (CI run) from any CI: `record build` and POST /api/v1/delivery/builds."""

    id: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=200)
    name: str = Field(default="build", min_length=1, max_length=300)
    status: RunStatus
    sha: str | None = Field(default=None, max_length=64)
    branch: str | None = Field(default=None, max_length=300)
    started_at: AwareDatetime


class StepIn(_Timed):
    """One step of a build: `record step` and POST /api/v1/delivery/builds/{id}/steps."""

    build: str = Field(min_length=1, max_length=200, description="the build's id")
    service: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=300)
    job: str = Field(default="build", min_length=1, max_length=300)
    number: int | None = Field(default=None, ge=0)
    status: RunStatus
    cached: bool | None = None
    started_at: AwareDatetime
    finished_at: AwareDatetime


class RecordedOut(BaseModel):
    status: Literal["stored", "duplicate"]
    id: str


class IntakeOut(BaseModel):
    status: Literal["stored", "duplicate", "ignored", "pong"]
    delivery_id: str | None
    event: str
    records: dict[str, int]


class Bands(BaseModel):
    deployment_frequency: str | None
    lead_time: str | None
    change_fail_rate: str | None
    recovery_time: str | None
    rework_rate: str | None


class DoraOut(BaseModel):
    deploys: int
    deploy_days: int
    deploy_days_per_week_median: float | None
    deploy_days_per_month_median: float | None
    lead_time_seconds: float | None
    changes: int
    failed_deploys: int
    change_fail_rate: float | None
    recovery_time_seconds: float | None
    recovered: int
    unplanned_deploys: int
    rework_rate: float | None
    bands: Bands


class PullRequestsOut(BaseModel):
    merged: int
    coding_seconds: float | None
    pickup_seconds: float | None
    review_seconds: float | None
    deploy_seconds: float | None
    cycle_seconds: float | None
    size_median: float | None
    review_rounds_median: float | None


class ToilOut(BaseModel):
    team: str
    week: date
    source: str = Field(description="slack or jira (inquiries), page")
    count: int


def pull_requests_out(p: PullRequestStats) -> PullRequestsOut:
    return PullRequestsOut(
        merged=p.merged,
        coding_seconds=p.coding_s,
        pickup_seconds=p.pickup_s,
        review_seconds=p.review_s,
        deploy_seconds=p.deploy_s,
        cycle_seconds=p.cycle_s,
        size_median=p.size_median,
        review_rounds_median=p.review_rounds_median,
    )


class MeasuresOut(BaseModel):
    service: str
    start: datetime
    end: datetime
    dora: DoraOut
    pull_requests: PullRequestsOut


def measures_out(m: ServiceMeasures) -> MeasuresOut:
    d, p = m.dora, m.pull_requests
    return MeasuresOut(
        service=m.service,
        start=m.start,
        end=m.end,
        dora=DoraOut(
            deploys=d.deploys,
            deploy_days=d.deploy_days,
            deploy_days_per_week_median=d.per_week_median,
            deploy_days_per_month_median=d.per_month_median,
            lead_time_seconds=d.lead_time_s,
            changes=d.changes,
            failed_deploys=d.failed,
            change_fail_rate=d.change_fail_rate,
            recovery_time_seconds=d.recovery_time_s,
            recovered=d.recovered,
            unplanned_deploys=d.unplanned,
            rework_rate=d.rework_rate,
            bands=Bands(**d.bands()),
        ),
        pull_requests=PullRequestsOut(
            merged=p.merged,
            coding_seconds=p.coding_s,
            pickup_seconds=p.pickup_s,
            review_seconds=p.review_s,
            deploy_seconds=p.deploy_s,
            cycle_seconds=p.cycle_s,
            size_median=p.size_median,
            review_rounds_median=p.review_rounds_median,
        ),
    )


class DeployOut(BaseModel):
    id: str
    source: str
    service: str
    environment: str
    production: bool
    status: str
    sha: str | None
    version: str | None
    branch: str | None
    rollback: bool
    hotfix: bool
    started_at: datetime | None
    finished_at: datetime | None


class JUnitReportOut(BaseModel):
    id: str
    tests: int
    failures: int
    errors: int
    skipped: int
    duration_seconds: float
    flaky: list[str]


class CoverageOut(BaseModel):
    id: int
    format: str
    lines_valid: int
    lines_covered: int
    branches_valid: int | None
    branches_covered: int | None
    line_rate: float | None


def junit_report_out(session: Session, run: DeliveryTestRun) -> JUnitReportOut:
    flaky = session.scalars(
        select(DeliveryTestCase.test_id).where(DeliveryTestCase.run_id == run.id, DeliveryTestCase.flaky.is_(True))
    ).all()
    return JUnitReportOut(
        id=run.id,
        tests=run.tests,
        failures=run.failures,
        errors=run.errors,
        skipped=run.skipped,
        duration_seconds=run.duration_s,
        flaky=sorted(set(flaky)),
    )


def coverage_out(row: DeliveryCoverage) -> CoverageOut:
    return CoverageOut(
        id=row.id,
        format=row.format,
        lines_valid=row.lines_valid,
        lines_covered=row.lines_covered,
        branches_valid=row.branches_valid,
        branches_covered=row.branches_covered,
        line_rate=row.lines_covered / row.lines_valid if row.lines_valid else None,
    )


class ImprovementIn(_In):
    service: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=2000)
    measure: str = Field(min_length=1, max_length=400, description="step:<job>/<step>, build, lead_time or tests")
    at: AwareDatetime
    ref: str | None = Field(default=None, max_length=200, description="the PR or deploy it came with")


class EffectOut(BaseModel):
    improvement: str
    service: str
    title: str
    measure: str
    at: datetime
    n_before: int
    n_after: int
    median_before: float | None
    median_after: float | None
    change: float | None
    change_pct: float | None
    mann_whitney_u: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str


def effect_out(row: DeliveryImprovement, e: Effect) -> EffectOut:
    return EffectOut(
        improvement=row.id, service=row.service, title=row.title, measure=row.measure, at=row.at,
        n_before=e.n_before, n_after=e.n_after, median_before=e.median_before, median_after=e.median_after,
        change=e.change, change_pct=e.change_pct, mann_whitney_u=e.u, p_value=e.p_value, ci_low=e.ci_low,
        ci_high=e.ci_high, verdict=e.verdict,
    )  # fmt: skip


class RegressionOut(BaseModel):
    key: str
    baseline_median: float
    recent_median: float
    ratio: float
    since_at: datetime
    since_ref: str | None


class ImageOut(BaseModel):
    id: int
    ref: str
    digest: str | None
    size: int
    layers: list[int]
    push_seconds: float | None


class BuildKitOut(BaseModel):
    job: str
    steps: int
    cached: int


class BuildxHistoryOut(BaseModel):
    run: str
    ref: str
    status: str
    conclusion: str | None
    seconds: float | None
    steps_total: int
    steps_cached: int
    cache_hit_ratio: float | None


class CodeStatOut(BaseModel):
    id: int
    kind: str
    tool: str
    sha: str | None
    counts: dict[str, int]
    total: int
