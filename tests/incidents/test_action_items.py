"""Postmortem action items filed to Jira Cloud / GitHub Issues as durable jobs, one issue per item, even on retry."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import ValidationFailed
from mamori.core.models import AuditEntry
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.models import ActionItem
from mamori.incidents.response import actions
from mamori.incidents.response import service as response
from mamori.integrations.tickets import InMemoryTracker, Trackers
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory, issue_token

JIRA = {"jira_url": "https://acme.atlassian.net", "jira_email": "bot@acme.io", "jira_token": "jira-secret"}


class FakeTracker:
    """Jira Cloud and GitHub as their documented REST APIs answer; `lose_first` drops the first create's answer."""

    def __init__(self, *, lose_first: bool = False, refuse: bool = False) -> None:
        self.requests: list[httpx.Request] = []
        self.created: list[dict[str, Any]] = []
        self.lose_first, self.refuse = lose_first, refuse

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path == "/rest/api/3/issue":
            if self.refuse:
                return httpx.Response(
                    400, json={"errorMessages": [], "errors": {"project": "valid project is required"}}
                )
            self.created.append(json.loads(request.content))
            key = f"OPS-{23 + len(self.created)}"
            if self.lose_first and len(self.created) == 1:
                return httpx.Response(502, text="bad gateway")
            return httpx.Response(
                201, json={"id": "10000", "key": key, "self": f"https://acme.atlassian.net/rest/api/3/issue/{key}"}
            )
        if request.method == "GET" and path == "/rest/api/3/search/jql":
            jql = request.url.params["jql"]
            found = [
                {"id": "10000", "key": f"OPS-{24 + i}"}
                for i, c in enumerate(self.created)
                if f'labels = "{c["fields"]["labels"][1]}"' in jql
            ]
            return httpx.Response(200, json={"issues": found, "isLast": True})
        if request.method == "POST" and path == "/repos/acme/jobs/issues":
            self.created.append(json.loads(request.content))
            number = 1346 + len(self.created)
            if self.lose_first and len(self.created) == 1:
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(
                201,
                json={"number": number, "html_url": f"https://github.com/acme/jobs/issues/{number}", "state": "open"},
            )
        if request.method == "GET" and path == "/repos/acme/jobs/issues":
            label = request.url.params["labels"]
            items = [
                {"number": 1347 + i, "html_url": f"https://github.com/acme/jobs/issues/{1347 + i}", "body": c["body"]}
                for i, c in enumerate(self.created)
                if label in c["labels"]
            ]
            return httpx.Response(200, json=items)
        return httpx.Response(404, json={"message": "Not Found"})


def item_for(runtime: Runtime) -> str:
    with runtime.sessions.begin() as s:
        incident = response.declare(
            s,
            runtime,
            title="Checkout down",
            severity="SEV2",
            service="jobs-web",
            actor=Actor("t", "api"),
            now=runtime.now(),
        )
        return response.add_action_item(
            s,
            ref=incident.id,
            title="Alert on empty search results",
            owner="dave@example.com",
            due_at=runtime.now().replace(day=30),
            now=runtime.now(),
        ).id


def file(runtime: Runtime, item_id: str, tracker: str, target: str) -> None:
    with runtime.sessions.begin() as s:
        actions.file_item(
            s, runtime, item_id=item_id, tracker_name=tracker, target=target, actor=Actor("t", "api"), now=runtime.now()
        )


def stored(runtime: Runtime, item_id: str) -> ActionItem:
    with runtime.sessions() as s:
        item = s.get(ActionItem, item_id)
        assert item is not None
        s.expunge(item)
        return item


def test_jira_issue_is_created_with_the_documented_v3_payload(make_runtime: RuntimeFactory) -> None:
    fake = FakeTracker()
    runtime = make_runtime(http_transport=httpx.MockTransport(fake), **JIRA)
    item_id = item_for(runtime)
    file(runtime, item_id, "jira", "OPS")
    assert fake.requests == [], "filing is a background job"
    Worker(runtime).run_until_idle()
    (request,) = fake.requests
    assert str(request.url) == "https://acme.atlassian.net/rest/api/3/issue"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"bot@acme.io:jira-secret").decode()
    fields = json.loads(request.content)["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "Alert on empty search results" and fields["duedate"] == "2026-11-30"
    assert fields["labels"] == ["mamori", f"mamori-ai-{item_id}"]
    doc = fields["description"]
    assert doc["type"] == "doc" and doc["version"] == 1 and doc["content"][0]["type"] == "paragraph"
    texts = [n["text"] for p in doc["content"] for n in p["content"] if n["type"] == "text"]
    assert any("#1 Checkout down" in t for t in texts) and "Owner: dave@example.com" in texts
    item = stored(runtime, item_id)
    assert (item.filing_status, item.external_ref) == ("filed", "OPS-24")
    assert item.external_url == "https://acme.atlassian.net/browse/OPS-24"


@pytest.mark.parametrize(
    ("tracker", "target", "ref"), [("jira", "OPS", "OPS-24"), ("github", "acme/jobs", "acme/jobs#1347")]
)
def test_a_retry_after_a_lost_answer_finds_the_issue_instead_of_filing_twice(
    make_runtime: RuntimeFactory, clock: FixedClock, tracker: str, target: str, ref: str
) -> None:
    fake = FakeTracker(lose_first=True)
    runtime = make_runtime(http_transport=httpx.MockTransport(fake), github_token="gh-secret", **JIRA)
    item_id = item_for(runtime)
    file(runtime, item_id, tracker, target)
    Worker(runtime).run_until_idle()
    assert len(fake.created) == 1 and stored(runtime, item_id).filing_status == "pending"
    clock.advance(seconds=6)  # the job's retry backoff
    Worker(runtime).run_until_idle()
    clock.advance(minutes=30)
    Worker(runtime).run_until_idle()
    assert len(fake.created) == 1, "no second issue"
    item = stored(runtime, item_id)
    assert (item.filing_status, item.external_ref) == ("filed", ref)


def test_a_refused_filing_fails_at_once_with_the_trackers_reason(
    make_runtime: RuntimeFactory, clock: FixedClock
) -> None:
    fake = FakeTracker(refuse=True)
    runtime = make_runtime(http_transport=httpx.MockTransport(fake), **JIRA)
    item_id = item_for(runtime)
    file(runtime, item_id, "jira", "NOPE")
    Worker(runtime).run_until_idle()
    clock.advance(hours=2)
    Worker(runtime).run_until_idle()
    assert len(fake.requests) == 1
    item = stored(runtime, item_id)
    assert (
        item.filing_status == "failed"
        and "HTTP 400" in (item.filing_error or "")
        and "valid project" in (item.filing_error or "")
    )


def test_github_issue_filed_through_the_api_and_refiling_is_refused(make_runtime: RuntimeFactory) -> None:
    fake = FakeTracker()
    runtime = make_runtime(http_transport=httpx.MockTransport(fake), github_token="gh-secret")
    token = issue_token(runtime, "write")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        with runtime.sessions.begin() as s:
            ref = response.declare(
                s, runtime, title="Slow", severity="SEV3", actor=Actor("t", "api"), now=runtime.now()
            ).id
        bad = client.post(
            f"/api/v1/incidents/{ref}/action-items",
            json={"title": "x", "file": {"tracker": "github", "target": "not a repo"}},
            headers=headers,
        )
        assert bad.status_code == 422 and "owner/repo" in bad.text
        made = client.post(
            f"/api/v1/incidents/{ref}/action-items",
            json={
                "title": "Add a load test",
                "owner": "erin@example.com",
                "file": {"tracker": "github", "target": "acme/jobs"},
            },
            headers=headers,
        )
        assert made.status_code == 201 and made.json()["filing_status"] == "pending"
        item_id = made.json()["id"]
        Worker(runtime).run_until_idle()
        (request,) = fake.requests
        assert str(request.url) == "https://api.github.com/repos/acme/jobs/issues"
        assert request.headers["authorization"] == "Bearer gh-secret"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        body = json.loads(request.content)
        assert body["title"] == "Add a load test" and body["labels"] == ["mamori", f"mamori-ai-{item_id}"]
        assert "erin@example.com" in body["body"]
        got = client.get(f"/api/v1/action-items/{item_id}", headers=headers).json()
        assert (got["external_ref"], got["external_url"]) == (
            "acme/jobs#1347",
            "https://github.com/acme/jobs/issues/1347",
        )
        again = client.post(
            f"/api/v1/action-items/{item_id}/file", json={"tracker": "github", "target": "acme/jobs"}, headers=headers
        )
        assert again.status_code == 409
        Worker(runtime).run_until_idle()
        assert len(fake.requests) == 1
        listed = client.get(f"/api/v1/incidents/{ref}/action-items", headers=headers).json()
        assert [i["external_ref"] for i in listed] == ["acme/jobs#1347"]
        done = client.post(f"/api/v1/action-items/{item_id}/done", headers=headers)
        assert done.json()["status"] == "done"
    with runtime.sessions() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.object_type == "ActionItem")) is not None


def test_filing_to_an_unconfigured_tracker_is_refused(runtime: Runtime) -> None:
    item_id = item_for(runtime)
    with pytest.raises(ValidationFailed, match="Jira is not configured"):
        file(runtime, item_id, "jira", "OPS")
    with pytest.raises(ValidationFailed, match="tracker must be one of"):
        file(runtime, item_id, "linear", "X")


def test_an_in_memory_tracker_twin_stands_in_for_jira_and_files_once_after_a_lost_answer(
    make_runtime: RuntimeFactory, clock: FixedClock
) -> None:
    twin = InMemoryTracker("jira", fail_next=1, lose_answer=True)
    runtime = make_runtime(states=[Trackers({"jira": twin})])
    item_id = item_for(runtime)
    file(runtime, item_id, "jira", "OPS")
    Worker(runtime).run_until_idle()
    assert stored(runtime, item_id).filing_status == "pending" and len(twin.filed) == 1
    clock.advance(seconds=6)
    Worker(runtime).run_until_idle()
    (filed,) = twin.filed
    project, request, ticket = filed
    assert project == "OPS" and request.marker == f"mamori-ai-{item_id}" and request.labels == ("mamori",)
    assert ("Owner", "dave@example.com") in request.facts and request.due is not None
    item = stored(runtime, item_id)
    assert (item.filing_status, item.external_ref, item.external_url) == ("filed", ticket.key, ticket.url)
