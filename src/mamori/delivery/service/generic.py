"""The generic record API for any CI (CircleCI, GitLab, Jenkins, scripts): deploys, builds and their steps,
stored through the same upserts as GitHub's records (source `api`)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.errors import NotFound
from mamori.core.events import EventBus
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryDeploy, DeliveryJob, DeliveryRun, DeliveryStep
from mamori.delivery.records import DeployRecord, JobRecord, RunRecord
from mamori.delivery.schemas import BuildIn, DeployIn, StepIn
from mamori.delivery.service import effects
from mamori.delivery.service.store import Store

SOURCE = "api"
CONCLUSION_STATUS = {"success": "success", "failure": "failure", "cancelled": "cancelled", "skipped": "skipped"}


def _store(session: Session, bus: EventBus, now: datetime) -> Store:
    return Store(session=session, policy=kinds.policy(session), bus=bus, source=SOURCE, now=now)


def _deploy_id(body: DeployIn) -> str:
    """Your id, else one made of what identifies the deploy (so sending it twice counts once)."""
    if body.id:
        return body.id
    key = f"{body.service}|{body.environment}|{body.sha or body.version}|{body.finished_at.isoformat()}"
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def record_deploy(session: Session, *, bus: EventBus, body: DeployIn, now: datetime) -> tuple[DeliveryDeploy, bool]:
    """Store a finished deploy; returns it and whether it was new."""
    external = _deploy_id(body)
    existing = session.scalar(
        select(DeliveryDeploy).where(DeliveryDeploy.source == SOURCE, DeliveryDeploy.external_id == external)
    )
    if existing is not None:
        return existing, False
    row = _store(session, bus, now).deploy(
        DeployRecord(
            external_id=external,
            repo=body.repo,
            service=body.service,
            environment=body.environment,
            sha=body.sha,
            version=body.version,
            branch=body.branch,
            status=body.status,
            created_at=body.started_at or body.finished_at,
            started_at=body.started_at,
            finished_at=body.finished_at,
            rollback=body.rollback,
            hotfix=body.hotfix,
        )
    )
    if body.improvement is not None:
        effects.create_improvement(
            session,
            service=body.service,
            title=body.improvement.title,
            measure=body.improvement.measure,
            at=body.finished_at,
            by="deploy",
            now=now,
            source="deploy",
            ref=external,
        )
    return row, True


def record_build(session: Session, *, bus: EventBus, body: BuildIn, now: datetime) -> DeliveryRun:
    done = body.finished_at is not None
    return _store(session, bus, now).run(
        RunRecord(
            external_id=body.id,
            kind="build",
            repo=None,
            name=body.name,
            branch=body.branch,
            sha=body.sha,
            status="completed" if done else "in_progress",
            conclusion=CONCLUSION_STATUS[body.status] if done else None,
            attempt=1,
            created_at=body.started_at,
            started_at=body.started_at,
            finished_at=body.finished_at,
            service=body.service,
        )
    )


def record_step(session: Session, *, bus: EventBus, body: StepIn, now: datetime) -> DeliveryStep:
    """Add (or replace, by number) one step of a recorded build's job."""
    run = session.scalar(select(DeliveryRun).where(DeliveryRun.source == SOURCE, DeliveryRun.external_id == body.build))
    if run is None:
        raise NotFound(f"no build {body.build!r} was recorded; record the build first (record build --id ...)")
    job_key = f"{body.build}/jobs/{body.job}"
    job = session.scalar(select(DeliveryJob).where(DeliveryJob.source == SOURCE, DeliveryJob.external_id == job_key))
    if job is None:
        job = _store(session, bus, now).job(
            JobRecord(
                external_id=job_key,
                run_external_id=body.build,
                run_name=run.name,
                repo=run.repo,
                branch=run.branch,
                sha=run.sha,
                name=body.job,
                status="in_progress",
                conclusion=None,
                runner=None,
                created_at=body.started_at,
                started_at=body.started_at,
                finished_at=None,
                service=run.service,
            )
        )
    number = body.number
    if number is None:
        number = (session.scalar(select(func.max(DeliveryStep.number)).where(DeliveryStep.job_id == job.id)) or 0) + 1
    step = session.scalar(select(DeliveryStep).where(DeliveryStep.job_id == job.id, DeliveryStep.number == number))
    if step is None:
        step = DeliveryStep(job_id=job.id, number=number, name=body.name, status="completed")
        session.add(step)
    step.name, step.status, step.conclusion = body.name, "completed", CONCLUSION_STATUS[body.status]
    step.cached, step.started_at, step.finished_at = body.cached, body.started_at, body.finished_at
    job.started_at = min(job.started_at or body.started_at, body.started_at)
    job.finished_at = max(job.finished_at or body.finished_at, body.finished_at)
    session.flush()
    return step
