"""Demo data: a year of synthetic GitHub activity for jobs-web and jobs-api (pull requests, pushes, CI runs
with steps, staging and production deploys), a failed deploy with its incident and rollback, and the day
BuildKit cache mounts were enabled (the install steps get fast and cached from then on)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryDeploy
from mamori.delivery.records import CommitRecord, DeployRecord, JobRecord, PullRequestRecord, ReviewRecord, StepRecord
from mamori.delivery.service import effects, incidents, reports
from mamori.delivery.service.store import Store

DEMO_DIR = Path(__file__).resolve().parent / "demo"
REPOS = {"jobs-web": "jobly-example/jobs-web", "jobs-api": "jobly-example/jobs-api"}
AUTHORS = ["aiko", "bruno", "chen", "dara", "emeka", "fatima"]
CACHE_MOUNTS_DAYS_AGO = 60
FAILED_DEPLOY_DAYS_AGO = 20
TESTS_DAYS = 60
TESTS = [
    ("search", "ranks exact titles first", 0.8),
    ("search", "filters by city", 0.4),
    ("apply", "uploads a CV", 2.5),
    ("apply", "sends the confirmation mail", 1.2),
    ("employer", "lists applicants", 0.6),
    ("checkout", "applies a discount", 3.1),
]
"""(class, test, typical seconds); `checkout::applies a discount` is the flaky one."""
STEPS = [
    ("Checkout", 4, 2),
    ("bundle install", 170, 25),
    ("yarn install", 95, 30),
    ("webpack compile", 240, 200),
    ("docker build", 200, 90),
    ("push image", 60, 55),
    ("smoke tests", 120, 118),
]
"""(name, seconds before the cache change, seconds after)."""


def seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_DIR, runtime.kinds), actor=Actor(name="demo", source="config"))
    now = runtime.now().replace(minute=0, second=0, microsecond=0)
    with runtime.sessions.begin() as session:
        if session.scalar(select(DeliveryDeploy.id).where(DeliveryDeploy.source == "demo").limit(1)) is not None:
            return
        store = Store(session=session, policy=kinds.policy(session), bus=runtime.bus, source="demo", now=now)
        for service, repo in REPOS.items():
            _year(store, service, repo, now, random.Random(service))
        _failed_deploy(store, session_now=now)
        effects.create_improvement(
            session, service="jobs-web", title="Enabled BuildKit cache mounts", measure="step:build/bundle install",
            at=(now - timedelta(days=CACHE_MOUNTS_DAYS_AGO)).replace(hour=0), by="aiko", now=now,
        )  # fmt: skip


def _year(store: Store, service: str, repo: str, now: datetime, rnd: random.Random) -> None:
    head: str | None = None
    number = 0
    for days_ago in range(365, 0, -1):
        day = (now - timedelta(days=days_ago)).replace(hour=9)
        if day.weekday() >= 5:
            continue
        for _ in range(rnd.randint(0, 3)):
            number += 1
            head = _pull_request(store, repo, number=number, parent=head, day=day, rnd=rnd)
        if head is None or rnd.random() < 0.2 or days_ago == FAILED_DEPLOY_DAYS_AGO:
            continue
        cached = days_ago <= CACHE_MOUNTS_DAYS_AGO
        deploy_at = day.replace(hour=15) + timedelta(minutes=rnd.randint(0, 90))
        _run(
            store,
            service,
            repo,
            sha=head,
            key=f"{service}-{days_ago}",
            start=deploy_at - timedelta(minutes=25),
            cached=cached,
            rnd=rnd,
        )
        if days_ago <= TESTS_DAYS:
            _tests(store, service, sha=head, at=deploy_at - timedelta(minutes=12), days_ago=days_ago, rnd=rnd)
        for env, offset in (("staging", timedelta(minutes=-10)), ("production", timedelta())):
            _deploy(store, service, repo, sha=head, env=env, at=deploy_at + offset, key=f"{env}-{days_ago}")


def _pull_request(
    store: Store, repo: str, *, number: int, parent: str | None, day: datetime, rnd: random.Random
) -> str:
    author = rnd.choice(AUTHORS)
    branch = f"{author}/change-{number}"
    first = day - timedelta(hours=rnd.randint(2, 60))
    store.add([CommitRecord(repo, f"{repo}-b{number}", None, branch, author, f"work on change {number}", first)])
    created = day + timedelta(minutes=rnd.randint(0, 120))
    reviewed = created + timedelta(minutes=rnd.randint(20, 600))
    merged = reviewed + timedelta(minutes=rnd.randint(10, 300))
    merge_sha = f"{repo}-m{number}"
    hotfix = rnd.random() < 0.03
    record = PullRequestRecord(
        repo=repo, number=number, title=("Hotfix: " if hotfix else "") + f"Change {number}", author=author,
        state="merged", base_branch="main", head_branch=branch, head_sha=f"{repo}-b{number}", merge_sha=merge_sha,
        labels=["hotfix"] if hotfix else [], additions=rnd.randint(5, 400), deletions=rnd.randint(0, 200),
        changed_files=rnd.randint(1, 15), created_at=created, updated_at=merged, merged_at=merged, closed_at=merged,
    )  # fmt: skip
    reviewer = rnd.choice([a for a in AUTHORS if a != author])
    store.add([record, ReviewRecord(repo, number, author, created, reviewer, "approved", reviewed)])
    store.add([CommitRecord(repo, merge_sha, parent, "main", author, f"Merge pull request #{number}", merged)])
    return merge_sha


def _run(
    store: Store, service: str, repo: str, *, sha: str, key: str, start: datetime, cached: bool, rnd: random.Random
) -> None:
    at = start
    steps = []
    for i, (name, slow, fast) in enumerate(STEPS, start=1):
        seconds = (fast if cached else slow) * rnd.uniform(0.85, 1.2)
        steps.append(
            StepRecord(
                i, name, "completed", "success", at, at + timedelta(seconds=seconds), cached if i in (2, 3, 5) else None
            )
        )
        at += timedelta(seconds=seconds)
    store.add([
        JobRecord(
            external_id=f"{key}/build", run_external_id=key, run_name="ci", repo=repo, branch="main", sha=sha,
            name="build", status="completed", conclusion="success", runner="demo-runner", created_at=start,
            started_at=start, finished_at=at, steps=steps, service=service,
        )
    ])  # fmt: skip


def _deploy(store: Store, service: str, repo: str, *, sha: str, env: str, at: datetime, key: str) -> DeliveryDeploy:
    return store.deploy(
        DeployRecord(
            f"{service}/{key}",
            repo,
            service,
            env,
            sha,
            None,
            "main",
            "success",
            at - timedelta(minutes=6),
            at - timedelta(minutes=6),
            at,
        )
    )


def _failed_deploy(store: Store, *, session_now: datetime) -> None:
    """jobs-web: a deploy that broke search, the incident it caused, the rollback that fixed it."""
    day = (session_now - timedelta(days=FAILED_DEPLOY_DAYS_AGO)).replace(hour=15)
    repo = REPOS["jobs-web"]
    good = store.session.scalar(
        select(DeliveryDeploy.sha)
        .where(
            DeliveryDeploy.service == "jobs-web", DeliveryDeploy.production.is_(True), DeliveryDeploy.finished_at < day
        )
        .order_by(DeliveryDeploy.finished_at.desc())
        .limit(1)
    )
    if good is None:
        return
    bad = f"{repo}-bad"
    store.add([CommitRecord(repo, bad, good, "main", "bruno", "Rework search ranking", day - timedelta(hours=3))])
    _deploy(store, "jobs-web", repo, sha=bad, env="production", at=day, key="bad")
    incidents.note_declared(
        store.session, incident_id="demo-search-down", service="jobs-web", severity="SEV2",
        title="Search returns no results", labels={}, at=day + timedelta(minutes=25),
    )  # fmt: skip
    for i, person in enumerate(("aiko@jobs.example", "bruno@jobs.example", "aiko@jobs.example")):
        incidents.note_paged(
            store.session, event_id=f"demo-page-{i}", person=person, service="jobs-web", group_id="demo-search-down",
            labels={}, at=day + timedelta(minutes=20 + 5 * i),
        )  # fmt: skip
    _deploy(store, "jobs-web", repo, sha=good, env="production", at=day + timedelta(minutes=55), key="rollback")
    incidents.note_resolved(
        store.session,
        incident_id="demo-search-down",
        service="jobs-web",
        severity="SEV2",
        at=day + timedelta(minutes=80),
    )


def _tests(store: Store, service: str, *, sha: str, at: datetime, days_ago: int, rnd: random.Random) -> None:
    """A JUnit report per build (the flaky test fails now and then and passes on a rerun of the same commit),
    and an LCOV report whose coverage creeps up."""
    cases = []
    flaky_failed = rnd.random() < 0.25
    for classname, name, seconds in TESTS:
        body = '<failure message="timeout"/>' if flaky_failed and classname == "checkout" else ""
        took = seconds * rnd.uniform(0.8, 1.3)
        cases.append(f'<testcase classname="{classname}" name="{name}" time="{took:.3f}">{body}</testcase>')
    xml = f'<testsuite name="{service}" tests="{len(cases)}">{"".join(cases)}</testsuite>'.encode()
    reports.import_junit(store.session, service=service, data=xml, sha=sha, branch="main", name="rspec.xml", now=at)
    if flaky_failed:
        rerun = xml.replace(b'<failure message="timeout"/>', b"")
        reports.import_junit(
            store.session,
            service=service,
            data=rerun,
            sha=sha,
            branch="main",
            name="rspec-rerun.xml",
            now=at + timedelta(minutes=4),
        )
    covered = 700 + (TESTS_DAYS - days_ago) * 3
    lines = "".join(f"DA:{i},{1 if i <= covered else 0}\n" for i in range(1, 1001))
    lcov = "TN:\nSF:app/search.rb\n" + lines + "end_of_record\n"
    reports.import_coverage(store.session, service=service, data=lcov.encode(), sha=sha, fmt="lcov", now=at)
