"""The measures of one service over a window, read from the stored rows: DORA's five, pull request
phases, deploys per environment (the pure maths is in dora.py, changesets.py and prphases.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.delivery import changesets, dora, prphases
from mamori.delivery.figures import PullRequestStats, ServiceMeasures
from mamori.delivery.kinds import DeliveryPolicySpec
from mamori.delivery.models import DeliveryCommit, DeliveryDeploy, DeliveryIncident, DeliveryPullRequest


@dataclass(frozen=True)
class DeployRow:
    """What the measures read of a production deploy (a plain row: loading ORM objects cost more than the
    maths on a year of deploys)."""

    id: str
    repo: str | None
    environment: str
    sha: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rollback: bool
    hotfix: bool


_DEPLOY_COLUMNS = (
    DeliveryDeploy.id,
    DeliveryDeploy.repo,
    DeliveryDeploy.environment,
    DeliveryDeploy.sha,
    DeliveryDeploy.created_at,
    DeliveryDeploy.started_at,
    DeliveryDeploy.finished_at,
    DeliveryDeploy.rollback,
    DeliveryDeploy.hotfix,
)


def production_deploys(session: Session, service: str, end: datetime) -> list[DeployRow]:
    rows = session.execute(
        select(*_DEPLOY_COLUMNS)
        .where(
            DeliveryDeploy.service == service,
            DeliveryDeploy.production.is_(True),
            DeliveryDeploy.status == "success",
            DeliveryDeploy.finished_at.is_not(None),
            DeliveryDeploy.finished_at < end,
        )
        .order_by(DeliveryDeploy.finished_at)
    )
    return [DeployRow(*row) for row in rows]


def commit_history(session: Session, repos: set[str]) -> tuple[dict[str, str | None], dict[str, datetime]]:
    parents: dict[str, str | None] = {}
    authored: dict[str, datetime] = {}
    if repos:
        for sha, parent, at in session.execute(
            select(DeliveryCommit.sha, DeliveryCommit.parent_sha, DeliveryCommit.authored_at).where(
                DeliveryCommit.repo.in_(repos)
            )
        ):
            parents[sha], authored[sha] = parent, at
    return parents, authored


def shipped_commits(deploys: Sequence[DeployRow], parents: dict[str, str | None]) -> dict[str, str]:
    """Commit -> the production deploy that first shipped it (per environment's own history)."""
    points = [
        changesets.DeployPoint(
            id=d.id,
            scope=d.environment,
            sha=d.sha,
            started_at=d.started_at or d.finished_at or d.created_at,
            finished_at=d.finished_at,
            succeeded=True,
        )
        for d in deploys
    ]
    depths = changesets.chain_depths(parents)
    return changesets.shipped(points, lambda old, new: changesets.walk_chain(parents, old, new, depths=depths))


def measure(
    session: Session, *, service: str, start: datetime, end: datetime, policy: DeliveryPolicySpec
) -> ServiceMeasures:
    deploys = production_deploys(session, service, end)
    parents, authored = commit_history(session, {d.repo for d in deploys if d.repo})
    shipped = shipped_commits(deploys, parents)
    prs = list(session.scalars(select(DeliveryPullRequest).where(DeliveryPullRequest.service == service)))
    hotfix_shas = {
        pr.merge_sha
        for pr in prs
        if pr.merge_sha
        and (
            any(label in policy.dora.hotfix_labels for label in pr.labels or [])
            or any(pr.title.startswith(p) for p in policy.dora.revert_title_prefixes)
        )
    }
    hotfix_deploys = {deploy_id for sha, deploy_id in shipped.items() if sha in hotfix_shas}
    incidents = [
        dora.Incident(id=i.incident_id, declared_at=i.declared_at, resolved_at=i.resolved_at)
        for i in session.scalars(select(DeliveryIncident).where(DeliveryIncident.service == service))
        if policy.dora.include_drills or not i.drill
    ]
    figures = dora.compute(
        deploys=[
            dora.Deploy(
                id=d.id, finished_at=d.finished_at, rollback=d.rollback, hotfix=d.hotfix or d.id in hotfix_deploys
            )
            for d in deploys
            if d.finished_at is not None
        ],
        incidents=incidents,
        changes=[
            dora.Change(deploy_id=dep, committed_at=authored[sha]) for sha, dep in shipped.items() if sha in authored
        ],
        start=start,
        end=end,
        rules=policy.dora.rules(),
    )
    finished = {d.id: d.finished_at for d in deploys}
    return ServiceMeasures(
        service=service,
        start=start,
        end=end,
        dora=figures,
        pull_requests=pull_request_stats(prs, shipped, finished, authored_by_branch(session, prs), start, end),
    )


def authored_by_branch(session: Session, prs: Sequence[DeliveryPullRequest]) -> dict[tuple[str, str], datetime]:
    """(repo, branch) -> the earliest commit pushed to it: a PR's first commit."""
    branches = {(pr.repo, pr.head_branch) for pr in prs if pr.head_branch}
    out: dict[tuple[str, str], datetime] = {}
    if not branches:
        return out
    repos = {repo for repo, _ in branches}
    for repo, branch, at in session.execute(
        select(DeliveryCommit.repo, DeliveryCommit.branch, DeliveryCommit.authored_at).where(
            DeliveryCommit.repo.in_(repos)
        )
    ):
        if (
            branch is not None
            and (repo, branch) in branches
            and ((repo, branch) not in out or at < out[(repo, branch)])
        ):
            out[(repo, branch)] = at
    return out


def pull_request_stats(  # noqa: PLR0917 - the PRs and the lookups their phases need
    prs: Sequence[DeliveryPullRequest],
    shipped: dict[str, str],
    finished: dict[str, datetime | None],
    first_commits: dict[tuple[str, str], datetime],
    start: datetime,
    end: datetime,
) -> PullRequestStats:
    phases: list[prphases.Phases] = []
    sizes: list[float] = []
    rounds: list[float] = []
    for pr in prs:
        if pr.merged_at is None or not start <= pr.merged_at < end:
            continue
        deploy = shipped.get(pr.merge_sha or "")
        first_commit = pr.first_commit_at or first_commits.get((pr.repo, pr.head_branch or ""))
        reviews = [prphases.Review(id="first", by=None, at=pr.first_review_at)] if pr.first_review_at else []
        phases.append(
            prphases.phases(
                created_at=pr.created_at,
                merged_at=pr.merged_at,
                author=pr.author,
                first_commit_at=first_commit,
                reviews=reviews,
                deployed_at=finished.get(deploy) if deploy else None,
            )
        )
        sizes.append(float(pr.additions + pr.deletions))
        rounds.append(float(pr.review_rounds))
    med = dora.lower_median
    return PullRequestStats(
        merged=len(phases),
        coding_s=med(p.coding_s for p in phases if p.coding_s is not None),
        pickup_s=med(p.pickup_s for p in phases if p.pickup_s is not None),
        review_s=med(p.review_s for p in phases if p.review_s is not None),
        deploy_s=med(p.deploy_s for p in phases if p.deploy_s is not None),
        cycle_s=med(p.cycle_s for p in phases),
        size_median=med(sizes),
        review_rounds_median=med(rounds),
    )


def pull_requests_by(
    session: Session, *, service: str, start: datetime, end: datetime, group: str
) -> dict[str, PullRequestStats]:
    """PR phases per repository or per author (the caller checks the policy allows per-author figures)."""
    deploys = production_deploys(session, service, end)
    parents, _ = commit_history(session, {d.repo for d in deploys if d.repo})
    shipped = shipped_commits(deploys, parents)
    finished = {d.id: d.finished_at for d in deploys}
    prs = list(session.scalars(select(DeliveryPullRequest).where(DeliveryPullRequest.service == service)))
    first_commits = authored_by_branch(session, prs)
    groups: dict[str, list[DeliveryPullRequest]] = {}
    for pr in prs:
        key = pr.repo if group == "repo" else (pr.author or "(unknown)")
        groups.setdefault(key, []).append(pr)
    return {
        key: pull_request_stats(members, shipped, finished, first_commits, start, end)
        for key, members in sorted(groups.items())
    }
