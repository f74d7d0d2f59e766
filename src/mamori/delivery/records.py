"""The typed records every source (GitHub webhooks, the generic API and CLI) is turned into before storing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TERMINAL_DEPLOY_STATES = {"success": "success", "failure": "failure", "error": "failure", "inactive": None}
"""GitHub deployment states that end a deploy, and the status Mamori keeps (inactive: superseded, no change)."""


def parse_time(value: Any) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (a trailing Z allowed); ValueError saying what was wrong."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (add Z or +00:00)")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class CommitRecord:
    repo: str
    sha: str
    parent_sha: str | None
    branch: str | None
    author: str | None
    message: str
    authored_at: datetime


@dataclass(frozen=True)
class PullRequestRecord:
    repo: str
    number: int
    title: str
    author: str | None
    state: str
    base_branch: str | None
    head_branch: str | None
    head_sha: str | None
    merge_sha: str | None
    labels: list[str]
    additions: int
    deletions: int
    changed_files: int
    created_at: datetime
    updated_at: datetime
    merged_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class ReviewRecord:
    repo: str
    number: int
    pr_author: str | None
    pr_created_at: datetime
    reviewer: str | None
    state: str
    submitted_at: datetime


@dataclass(frozen=True)
class DeployRecord:
    external_id: str
    repo: str | None
    service: str | None
    environment: str
    sha: str | None
    version: str | None
    branch: str | None
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rollback: bool = False
    hotfix: bool = False


@dataclass(frozen=True)
class DeployStatusRecord:
    external_id: str
    state: str
    at: datetime
    environment: str | None


@dataclass(frozen=True)
class RunRecord:
    external_id: str
    kind: str
    repo: str | None
    name: str
    branch: str | None
    sha: str | None
    status: str
    conclusion: str | None
    attempt: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    service: str | None = None


@dataclass(frozen=True)
class StepRecord:
    number: int
    name: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    finished_at: datetime | None
    cached: bool | None = None


@dataclass(frozen=True)
class JobRecord:
    external_id: str
    run_external_id: str
    run_name: str
    repo: str | None
    branch: str | None
    sha: str | None
    name: str
    status: str
    conclusion: str | None
    runner: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepRecord] = field(default_factory=list)
    service: str | None = None


Record = CommitRecord | PullRequestRecord | ReviewRecord | DeployRecord | DeployStatusRecord | RunRecord | JobRecord
