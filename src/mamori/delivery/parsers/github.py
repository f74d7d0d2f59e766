"""GitHub webhooks: the X-Hub-Signature-256 check and the payloads Mamori reads, turned into typed records.

Pure: bytes and dicts in, records out. A payload that lacks a field Mamori needs raises `PayloadError`
naming the path inside the document (`workflow_job.steps[2].started_at`), so a sender sees what is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.delivery.records import (
    CommitRecord,
    DeployRecord,
    DeployStatusRecord,
    JobRecord,
    PullRequestRecord,
    Record,
    ReviewRecord,
    RunRecord,
    StepRecord,
    parse_time,
)

SIGNATURE_PREFIX = "sha256="
EVENTS = (
    "push",
    "pull_request",
    "pull_request_review",
    "workflow_run",
    "workflow_job",
    "deployment",
    "deployment_status",
    "check_run",
)
"""The events Mamori stores; any other (ping, issues, ...) is acknowledged and ignored."""


class SignatureError(Exception):
    """The request is not signed, or not with the secret Mamori holds."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


class PayloadError(ValueError):
    """A payload lacks a field Mamori needs, or has it in the wrong shape; `path` says where."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(f"{path}: {msg}")
        self.path = path
        self.msg = msg


def integration_secret(key: bytes, integration: str) -> bytes:
    """The webhook secret of one GitHub integration, derived from Mamori's secret key (shown by
    `mamori delivery github-secret`); changing MAMORI_SECRET_KEY changes every integration's secret."""
    return hmac.new(key, b"delivery-github-webhook:" + integration.encode(), hashlib.sha256).hexdigest().encode()


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for `body` (HMAC-SHA256, hex)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> None:
    """Raise `SignatureError` unless `header` is the signature of `body`; compares in constant time."""
    if not header:
        raise SignatureError(
            "the request has no X-Hub-Signature-256 header (set a secret on the webhook)", missing=True
        )
    if not header.startswith(SIGNATURE_PREFIX):
        raise SignatureError("X-Hub-Signature-256 must start with 'sha256='")
    if not hmac.compare_digest(sign(secret, body).encode(), header.strip().encode()):
        raise SignatureError("X-Hub-Signature-256 does not match the body and this integration's secret")


@dataclass
class _Doc:
    """Typed reads from a payload, each naming its path when the value is missing or wrong."""

    data: dict[str, Any]
    path: str = ""

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def obj(self, key: str) -> _Doc:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise PayloadError(self._where(key), "expected an object")
        return _Doc(value, self._where(key))

    def maybe_obj(self, key: str) -> _Doc | None:
        return self.obj(key) if isinstance(self.data.get(key), dict) else None

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise PayloadError(self._where(key), "expected a non-empty string")
        return str(value)

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        return self.text(key)

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise PayloadError(self._where(key), "expected an integer")
        return value

    def time(self, key: str) -> datetime:
        value = self.data.get(key)
        try:
            return parse_time(value)
        except ValueError as exc:
            raise PayloadError(self._where(key), str(exc)) from None

    def opt_time(self, key: str) -> datetime | None:
        return None if self.data.get(key) in (None, "") else self.time(key)

    def items(self, key: str) -> list[_Doc]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise PayloadError(self._where(key), "expected a list")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise PayloadError(f"{self._where(key)}[{i}]", "expected an object")
            out.append(_Doc(item, f"{self._where(key)}[{i}]"))
        return out

    def login(self, key: str) -> str | None:
        user = self.maybe_obj(key)
        return None if user is None else user.opt_str("login")


def repo_name(payload: dict[str, Any]) -> str:
    return _Doc(payload).obj("repository").text("full_name")


@dataclass
class Parsed:
    repo: str
    records: list[Record] = field(default_factory=list)


def parse(event: str, payload: Any) -> Parsed:
    """The records one webhook carries. `event` is the X-GitHub-Event header; it must be one of `EVENTS`."""
    if not isinstance(payload, dict):
        raise PayloadError("(body)", "expected a JSON object")
    doc = _Doc(payload)
    repo = doc.obj("repository").text("full_name")
    reader = _READERS.get(event)
    if reader is None:
        raise PayloadError("(X-GitHub-Event)", f"{event!r} is not an event Mamori reads")
    return Parsed(repo=repo, records=reader(doc, repo))


def _push(doc: _Doc, repo: str) -> list[Record]:
    ref = doc.text("ref")
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    parent = doc.opt_str("before")
    if parent is not None and set(parent) == {"0"}:
        parent = None  # a new branch: the push names no previous head
    out: list[Record] = []
    for c in doc.items("commits"):
        author = c.maybe_obj("author")
        sha = c.text("id")
        out.append(
            CommitRecord(
                repo=repo,
                sha=sha,
                parent_sha=parent,
                branch=branch,
                author=None if author is None else (author.opt_str("username") or author.opt_str("name")),
                message=str(c.data.get("message") or ""),
                authored_at=c.time("timestamp"),
            )
        )
        parent = sha
    return out


def _pull_request(doc: _Doc, repo: str) -> list[Record]:
    pr = doc.obj("pull_request")
    merged_at = pr.opt_time("merged_at")
    state = "merged" if merged_at is not None else pr.text("state")
    labels = [label.text("name") for label in pr.items("labels")]
    base = pr.maybe_obj("base")
    head = pr.maybe_obj("head")
    return [
        PullRequestRecord(
            repo=repo,
            number=pr.integer("number"),
            title=str(pr.data.get("title") or ""),
            author=pr.login("user"),
            state=state,
            base_branch=None if base is None else base.opt_str("ref"),
            head_branch=None if head is None else head.opt_str("ref"),
            head_sha=None if head is None else head.opt_str("sha"),
            merge_sha=pr.opt_str("merge_commit_sha") if merged_at is not None else None,
            labels=labels,
            additions=pr.integer("additions", 0),
            deletions=pr.integer("deletions", 0),
            changed_files=pr.integer("changed_files", 0),
            created_at=pr.time("created_at"),
            updated_at=pr.time("updated_at"),
            merged_at=merged_at,
            closed_at=pr.opt_time("closed_at"),
        )
    ]


def _review(doc: _Doc, repo: str) -> list[Record]:
    if doc.opt_str("action") != "submitted":
        return []
    review = doc.obj("review")
    pr = doc.obj("pull_request")
    return [
        *_pull_request(doc, repo),
        ReviewRecord(
            repo=repo,
            number=pr.integer("number"),
            pr_author=pr.login("user"),
            pr_created_at=pr.time("created_at"),
            reviewer=review.login("user"),
            state=review.text("state").lower(),
            submitted_at=review.time("submitted_at"),
        ),
    ]


def _workflow_run(doc: _Doc, repo: str) -> list[Record]:
    run = doc.obj("workflow_run")
    return [
        RunRecord(
            external_id=f"{repo}/runs/{run.text('id')}",
            kind="workflow",
            repo=repo,
            name=run.opt_str("name") or "workflow",
            branch=run.opt_str("head_branch"),
            sha=run.opt_str("head_sha"),
            status=run.text("status"),
            conclusion=run.opt_str("conclusion"),
            attempt=run.integer("run_attempt", 1),
            created_at=run.time("created_at"),
            started_at=run.opt_time("run_started_at") or run.opt_time("created_at"),
            finished_at=run.opt_time("updated_at") if run.data.get("status") == "completed" else None,
        )
    ]


def _steps(job: _Doc) -> list[StepRecord]:
    return [
        StepRecord(
            number=s.integer("number"),
            name=s.text("name"),
            status=s.text("status"),
            conclusion=s.opt_str("conclusion"),
            started_at=s.opt_time("started_at"),
            finished_at=s.opt_time("completed_at"),
            cached=None,
        )
        for s in job.items("steps")
    ]


def _workflow_job(doc: _Doc, repo: str) -> list[Record]:
    job = doc.obj("workflow_job")
    return [
        JobRecord(
            external_id=f"{repo}/jobs/{job.text('id')}",
            run_external_id=f"{repo}/runs/{job.text('run_id')}",
            run_name=job.opt_str("workflow_name") or "workflow",
            repo=repo,
            branch=job.opt_str("head_branch"),
            sha=job.opt_str("head_sha"),
            name=job.text("name"),
            status=job.text("status"),
            conclusion=job.opt_str("conclusion"),
            runner=job.opt_str("runner_name"),
            created_at=job.opt_time("created_at"),
            started_at=job.opt_time("started_at"),
            finished_at=job.opt_time("completed_at"),
            steps=_steps(job),
        )
    ]


def _deployment(doc: _Doc, repo: str) -> list[Record]:
    dep = doc.obj("deployment")
    return [
        DeployRecord(
            external_id=f"{repo}/deployments/{dep.text('id')}",
            repo=repo,
            service=None,
            environment=dep.text("environment"),
            sha=dep.opt_str("sha"),
            version=None,
            branch=dep.opt_str("ref"),
            status="pending",
            created_at=dep.time("created_at"),
            started_at=dep.time("created_at"),
            finished_at=None,
        )
    ]


def _deployment_status(doc: _Doc, repo: str) -> list[Record]:
    status = doc.obj("deployment_status")
    return [
        *_deployment(doc, repo),
        DeployStatusRecord(
            external_id=f"{repo}/deployments/{doc.obj('deployment').text('id')}",
            state=status.text("state"),
            at=status.time("created_at"),
            environment=status.opt_str("environment"),
        ),
    ]


def _check_run(doc: _Doc, repo: str) -> list[Record]:
    check = doc.obj("check_run")
    suite = check.maybe_obj("check_suite")
    return [
        RunRecord(
            external_id=f"{repo}/check-runs/{check.text('id')}",
            kind="check",
            repo=repo,
            name=check.text("name"),
            branch=None if suite is None else suite.opt_str("head_branch"),
            sha=check.opt_str("head_sha"),
            status=check.text("status"),
            conclusion=check.opt_str("conclusion"),
            attempt=1,
            created_at=check.time("started_at"),
            started_at=check.opt_time("started_at"),
            finished_at=check.opt_time("completed_at"),
        )
    ]


_READERS = {
    "push": _push,
    "pull_request": _pull_request,
    "pull_request_review": _review,
    "workflow_run": _workflow_run,
    "workflow_job": _workflow_job,
    "deployment": _deployment,
    "deployment_status": _deployment_status,
    "check_run": _check_run,
}


def records_of(event: str, item: dict[str, Any], repo: str) -> list[Record]:
    """The records of one object as the REST API lists it (a pull request, a workflow run, a deployment),
    read as the webhook of the same event would carry it."""
    return _READERS[event](_Doc({event: item, "repository": {"full_name": repo}}), repo)


def deploy_status(status: dict[str, Any], *, external_id: str) -> DeployStatusRecord:
    """A deployment status as GET /repos/{repo}/deployments/{id}/statuses lists it."""
    doc = _Doc(status, "statuses[0]")
    return DeployStatusRecord(
        external_id=external_id,
        state=doc.text("state"),
        at=doc.time("created_at"),
        environment=doc.opt_str("environment"),
    )
