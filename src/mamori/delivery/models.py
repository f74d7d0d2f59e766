"""The delivery domain's tables: webhook receipts, commits, pull requests, deploys, CI runs with jobs and
steps, and the incidents that touch deploys (as the incidents domain reported them by event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, JSONType, UTCDateTime, id_column_type, new_id


class DeliveryWebhook(Base):
    """One accepted webhook delivery (GitHub's X-GitHub-Delivery), so that a replay is counted once."""

    __tablename__ = "delivery_webhooks"
    __table_args__ = (UniqueConstraint("source", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    delivery_id: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(60))
    action: Mapped[str | None] = mapped_column(String(60), nullable=True)
    repo: Mapped[str | None] = mapped_column(String(300), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))  # stored | ignored
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryCommit(Base):
    """A commit as a push reported it; `parent_sha` is its predecessor in that push (first-parent chain)."""

    __tablename__ = "delivery_commits"
    __table_args__ = (UniqueConstraint("repo", "sha"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    sha: Mapped[str] = mapped_column(String(64))
    parent_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    authored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryPullRequest(Base):
    """A pull request and the moments its phases are measured from."""

    __tablename__ = "delivery_pull_requests"
    __table_args__ = (UniqueConstraint("repo", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    number: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str] = mapped_column(String(20))  # open | closed | merged
    base_branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    head_branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    head_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    merge_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    additions: Mapped[int] = mapped_column(Integer, default=0)
    deletions: Mapped[int] = mapped_column(Integer, default=0)
    changed_files: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_commit_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_rounds: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryDeploy(Base):
    """A deploy of one service's version to one environment, from any source (GitHub, the generic API)."""

    __tablename__ = "delivery_deploys"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_delivery_deploys_service_env_finished", "service", "environment", "finished_at"),
    )

    id: Mapped[str] = mapped_column(id_column_type(), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    repo: Mapped[str | None] = mapped_column(String(300), nullable=True)
    environment: Mapped[str] = mapped_column(String(100))
    production: Mapped[bool] = mapped_column(Boolean, default=False)
    sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # pending | in_progress | success | failure
    rollback: Mapped[bool] = mapped_column(Boolean, default=False)
    hotfix: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryRun(Base):
    """A CI run (a GitHub workflow run or check run, or a build any CI reported)."""

    __tablename__ = "delivery_runs"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_delivery_runs_service_started", "service", "started_at"),
    )

    id: Mapped[str] = mapped_column(id_column_type(), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # workflow | check | build
    service: Mapped[str] = mapped_column(String(200))
    repo: Mapped[str | None] = mapped_column(String(300), nullable=True)
    name: Mapped[str] = mapped_column(String(300))
    branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    conclusion: Mapped[str | None] = mapped_column(String(30), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    steps_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """From `docker buildx history inspect`: the build's steps, and how many of them hit the cache."""
    steps_cached: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DeliveryJob(Base):
    """One job of a run (a GitHub workflow job); its steps hang off it."""

    __tablename__ = "delivery_jobs"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[str] = mapped_column(id_column_type(), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("delivery_runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    conclusion: Mapped[str | None] = mapped_column(String(30), nullable=True)
    runner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryStep(Base):
    """A step of a job with its start and end (the build waterfall and the step trends)."""

    __tablename__ = "delivery_steps"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("delivery_jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    conclusion: Mapped[str | None] = mapped_column(String(30), nullable=True)
    cached: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryIncident(Base):
    """An incident on a service as the incidents domain announced it: the source of failed and unplanned
    deploys (which deploy it is attributed to is worked out when the measures are computed)."""

    __tablename__ = "delivery_incidents"

    incident_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    service: Mapped[str | None] = mapped_column(String(200), nullable=True)
    severity: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text, default="")
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryTestRun(Base):
    """One imported test report (JUnit XML) for a service at a commit."""

    __tablename__ = "delivery_test_runs"

    id: Mapped[str] = mapped_column(id_column_type(), primary_key=True, default=new_id)
    service: Mapped[str] = mapped_column(String(200), index=True)
    sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    tests: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryTestCase(Base):
    """One test case's outcome in one test run."""

    __tablename__ = "delivery_test_cases"
    __table_args__ = (Index("ix_delivery_test_cases_name", "test_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("delivery_test_runs.id", ondelete="CASCADE"), index=True)
    test_id: Mapped[str] = mapped_column(String(1000))
    outcome: Mapped[str] = mapped_column(String(10))  # passed | failed | error | skipped
    duration_s: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    flaky: Mapped[bool] = mapped_column(Boolean, default=False)


class DeliveryCoverage(Base):
    """One coverage report's totals for a service at a commit."""

    __tablename__ = "delivery_coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(200), index=True)
    sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    format: Mapped[str] = mapped_column(String(20))
    lines_covered: Mapped[int] = mapped_column(Integer)
    lines_valid: Mapped[int] = mapped_column(Integer)
    branches_covered: Mapped[int | None] = mapped_column(Integer, nullable=True)
    branches_valid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    files: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryImprovement(Base):
    """A change whose effect is measured ("enabled BuildKit cache mounts"): before/after `at` on one measure."""

    __tablename__ = "delivery_improvements"

    id: Mapped[str] = mapped_column(id_column_type(), primary_key=True, default=new_id)
    service: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(String(400))  # step:<job>/<step> | build | lead_time | tests
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(40))  # manual | pr | deploy
    ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryPage(Base):
    """A page delivered to a person (the incidents domain's AlertGroupPaged): the on-call load per person."""

    __tablename__ = "delivery_pages"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String(300), index=True)
    service: Mapped[str | None] = mapped_column(String(200), nullable=True)
    group_id: Mapped[str] = mapped_column(String(100))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default=text("'[]'"))
    """The alert's labels as `name` and `name=value` (what a toil tag is matched against)."""


class DeliveryImage(Base):
    """An image built for a service: its size, its layers' sizes and how long its push took."""

    __tablename__ = "delivery_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(200), index=True)
    ref: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str | None] = mapped_column(String(100), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    layers: Mapped[list[int]] = mapped_column(JSONType, default=list)
    push_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryCodeStat(Base):
    """A code size count (cloc, tokei) or a static-analysis count (RuboCop, ESLint, SAST by event) of a
    service at a commit: `counts` is code lines per language, or offences per severity."""

    __tablename__ = "delivery_code_stats"
    __table_args__ = (Index("ix_delivery_code_stats_service_kind", "service", "kind", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # size | lint
    tool: Mapped[str] = mapped_column(String(40))
    sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    total: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryBackfill(Base):
    """Where the GitHub REST backfill of one repository's list stands: the first page's ETag, the page to resume
    from, the newest item of the last complete sweep, and when the rate limit lets it go on."""

    __tablename__ = "delivery_backfills"
    __table_args__ = (UniqueConstraint("repo", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    resource: Mapped[str] = mapped_column(String(40))
    etag: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pending_etag: Mapped[str | None] = mapped_column(String(200), nullable=True)
    next_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    newest: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sweep_newest: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
    swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryInquiry(Base):
    """A question to the dev team (a Slack message in a watched channel, a Jira issue) and how it was answered."""

    __tablename__ = "delivery_inquiries"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(20))  # slack | jira
    key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str] = mapped_column(Text, default="")
    asked_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_responder: Mapped[str | None] = mapped_column(String(300), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default=text("'[]'"))
    """Jira labels, or the #hashtags of a Slack question (lowercase, without the #)."""
