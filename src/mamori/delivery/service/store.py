"""Storing typed records (from webhooks, the generic API, the CLI) into the delivery tables: upserts that
keep the newest state of each object, in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from mamori.core import jobs, timeline
from mamori.core.events import EventBus
from mamori.delivery.events import DeployFinished
from mamori.delivery.kinds import DeliveryPolicySpec
from mamori.delivery.models import (
    DeliveryCommit,
    DeliveryDeploy,
    DeliveryImprovement,
    DeliveryJob,
    DeliveryPullRequest,
    DeliveryRun,
    DeliveryStep,
)
from mamori.delivery.records import (
    TERMINAL_DEPLOY_STATES,
    CommitRecord,
    DeployRecord,
    DeployStatusRecord,
    JobRecord,
    PullRequestRecord,
    Record,
    ReviewRecord,
    RunRecord,
)

DATADOG_EVENT_JOB = "delivery.datadog_deploy_event"
"""Sent by jobs.datadog_deploy_event (named here too: the store enqueues it, jobs imports the store)."""
RUN_ORDER = {"requested": 0, "waiting": 1, "pending": 1, "queued": 2, "in_progress": 3, "completed": 4}

# The look-ups every delivery makes, built once: building a statement costs more than running it on SQLite.
_COMMIT = select(DeliveryCommit).where(DeliveryCommit.repo == bindparam("repo"), DeliveryCommit.sha == bindparam("sha"))
_PULL_REQUEST = select(DeliveryPullRequest).where(
    DeliveryPullRequest.repo == bindparam("repo"), DeliveryPullRequest.number == bindparam("number")
)
_DEPLOY = select(DeliveryDeploy).where(
    DeliveryDeploy.source == bindparam("source"), DeliveryDeploy.external_id == bindparam("external_id")
)
_RUN = select(DeliveryRun).where(
    DeliveryRun.source == bindparam("source"), DeliveryRun.external_id == bindparam("external_id")
)
_JOB = select(DeliveryJob).where(
    DeliveryJob.source == bindparam("source"), DeliveryJob.external_id == bindparam("external_id")
)
_STEPS_OF = delete(DeliveryStep).where(DeliveryStep.job_id == bindparam("job_id"))


@dataclass
class Stored:
    """What one import changed, by table."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Store:
    """Writes records for one source; publishes DeployFinished on `bus` when a deploy ends."""

    session: Session
    policy: DeliveryPolicySpec
    bus: EventBus
    source: str
    now: datetime
    stored: Stored = field(default_factory=Stored)

    def add(self, records: list[Record]) -> Stored:
        for record in records:
            self._one(record)
        self.session.flush()
        return self.stored

    def _one(self, record: Record) -> None:
        if isinstance(record, CommitRecord):
            return self._commit(record)
        if isinstance(record, PullRequestRecord):
            return self._pull_request(record)
        if isinstance(record, ReviewRecord):
            return self._review(record)
        if isinstance(record, DeployRecord):
            self.deploy(record)
            return None
        if isinstance(record, DeployStatusRecord):
            return self._deploy_status(record)
        if isinstance(record, RunRecord):
            self.run(record)
            return None
        self.job(record)
        return None

    def _commit(self, r: CommitRecord) -> None:
        row = self.session.scalar(_COMMIT, {"repo": r.repo, "sha": r.sha})
        if row is None:
            self.session.add(
                DeliveryCommit(
                    repo=r.repo,
                    sha=r.sha,
                    parent_sha=r.parent_sha,
                    branch=r.branch,
                    author=r.author,
                    message=r.message[:4000],
                    authored_at=r.authored_at,
                    pushed_at=self.now,
                )
            )
            self.stored.add("commits")
        elif row.parent_sha is None and r.parent_sha is not None:
            row.parent_sha = r.parent_sha

    def _pr_row(self, repo: str, number: int) -> DeliveryPullRequest | None:
        return self.session.scalar(_PULL_REQUEST, {"repo": repo, "number": number})

    def _pull_request(self, r: PullRequestRecord) -> None:
        row = self._pr_row(r.repo, r.number)
        if row is None:
            row = DeliveryPullRequest(repo=r.repo, number=r.number, created_at=r.created_at, review_rounds=0)
            self.session.add(row)
        elif r.updated_at < row.updated_at:
            return  # an older state arriving late changes nothing
        row.service = self.policy.service_of(r.repo)
        row.title, row.author, row.state, row.labels = r.title, r.author, r.state, list(r.labels)
        row.base_branch, row.head_branch, row.head_sha = r.base_branch, r.head_branch, r.head_sha
        row.merge_sha = r.merge_sha or row.merge_sha
        row.created_at, row.updated_at, row.merged_at, row.closed_at = (
            r.created_at,
            r.updated_at,
            r.merged_at,
            r.closed_at,
        )
        if r.additions or r.deletions or r.changed_files:  # review payloads carry no size
            row.additions, row.deletions, row.changed_files = r.additions, r.deletions, r.changed_files
        self.session.flush()
        self.stored.add("pull_requests")
        if r.merged_at is not None and self.policy.improvement_label in r.labels:
            self._improvement_from(row, r.merged_at)

    def _improvement_from(self, row: DeliveryPullRequest, merged_at: datetime) -> None:
        """A merged PR labelled as an improvement is measured from its merge (once per PR)."""
        ref = f"{row.repo}#{row.number}"
        if self.session.scalar(select(DeliveryImprovement.id).where(DeliveryImprovement.ref == ref)) is None:
            self.session.add(
                DeliveryImprovement(
                    service=row.service,
                    title=row.title or ref,
                    measure=self.policy.improvement_measure,
                    at=merged_at,
                    source="pr",
                    ref=ref,
                    created_by=row.author or "github",
                    created_at=self.now,
                )
            )

    def _review(self, r: ReviewRecord) -> None:
        row = self._pr_row(r.repo, r.number)
        if row is None or (r.reviewer is not None and r.reviewer == row.author):
            return
        if row.first_review_at is None or r.submitted_at < row.first_review_at:
            row.first_review_at = r.submitted_at
        row.review_rounds = (row.review_rounds or 0) + 1
        self.stored.add("reviews")

    def deploy(self, r: DeployRecord) -> DeliveryDeploy:
        row = self.session.scalar(_DEPLOY, {"source": self.source, "external_id": r.external_id})
        if row is None:
            row = DeliveryDeploy(
                source=self.source,
                external_id=r.external_id,
                service=r.service or self.policy.service_of(r.repo),
                repo=r.repo,
                environment=r.environment,
                production=self.policy.is_production(r.environment),
                sha=r.sha,
                version=r.version,
                branch=r.branch,
                status=r.status,
                rollback=r.rollback,
                hotfix=r.hotfix,
                created_at=r.created_at,
                started_at=r.started_at,
                finished_at=r.finished_at,
            )
            self.session.add(row)
            self.session.flush()
            self.stored.add("deploys")
            if r.status in ("success", "failure") and r.finished_at is not None:
                self._finished(row)
        return row

    def _deploy_status(self, r: DeployStatusRecord) -> None:
        row = self.session.scalar(_DEPLOY, {"source": self.source, "external_id": r.external_id})
        if row is None or row.status in ("success", "failure"):
            return  # a late or repeated status after the end changes nothing
        if r.state in TERMINAL_DEPLOY_STATES:
            status = TERMINAL_DEPLOY_STATES[r.state]
            if status is None:
                return
            row.status, row.finished_at = status, r.at
            self._finished(row)
        else:
            row.status = "in_progress"
            row.started_at = row.started_at or r.at
        self.stored.add("deploy_statuses")

    def _finished(self, row: DeliveryDeploy) -> None:
        if row.production and self.policy.datadog is not None:
            jobs.enqueue(
                self.session,
                kind=DATADOG_EVENT_JOB,
                now=self.now,
                payload={"deploy_id": row.id},
                dedupe_key=f"delivery-datadog-event:{row.id}",
            )
        if row.status == "success" and row.production and not row.rollback and row.sha:
            row.rollback = self._is_redeploy(row)
        if row.production:
            what = "rollback" if row.rollback else ("deploy" if row.status == "success" else "failed deploy")
            timeline.record(
                self.session,
                at=row.finished_at or self.now,
                kind="deploy",
                source="delivery",
                title=f"{row.service}: {what} of {row.version or (row.sha or '')[:12]} to {row.environment}",
                service=row.service,
                data={"status": row.status, "sha": row.sha, "deploy": row.id},
                ref=f"/delivery/services/{row.service}",
            )
        self.bus.publish(
            self.session,
            DeployFinished(
                deploy_id=row.id,
                service=row.service,
                environment=row.environment,
                production=row.production,
                status=row.status,
                sha=row.sha,
                version=row.version,
                rollback=row.rollback,
                at=row.finished_at or self.now,
            ),
            now=self.now,
        )

    def _is_redeploy(self, row: DeliveryDeploy) -> bool:
        """A success of a commit that already ran here, with another commit in between: a rollback."""
        if not self.policy.dora.redeploy_is_rollback:
            return False
        earlier = self.session.scalars(
            select(DeliveryDeploy.sha)
            .where(
                DeliveryDeploy.service == row.service,
                DeliveryDeploy.environment == row.environment,
                DeliveryDeploy.status == "success",
                DeliveryDeploy.id != row.id,
                DeliveryDeploy.finished_at <= (row.finished_at or self.now),
            )
            .order_by(DeliveryDeploy.finished_at.desc())
        ).all()
        return bool(earlier) and earlier[0] != row.sha and row.sha in earlier

    def run(self, r: RunRecord) -> DeliveryRun:
        row = self.session.scalar(_RUN, {"source": self.source, "external_id": r.external_id})
        if row is None:
            row = DeliveryRun(source=self.source, external_id=r.external_id, created_at=r.created_at, status=r.status)
            self.session.add(row)
        elif RUN_ORDER.get(r.status, 0) < RUN_ORDER.get(row.status, 0) and r.attempt <= row.attempt:
            return row
        row.kind, row.repo, row.name = r.kind, r.repo, r.name
        row.service = r.service or self.policy.service_of(r.repo)
        row.branch, row.sha = r.branch or row.branch, r.sha or row.sha
        row.status, row.conclusion, row.attempt = r.status, r.conclusion, r.attempt
        row.started_at = r.started_at or row.started_at
        row.finished_at = r.finished_at
        self.session.flush()
        self.stored.add("runs")
        return row

    def job(self, r: JobRecord) -> DeliveryJob:
        run = self.session.scalar(_RUN, {"source": self.source, "external_id": r.run_external_id})
        if run is None:  # the job's event came before its run's
            run = self.run(
                RunRecord(
                    external_id=r.run_external_id,
                    kind="workflow",
                    repo=r.repo,
                    name=r.run_name,
                    branch=r.branch,
                    sha=r.sha,
                    status="queued",
                    conclusion=None,
                    attempt=1,
                    created_at=r.created_at or r.started_at or self.now,
                    started_at=r.started_at,
                    finished_at=None,
                    service=r.service,
                )
            )
        row = self.session.scalar(_JOB, {"source": self.source, "external_id": r.external_id})
        if row is None:
            row = DeliveryJob(source=self.source, external_id=r.external_id, run_id=run.id, status=r.status)
            self.session.add(row)
        elif RUN_ORDER.get(r.status, 0) < RUN_ORDER.get(row.status, 0):
            return row
        row.name, row.status, row.conclusion, row.runner = r.name, r.status, r.conclusion, r.runner
        row.started_at, row.finished_at = r.started_at, r.finished_at
        self.session.flush()
        if r.steps:
            self.session.execute(_STEPS_OF, {"job_id": row.id})
            for s in r.steps:
                self.session.add(
                    DeliveryStep(
                        job_id=row.id,
                        number=s.number,
                        name=s.name,
                        status=s.status,
                        conclusion=s.conclusion,
                        cached=s.cached,
                        started_at=s.started_at,
                        finished_at=s.finished_at,
                    )
                )
                self.stored.add("steps")
        self.stored.add("jobs")
        return row
