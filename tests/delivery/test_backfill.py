"""GitHub REST backfill: pages followed by their Link header, a second sweep answered 304 to its ETag,
a rate-limited answer resumed at the reset from the page it stopped at, through the durable job."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from mamori.core import jobs as core_jobs
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.delivery import jobs
from mamori.delivery.models import DeliveryBackfill, DeliveryDeploy, DeliveryPullRequest, DeliveryRun
from mamori.delivery.service import backfill
from tests.conftest import T0, RuntimeFactory
from tests.delivery.helpers import sample

API = "https://github.test"
REPO = "octo-org/jobs-web"


def _pr(number: int, updated: str) -> dict[str, Any]:
    pr = json.loads(sample("pull_request", "closed"))["pull_request"]
    return {**pr, "number": number, "updated_at": updated}


class FakeGitHub:
    """Answers like the REST API: paged lists newest first, ETags, 304s, and a rate limit when told to."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.limited = False
        run = json.loads(sample("workflow_run", "completed"))["workflow_run"]
        deployment = json.loads(sample("deployment", "payload"))["deployment"]
        status = json.loads(sample("deployment_status", "payload"))["deployment_status"]
        self.deployment_id = deployment["id"]
        self.pages = {
            f"/repos/{REPO}/pulls": [
                [_pr(3, "2026-11-20T10:00:00Z"), _pr(2, "2026-11-19T10:00:00Z")],
                [_pr(1, "2026-11-18T10:00:00Z")],
            ],
            f"/repos/{REPO}/actions/runs": [{"total_count": 1, "workflow_runs": [run]}],
            f"/repos/{REPO}/deployments": [
                [{**deployment, "statuses_url": f"{API}/repos/{REPO}/deployments/{deployment['id']}/statuses"}]
            ],
        }
        self.statuses = [status]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if self.limited:
            reset = str(int((T0 + timedelta(minutes=30)).timestamp()))
            headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
            return httpx.Response(403, headers=headers, json={"message": "API rate limit exceeded"})
        if path.endswith("/statuses"):
            return httpx.Response(200, json=self.statuses)
        pages = self.pages[path]
        page = int(request.url.params.get("page", "1"))
        etag = f'"{path}-v1"'
        if page == 1 and request.headers.get("if-none-match") == etag:
            return httpx.Response(304)
        headers = {"etag": etag}
        if page < len(pages):
            headers["link"] = f'<{API}{path}?page={page + 1}>; rel="next", <{API}{path}?page={len(pages)}>; rel="last"'
        return httpx.Response(200, json=pages[page - 1], headers=headers)


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _runtime(make_runtime: RuntimeFactory, fake: FakeGitHub) -> Runtime:
    return make_runtime(http_transport=httpx.MockTransport(fake), github_api_url=API, github_token="ghp_test")


def _sync(runtime: Runtime) -> backfill.Outcome:
    with runtime.sessions.begin() as session:
        api = backfill.GitHubApi(client=runtime.http_client(), base_url=API, token="ghp_test", allow_private=True)
        return backfill.sync_repo(session, api=api, bus=runtime.bus, repo=REPO, now=runtime.now())


def test_a_sweep_follows_pages_and_the_next_one_costs_only_304s(make_runtime: RuntimeFactory) -> None:
    fake = FakeGitHub()
    runtime = _runtime(make_runtime, fake)
    first = _sync(runtime)
    assert (first.items, first.more, first.wait_until) == (5, False, None)
    assert _count(runtime, DeliveryPullRequest) == 3 and _count(runtime, DeliveryRun) == 1
    with runtime.sessions() as session:
        deploy = session.scalar(select(DeliveryDeploy))
        assert (
            deploy is not None
            and deploy.status == "success"
            and deploy.external_id.endswith(f"/deployments/{fake.deployment_id}")
        )
    assert fake.requests[0].headers["authorization"] == "Bearer ghp_test"
    assert fake.requests[0].headers["x-github-api-version"] == "2022-11-28"
    asked = len(fake.requests)
    second = _sync(runtime)
    assert second.not_modified == 3 and second.items == 0
    assert all("if-none-match" in r.headers for r in fake.requests[asked:])
    assert _count(runtime, DeliveryPullRequest) == 3


def test_a_rate_limit_stops_where_it_was_and_the_job_runs_again_at_the_reset(make_runtime: RuntimeFactory) -> None:
    fake = FakeGitHub()
    fake.limited = True
    runtime = _runtime(make_runtime, fake)
    with runtime.sessions.begin() as session:
        core_jobs.enqueue(session, kind=jobs.BACKFILL_JOB, payload={"repo": REPO}, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        state = session.scalar(select(DeliveryBackfill).where(DeliveryBackfill.resource == "pulls"))
        assert state is not None and state.wait_until == T0 + timedelta(minutes=30)
        assert state.next_url == f"{API}/repos/{REPO}/pulls?state=all&sort=updated&direction=desc&per_page=100"
        later = session.scalars(select(Job).where(Job.kind == jobs.BACKFILL_JOB, Job.status == "queued")).all()
        assert [j.run_at for j in later] == [T0 + timedelta(minutes=30)]
    assert _count(runtime, DeliveryPullRequest) == 0
    fake.limited = False
    runtime.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]
    Worker(runtime).run_until_idle()
    assert _count(runtime, DeliveryPullRequest) == 3 and _count(runtime, DeliveryDeploy) == 1
