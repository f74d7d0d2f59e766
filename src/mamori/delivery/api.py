"""HTTP API of the delivery domain: per-service measures, deploys, and the generic record endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from mamori.core.errors import Forbidden
from mamori.core.runtime import Runtime
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryDeploy, DeliveryStep
from mamori.delivery.schemas import (
    BuildIn,
    BuildKitOut,
    BuildxHistoryOut,
    CodeStatOut,
    CoverageOut,
    DeployIn,
    DeployOut,
    EffectOut,
    ImageOut,
    ImprovementIn,
    JUnitReportOut,
    MeasuresOut,
    PullRequestsOut,
    RecordedOut,
    RegressionOut,
    StepIn,
    ToilOut,
    coverage_out,
    effect_out,
    junit_report_out,
    measures_out,
    pull_requests_out,
)
from mamori.delivery.service import effects, generic, measures, reports, teams
from mamori.web.deps import Ingester, Reader, RuntimeDep, SessionDep, Writer

router = APIRouter(prefix="/delivery", tags=["delivery"])


@router.get("/services/{service}/measures", response_model=MeasuresOut)
def service_measures(
    service: str,
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    days: Annotated[
        int | None, Query(ge=1, le=366, description="the window; the policy's windowDays by default")
    ] = None,
) -> MeasuresOut:
    """DORA's five with their bands, and pull request phases, over the last `days`."""
    policy = kinds.policy(session)
    end = runtime.now()
    start = end - timedelta(days=days or policy.window_days)
    return measures_out(measures.measure(session, service=service, start=start, end=end, policy=policy))


@router.get("/deploys", response_model=list[DeployOut])
def list_deploys(
    _: Reader,
    session: SessionDep,
    service: str | None = None,
    environment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[DeployOut]:
    query = select(DeliveryDeploy).order_by(DeliveryDeploy.created_at.desc()).limit(limit)
    if service:
        query = query.where(DeliveryDeploy.service == service)
    if environment:
        query = query.where(DeliveryDeploy.environment == environment)
    return [DeployOut.model_validate(row, from_attributes=True) for row in session.scalars(query)]


@router.post("/deploys", response_model=RecordedOut, status_code=201)
def record_deploy(body: DeployIn, _: Ingester, session: SessionDep, runtime: RuntimeDep) -> RecordedOut:
    row, new = generic.record_deploy(session, bus=runtime.bus, body=body, now=runtime.now())
    session.commit()
    return RecordedOut(status="stored" if new else "duplicate", id=row.id)


@router.post("/builds", response_model=RecordedOut, status_code=201)
def record_build(body: BuildIn, _: Ingester, session: SessionDep, runtime: RuntimeDep) -> RecordedOut:
    row = generic.record_build(session, bus=runtime.bus, body=body, now=runtime.now())
    session.commit()
    return RecordedOut(status="stored", id=row.id)


@router.post("/steps", response_model=RecordedOut, status_code=201)
def record_step(body: StepIn, _: Ingester, session: SessionDep, runtime: RuntimeDep) -> RecordedOut:
    row = generic.record_step(session, bus=runtime.bus, body=body, now=runtime.now())
    session.commit()
    return RecordedOut(status="stored", id=str(row.id))


@router.post("/tests", response_model=JUnitReportOut, status_code=201)
async def import_tests(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    _: Ingester,
    runtime: RuntimeDep,
    service: str,
    sha: str | None = None,
    branch: str | None = None,
    name: Annotated[str, Query(max_length=300)] = "junit",
) -> JUnitReportOut:
    """A JUnit XML report (the request body) for a service at a commit; 422 naming the line when unreadable."""
    data = await request.body()
    return await run_in_threadpool(_store_tests, runtime, service, sha, branch, name, data)


def _store_tests(  # noqa: PLR0917 - the report and what it was run for
    runtime: Runtime, service: str, sha: str | None, branch: str | None, name: str, data: bytes
) -> JUnitReportOut:
    with runtime.sessions.begin() as session:
        run = reports.import_junit(
            session, service=service, data=data, sha=sha, branch=branch, name=name, now=runtime.now()
        )
        return junit_report_out(session, run)


@router.post("/coverage", response_model=CoverageOut, status_code=201)
async def import_coverage(
    request: Request,
    _: Ingester,
    runtime: RuntimeDep,
    service: str,
    sha: str | None = None,
    format: Annotated[
        str | None, Query(description="cobertura, lcov, coveragepy or jacoco (detected when left out)")
    ] = None,
) -> CoverageOut:
    """A coverage report (the request body): Cobertura, LCOV, coverage.py JSON or JaCoCo."""
    data = await request.body()
    return await run_in_threadpool(_store_coverage, runtime, service, sha, format, data)


def _store_coverage(runtime: Runtime, service: str, sha: str | None, fmt: str | None, data: bytes) -> CoverageOut:
    with runtime.sessions.begin() as session:
        return coverage_out(
            reports.import_coverage(session, service=service, data=data, sha=sha, fmt=fmt, now=runtime.now())
        )


@router.post("/improvements", response_model=EffectOut, status_code=201)
def mark_improvement(body: ImprovementIn, who: Writer, session: SessionDep, runtime: RuntimeDep) -> EffectOut:
    """Mark a change ("enabled BuildKit cache mounts") at a moment; answers its effect so far."""
    row = effects.create_improvement(
        session, service=body.service, title=body.title, measure=body.measure, at=body.at, by=who.name,
        now=runtime.now(), ref=body.ref,
    )  # fmt: skip
    session.commit()
    return effect_out(*effects.effect_of(session, improvement_id=row.id))


@router.get("/improvements/{improvement_id}/effect", response_model=EffectOut)
def improvement_effect(
    improvement_id: str, _: Reader, session: SessionDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> EffectOut:
    """Before/after medians, the rank test, a bootstrap interval and the sample sizes, over `days` each side."""
    return effect_out(*effects.effect_of(session, improvement_id=improvement_id, window_days=days))


@router.get("/services/{service}/regressions", response_model=list[RegressionOut])
def service_regressions(
    service: str, _: Reader, session: SessionDep, runtime: RuntimeDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[RegressionOut]:
    """Steps and tests whose recent median rose markedly, with the commit where it started."""
    found = effects.find_regressions(session, service=service, since=runtime.now() - timedelta(days=days))
    return [RegressionOut.model_validate(r, from_attributes=True) for r in found]


@router.post("/builds/{build}/buildkit", response_model=BuildKitOut, status_code=201)
async def import_buildkit(build: str, request: Request, _: Ingester, runtime: RuntimeDep, service: str) -> BuildKitOut:
    """A `docker buildx build --progress=rawjson` stream (the body) as the steps of a build's docker job."""
    data = await request.body()
    return await run_in_threadpool(_store_buildkit, runtime, service, build, data)


def _store_buildkit(runtime: Runtime, service: str, build: str, data: bytes) -> BuildKitOut:
    with runtime.sessions.begin() as session:
        job = reports.import_buildkit(
            session, bus=runtime.bus, service=service, build=build, data=data, now=runtime.now()
        )
        steps = session.scalars(select(DeliveryStep).where(DeliveryStep.job_id == job.id)).all()
        return BuildKitOut(job=job.id, steps=len(steps), cached=sum(1 for s in steps if s.cached))


@router.post("/buildx-history", response_model=BuildxHistoryOut, status_code=201)
async def import_buildx_history(request: Request, _: Ingester, runtime: RuntimeDep, service: str) -> BuildxHistoryOut:
    """A `docker buildx history inspect --format json` record (the body) as a build with its cached steps."""
    data = await request.body()
    return await run_in_threadpool(_store_buildx_history, runtime, service, data)


def _store_buildx_history(runtime: Runtime, service: str, data: bytes) -> BuildxHistoryOut:
    with runtime.sessions.begin() as session:
        run, record = reports.import_buildx_history(
            session, bus=runtime.bus, service=service, data=data, now=runtime.now()
        )
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else None
        return BuildxHistoryOut(
            run=run.id, ref=record.ref, status=run.status, conclusion=run.conclusion, seconds=seconds,
            steps_total=record.steps_total, steps_cached=record.steps_cached, cache_hit_ratio=record.cache_hit_ratio,
        )  # fmt: skip


@router.post("/images", response_model=ImageOut, status_code=201)
async def import_image(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    _: Ingester,
    runtime: RuntimeDep,
    service: str,
    kind: Annotated[str, Query(description="inspect (docker image inspect) or manifest (registry manifest JSON)")],
    ref: str | None = None,
    push_seconds: Annotated[float | None, Query(ge=0)] = None,
) -> ImageOut:
    data = await request.body()
    return await run_in_threadpool(_store_image, runtime, service, kind, ref, push_seconds, data)


def _store_image(  # noqa: PLR0917 - the document and what it describes
    runtime: Runtime, service: str, kind: str, ref: str | None, push_seconds: float | None, data: bytes
) -> ImageOut:
    with runtime.sessions.begin() as session:
        row = reports.import_image(
            session, service=service, data=data, kind=kind, ref=ref, push_seconds=push_seconds, now=runtime.now()
        )
        return ImageOut.model_validate(row, from_attributes=True)


@router.post("/code-stats", response_model=CodeStatOut, status_code=201)
async def import_code_stat(
    request: Request,
    _: Ingester,
    runtime: RuntimeDep,
    service: str,
    tool: Annotated[str, Query(description="cloc, tokei, rubocop or eslint")],
    sha: str | None = None,
) -> CodeStatOut:
    """A tool's JSON output (the body): code size per language or offences per severity."""
    data = await request.body()
    return await run_in_threadpool(_store_code_stat, runtime, service, tool, sha, data)


def _store_code_stat(runtime: Runtime, service: str, tool: str, sha: str | None, data: bytes) -> CodeStatOut:
    with runtime.sessions.begin() as session:
        row = reports.import_code_stat(session, service=service, tool=tool, data=data, sha=sha, now=runtime.now())
        return CodeStatOut.model_validate(row, from_attributes=True)


@router.get("/services/{service}/pull-requests", response_model=dict[str, PullRequestsOut])
def pull_requests_by(
    service: str,
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    group: Annotated[str, Query(pattern="^(repo|author)$")] = "repo",
    days: Annotated[int | None, Query(ge=1, le=366)] = None,
) -> dict[str, PullRequestsOut]:
    """PR phases per repository, or per author when the DeliveryPolicy opts in (pullRequestsByAuthor)."""
    policy = kinds.policy(session)
    if group == "author" and not policy.pull_requests_by_author:
        raise Forbidden("PR figures per author are off; set pullRequestsByAuthor: true in the DeliveryPolicy")
    end = runtime.now()
    start = end - timedelta(days=days or policy.window_days)
    found = measures.pull_requests_by(session, service=service, start=start, end=end, group=group)
    return {key: pull_requests_out(stats) for key, stats in found.items()}


@router.get("/pull-requests", response_model=dict[str, PullRequestsOut])
def pull_requests_by_team(
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    group: Annotated[str, Query(pattern="^(team|author_team)$")] = "team",
    days: Annotated[int | None, Query(ge=1, le=366)] = None,
) -> dict[str, PullRequestsOut]:
    """PR phases of every service per owning team, or per the authors' teams when the DeliveryPolicy opts in
    (pullRequestsByAuthorTeam)."""
    policy = kinds.policy(session)
    if group == "author_team" and not policy.pull_requests_by_author_team:
        raise Forbidden("PR figures per author team are off; set pullRequestsByAuthorTeam: true in the DeliveryPolicy")
    end = runtime.now()
    start = end - timedelta(days=days or policy.window_days)
    by = "owner" if group == "team" else "author"
    found = teams.pull_requests_by_team(session, start=start, end=end, policy=policy, by=by)
    return {key: pull_requests_out(stats) for key, stats in found.items()}


@router.get("/toil", response_model=list[ToilOut])
def toil_per_team(
    _: Reader, session: SessionDep, runtime: RuntimeDep, days: Annotated[int, Query(ge=1, le=366)] = 28
) -> list[ToilOut]:
    """Inquiries and pages tagged as toil (the DeliveryPolicy's toil.tags) per team, week and source."""
    end = runtime.now()
    rows = teams.toil(session, since=end - timedelta(days=days), until=end, policy=kinds.policy(session))
    return [ToilOut(team=r.team, week=r.week, source=r.source, count=r.count) for r in rows]
