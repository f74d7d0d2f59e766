"""Figures per team: pull requests by the owning team of their service (repository -> service -> owner in the
catalog) or, opted in, by their authors' teams (Team members, matched by User handle or the policy's
`authorLogins`); and toil (inquiries and pages tagged as the policy's `toil.tags`) per team and week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mamori.core.models import Service, Team, TeamMembership, User
from mamori.delivery.figures import PullRequestStats
from mamori.delivery.kinds import DeliveryPolicySpec
from mamori.delivery.models import DeliveryInquiry, DeliveryPage, DeliveryPullRequest
from mamori.delivery.service import measures

NONE = "(none)"


def owners(session: Session) -> dict[str, str]:
    """Service name -> its owning team's name (services without an owner are left out)."""
    rows = session.execute(select(Service.name, Team.name).join(Team, Service.owner_team_id == Team.id))
    return {service: team for service, team in rows}


def teams_of_people(session: Session, refs: set[str]) -> dict[str, list[str]]:
    """A handle or email (lowercase) -> the teams its User is a member of."""
    wanted = {r.lower() for r in refs if r}
    if not wanted:
        return {}
    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(User.handle, User.email, Team.name)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .join(Team, TeamMembership.team_id == Team.id)
        .where(or_(func.lower(User.handle).in_(wanted), func.lower(User.email).in_(wanted)))
        .order_by(Team.name)
    )
    for handle, email, team in rows:
        for ref in {(handle or "").lower(), email.lower()} & wanted:
            out.setdefault(ref, []).append(team)
    return out


def pull_requests_by_team(
    session: Session, *, start: datetime, end: datetime, policy: DeliveryPolicySpec, by: str
) -> dict[str, PullRequestStats]:
    """PR phases of every service per team: `owner` (the service's owning team) or `author` (each team the
    author is a member of; a PR whose author is in two teams counts in both, an unknown author in (none))."""
    prs = list(
        session.scalars(
            select(DeliveryPullRequest).where(
                DeliveryPullRequest.merged_at >= start, DeliveryPullRequest.merged_at < end
            )
        )
    )
    shipped: dict[str, str] = {}
    finished: dict[str, datetime | None] = {}
    for service in sorted({pr.service for pr in prs}):
        deploys = measures.production_deploys(session, service, end)
        parents, _ = measures.commit_history(session, {d.repo for d in deploys if d.repo})
        shipped.update(measures.shipped_commits(deploys, parents))
        finished.update({d.id: d.finished_at for d in deploys})
    first_commits = measures.authored_by_branch(session, prs)
    groups: dict[str, list[DeliveryPullRequest]] = {}
    if by == "owner":
        owner = owners(session)
        for pr in prs:
            groups.setdefault(owner.get(pr.service, NONE), []).append(pr)
    else:
        logins = {k.lower(): v.lower() for k, v in policy.author_logins.items()}
        ref = {pr.id: logins.get((pr.author or "").lower(), (pr.author or "").lower()) for pr in prs}
        member_of = teams_of_people(session, set(ref.values()))
        for pr in prs:
            for team in member_of.get(ref[pr.id], [NONE]):
                groups.setdefault(team, []).append(pr)
    return {
        team: measures.pull_request_stats(members, shipped, finished, first_commits, start, end)
        for team, members in sorted(groups.items())
    }


@dataclass(frozen=True)
class ToilCount:
    team: str
    week: date
    source: str  # slack | jira | page
    count: int


def _week(at: datetime) -> date:
    day = at.date()
    return day - timedelta(days=day.weekday())


def toil(session: Session, *, since: datetime, until: datetime, policy: DeliveryPolicySpec) -> list[ToilCount]:
    """Toil per team, ISO week (Monday) and source. An inquiry belongs to the team whose Slack channel it was
    asked in, else to its first responder's teams; a page to its service's owning team. Drills never count."""
    tags = set(policy.toil.tags)
    if not tags:
        return []
    counts: Counter[tuple[str, date, str]] = Counter()
    inquiries = [
        row
        for row in session.scalars(
            select(DeliveryInquiry).where(DeliveryInquiry.asked_at >= since, DeliveryInquiry.asked_at < until)
        )
        if tags & set(row.tags or ())
    ]
    by_channel = {c: t for t, c in session.execute(select(Team.name, Team.slack_channel)) if c}
    member_of = teams_of_people(session, {r.first_responder for r in inquiries if r.first_responder})
    for row in inquiries:
        if row.channel and row.channel in by_channel:
            teams = [by_channel[row.channel]]
        else:
            teams = member_of.get((row.first_responder or "").lower(), [NONE])
        for team in teams:
            counts[(team, _week(row.asked_at), row.source)] += 1
    owner = owners(session)
    for page in session.scalars(
        select(DeliveryPage).where(DeliveryPage.at >= since, DeliveryPage.at < until, DeliveryPage.drill.is_(False))
    ):
        if tags & set(page.tags or ()):
            counts[(owner.get(page.service or "", NONE), _week(page.at), "page")] += 1
    return [ToilCount(t, w, s, n) for (t, w, s), n in sorted(counts.items())]
