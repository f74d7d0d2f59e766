"""A pull request's phases (coding, pickup, review, deploy) and cycle time, in seconds (pure).

- coding: first commit authored -> PR opened
- pickup: PR opened -> first comment or review by someone other than the author
- review: that first review -> merged
- deploy: merged -> the first successful production deploy that shipped the merge commit finished
- cycle: the earlier of first commit and opening -> deployed (merged when not deployed yet)

A phase that comes out negative (a review before the PR was opened, a deploy before the merge) is None,
as DevLake reports it; the cycle time then runs to the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Review:
    id: str
    by: str | None
    at: datetime


@dataclass(frozen=True)
class Phases:
    coding_s: float | None
    pickup_s: float | None
    review_s: float | None
    deploy_s: float | None
    cycle_s: float
    first_review_id: str | None


def _span(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    return seconds if seconds >= 0 else None


def first_review(reviews: Sequence[Review], author: str | None) -> Review | None:
    others = [r for r in reviews if author is None or r.by != author]
    return min(others, key=lambda r: (r.at, r.id)) if others else None


def phases(
    *,
    created_at: datetime,
    merged_at: datetime,
    author: str | None,
    first_commit_at: datetime | None,
    reviews: Sequence[Review],
    deployed_at: datetime | None,
) -> Phases:
    review = first_review(reviews, author)
    reviewed_at = None if review is None else review.at
    deploy = _span(merged_at, deployed_at)
    start = created_at if first_commit_at is None else min(first_commit_at, created_at)
    end = deployed_at if deploy is not None and deployed_at is not None else merged_at
    return Phases(
        coding_s=_span(first_commit_at, created_at),
        pickup_s=_span(created_at, reviewed_at),
        review_s=_span(reviewed_at, merged_at),
        deploy_s=deploy,
        cycle_s=(end - start).total_seconds(),
        first_review_id=None if review is None else review.id,
    )
