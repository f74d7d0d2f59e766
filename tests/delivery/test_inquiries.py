"""Questions to the dev team: Slack events (signature v0, replay window, challenge) open, answer and resolve
inquiries; Jira issues sync with the team's first comment; the load shows on the delivery overview."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi.testclient import TestClient

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.delivery.kinds import Inquiries
from mamori.delivery.parsers import inquiries
from mamori.delivery.service import inquiries as service
from mamori.web.app import create_app
from tests.conftest import T0, RuntimeFactory
from tests.web.conftest import Login

SECRET = "slack-signing-secret"
POLICY = """apiVersion: mamori.dev/v1
kind: DeliveryPolicy
metadata: {name: default}
spec:
  inquiries:
    slackChannels: [C0DEV]
    teamSlackIds: [UDEV1, UDEV2]
    jiraJql: "project = OPS"
    teamJira: [dev@jobs.example]
"""


def _post(client: TestClient, runtime: Runtime, body: dict[str, Any], *, secret: str = SECRET, skew: int = 0) -> Any:
    raw = json.dumps(body).encode()
    ts = str(int(runtime.now().timestamp()) + skew)
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": inquiries.slack_signature(secret.encode(), ts, raw),
    }
    return client.post("/hooks/delivery/slack/events", content=raw, headers=headers)


def _message(ts: float, user: str, text: str = "", thread: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "message", "channel": "C0DEV", "user": user, "text": text, "ts": f"{ts:.6f}"}
    if thread is not None:
        event["thread_ts"] = f"{thread:.6f}"
    return {"type": "event_callback", "event": event}


def test_slack_questions_are_asked_answered_and_resolved(make_runtime: RuntimeFactory, tmp_path: Any) -> None:
    runtime = make_runtime(slack_signing_secret=SECRET)
    (tmp_path / "p.yaml").write_text(POLICY)
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert _post(client, runtime, {"type": "url_verification", "challenge": "abc"}).json() == {"challenge": "abc"}
        asked = T0.timestamp() - 3600
        assert _post(client, runtime, _message(asked, "UCS", "Why is search slow?")).json()["status"] == "asked"
        assert _post(client, runtime, _message(asked, "UCS", "Why is search slow?")).json()["status"] == "ignored"
        assert (
            _post(client, runtime, _message(asked + 60, "UCS", "anyone?", thread=asked)).json()["status"] == "ignored"
        )
        assert (
            _post(client, runtime, _message(asked + 600, "UDEV2", "looking", thread=asked)).json()["status"]
            == "answered"
        )
        reaction = {
            "type": "event_callback",
            "event": {
                "type": "reaction_added",
                "user": "UCS",
                "reaction": "white_check_mark",
                "item": {"type": "message", "channel": "C0DEV", "ts": f"{asked:.6f}"},
                "event_ts": f"{asked + 1800:.6f}",
            },
        }
        assert _post(client, runtime, reaction).json()["status"] == "resolved"
        elsewhere = {"type": "event_callback", "event": {**_message(asked, "U1")["event"], "channel": "COTHER"}}
        assert _post(client, runtime, elsewhere).json()["status"] == "ignored"
        assert _post(client, runtime, _message(asked, "UCS"), secret="wrong").status_code == 403
        assert _post(client, runtime, _message(asked, "UCS"), skew=-600).status_code == 403
        assert client.post("/hooks/delivery/slack/events", content=b"{}").status_code == 403
    with runtime.sessions() as session:
        load = service.load(session, since=T0.replace(year=2000))
    assert (load.asked, load.answered, load.resolved) == (1, 1, 1)
    assert load.first_response_s == 600 and load.resolution_s == 1800 and load.by_responder == [("UDEV2", 1)]


JIRA = {
    "startAt": 0,
    "maxResults": 100,
    "total": 2,
    "issues": [
        {
            "key": "OPS-2",
            "fields": {
                "summary": "Export CSV fails",
                "created": "2026-11-27T09:00:00.000+0000",
                "resolutiondate": None,
                "reporter": {"emailAddress": "cs@jobs.example"},
                "comment": {"comments": []},
            },
        },
        {
            "key": "OPS-1",
            "fields": {
                "summary": "How do I rotate keys?",
                "created": "2026-11-26T09:00:00.000+0100",
                "resolutiondate": "2026-11-26T15:00:00.000+0100",
                "reporter": {"emailAddress": "cs@jobs.example"},
                "comment": {
                    "comments": [
                        {"author": {"emailAddress": "cs@jobs.example"}, "created": "2026-11-26T09:30:00.000+0100"},
                        {"author": {"emailAddress": "dev@jobs.example"}, "created": "2026-11-26T11:00:00.000+0100"},
                    ]
                },
            },
        },
    ],
}


def test_jira_issues_sync_with_the_teams_first_comment(runtime: Runtime, client: TestClient, login: Login) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=JIRA)

    config = Inquiries(jira_jql="project = OPS", team_jira=["dev@jobs.example"])
    with runtime.sessions.begin() as session, httpx.Client(transport=httpx.MockTransport(handler)) as http:
        n = service.sync_jira(
            session,
            client=http,
            base_url="https://jira.test",
            email="bot@jobs.example",
            token="t",
            config=config,
            allow_private=True,
        )
    assert n == 2
    assert (
        seen[0].url.path == "/rest/api/3/search" and "project = OPS ORDER BY created DESC" in seen[0].url.params["jql"]
    )
    assert seen[0].headers["authorization"].startswith("Basic ")
    with runtime.sessions() as session:
        load = service.load(session, since=T0.replace(year=2000))
    assert (load.asked, load.answered, load.resolved) == (2, 1, 1)
    assert load.first_response_s == 7200 and load.resolution_s == 6 * 3600, (
        "the reporter's own comment is not a response"
    )
    login()
    page = client.get("/delivery")
    assert 'id="inquiries"' in page.text and "2 asked" in page.text and "dev@jobs.example: 1 first answers" in page.text
