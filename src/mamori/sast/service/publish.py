"""Posting a gate verdict to the pull request on GitHub: the check run of the head commit (annotations on the
lines the pull request changed) and the one summary comment, both edited in place on the next run or push.
Every attempt, delivered or not, is in the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import deliveries
from mamori.core.errors import MamoriError, RateLimited, Unavailable, ValidationFailed
from mamori.core.runtime import Runtime
from mamori.integrations.errors import DeliveryError
from mamori.integrations.github_checks import Checks, GitHubChecks, RateLimitedError
from mamori.sast import check_run
from mamori.sast.gate import Verdict
from mamori.sast.models import SastScan

CHECK_NAME = "Mamori SAST"


@dataclass(frozen=True)
class Published:
    check_run_id: int
    check_run_url: str
    check_run_created: bool
    annotations: int
    comment_id: int | None = None
    comment_url: str | None = None
    comment_created: bool = False


def pull_request_of(session: Session, *, repo: str, head: str) -> int | None:
    """The pull request the head commit's scans were uploaded for (`--pr`), when they name exactly one."""
    prs = set(session.scalars(select(SastScan.pr).where(SastScan.repo == repo, SastScan.commit == head)))
    prs.discard(None)
    return prs.pop() if len(prs) == 1 else None


def client(runtime: Runtime) -> GitHubChecks | None:
    return runtime.state(Checks).github


def _log(runtime: Runtime, *, channel: str, target: str, subject: str, ok: bool, detail: str, now: datetime) -> None:
    with runtime.sessions.begin() as session:
        deliveries.record(
            session, at=now, source="sast", kind="notification", channel=channel, target=target, subject=subject,
            ok=ok, detail=detail,
        )  # fmt: skip


def _as_error(exc: DeliveryError) -> MamoriError:
    if isinstance(exc, RateLimitedError):
        return RateLimited(str(exc))
    return ValidationFailed(str(exc)) if exc.permanent else Unavailable(str(exc))


def publish(
    runtime: Runtime, *, verdict: Verdict, pr: int | None, diff: str | None = None, name: str = CHECK_NAME
) -> Published:
    """Post (or update) the check run, then the comment when the pull request is known. A GitHub refusal is
    logged as a failed delivery and raised as the MamoriError that says what to do (rate limited: exit 6;
    a permanent refusal such as a missing permission: exit 2; GitHub unreachable or failing: exit 7)."""
    github = client(runtime)
    if github is None:
        raise Unavailable(runtime.state(Checks).missing)
    now = runtime.now()
    subject = f"sast:gate:{verdict.repo}@{verdict.head}"[:300]
    body = check_run.body(verdict, diff=diff, name=name, limit=0)
    notes = check_run.annotations_for(verdict, diff=diff)
    target = f"{verdict.repo}@{verdict.head}"
    try:
        run = github.post_check_run(verdict.repo, body, notes)
    except DeliveryError as exc:
        _log(runtime, channel="github_check", target=target, subject=subject, ok=False, detail=str(exc), now=now)
        raise _as_error(exc) from None
    done = "created" if run.created else "updated"
    receipt = f"check run {run.id} {done} ({body['conclusion']}, {run.annotations_sent} annotations sent)"
    _log(runtime, channel="github_check", target=target, subject=subject, ok=True, detail=receipt, now=now)
    published = Published(run.id, run.url, run.created, run.annotations_sent)
    if pr is None:
        return published
    target = f"{verdict.repo}#{pr}"
    try:
        comment = github.upsert_comment(
            verdict.repo, pr, marker=check_run.COMMENT_MARKER, body=check_run.summary(verdict)
        )
    except DeliveryError as exc:
        _log(runtime, channel="github_comment", target=target, subject=subject, ok=False, detail=str(exc), now=now)
        raise _as_error(exc) from None
    receipt = f"comment {comment.id} {'created' if comment.created else 'edited'}"
    _log(runtime, channel="github_comment", target=target, subject=subject, ok=True, detail=receipt, now=now)
    return Published(run.id, run.url, run.created, run.annotations_sent, comment.id, comment.url, comment.created)
