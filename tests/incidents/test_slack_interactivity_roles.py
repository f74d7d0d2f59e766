"""Slack Ack/Resolve buttons act only for a Slack user mapped to a Mamori user whose role allows it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from mamori.core.models import AuditEntry, User
from mamori.core.runtime import Runtime
from mamori.incidents.alerts.signing import slack_signature
from mamori.incidents.models import AlertGroup
from mamori.integrations.notify import Notifiers
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory
from tests.incidents.fakes import apply_config
from tests.incidents.test_escalation import fire

SECRET = b"slack-signing-secret"

SLACK_USERS = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: vera}
spec: {email: vera@example.com, name: Vera, role: viewer, contacts: [{type: slack, user: U0VIEWER}]}
---
apiVersion: mamori.dev/v1
kind: User
metadata: {name: rita}
spec: {email: rita@example.com, name: Rita, role: responder, contacts: [{type: slack, user: U0RESPOND}]}
---
apiVersion: mamori.dev/v1
kind: User
metadata: {name: tom}
spec: {email: tom@example.com, name: Tom, role: viewer, contacts: [{type: slack, user: U0TEAMRESP}]}
---
apiVersion: mamori.dev/v1
kind: User
metadata: {name: olga}
spec: {email: olga@example.com, name: Olga, role: viewer, contacts: [{type: slack, user: U0OTHERTEAM}]}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: backend}
spec: {members: [{user: tom@example.com, role: responder}]}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: frontend}
spec: {members: [{user: olga@example.com, role: admin}]}
"""


def block_actions(slack_user: str, action_id: str, group_id: str) -> dict[str, object]:
    """A `block_actions` payload as Slack documents it, for a click on a page's button."""
    return {
        "type": "block_actions",
        "user": {"id": slack_user, "username": "someone", "name": "someone", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0PAGES"},
        "trigger_id": "1.2.3",
        "team": {"id": "T0TEAM", "domain": "example"},
        "channel": {"id": "C0PAGES", "name": "pages"},
        "message": {"type": "message", "ts": "1700000000.000100", "text": "[SEV2] HighLatency"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"mamori:{group_id}",
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": group_id,
                "action_ts": "1700000001.000200",
            }
        ],
    }


def click(client: TestClient, runtime: Runtime, slack_user: str, action_id: str, group_id: str) -> httpx.Response:
    raw = urlencode({"payload": json.dumps(block_actions(slack_user, action_id, group_id))}).encode()
    ts = str(int(runtime.now().timestamp()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(SECRET, ts, raw),
    }
    response: httpx.Response = client.post("/hooks/slack/interactivity", content=raw, headers=headers)
    return response


@pytest.fixture
def paged(make_runtime: RuntimeFactory, tmp_path: Path) -> tuple[Runtime, str]:
    runtime = make_runtime(
        slack_signing_secret=SecretStr(SECRET.decode()), slack_token=SecretStr("xoxb"), states=[Notifiers({})]
    )
    apply_config(runtime, tmp_path / "c", SLACK_USERS)
    group_id = fire(runtime)
    with runtime.sessions() as s:
        assert s.get(AlertGroup, group_id).team == "backend"  # type: ignore[union-attr]
    return runtime, group_id


def state(runtime: Runtime, group_id: str) -> tuple[str, str | None, int]:
    with runtime.sessions() as s:
        group = s.get(AlertGroup, group_id)
        assert group is not None
        audits = s.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == group_id, AuditEntry.action.in_(["acknowledge", "resolve"])
            )
        ).all()
        return group.status, group.acknowledged_by or group.resolved_by, len(audits)


def assert_refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert words in answer["text"]


@pytest.mark.parametrize("action_id", ["ack", "resolve"])
def test_an_unmapped_slack_user_gets_an_ephemeral_refusal_and_nothing_changes(
    paged: tuple[Runtime, str], action_id: str
) -> None:
    runtime, group_id = paged
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert_refused(click(client, runtime, "U0STRANGER", action_id, group_id), "not linked to a Mamori user")
    assert state(runtime, group_id) == ("triggered", None, 0)


@pytest.mark.parametrize("slack_user", ["U0VIEWER", "U0OTHERTEAM"])
@pytest.mark.parametrize("action_id", ["ack", "resolve"])
def test_a_viewer_or_another_teams_admin_gets_an_ephemeral_refusal_and_nothing_changes(
    paged: tuple[Runtime, str], slack_user: str, action_id: str
) -> None:
    runtime, group_id = paged
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert_refused(click(client, runtime, slack_user, action_id, group_id), "a responder role is needed")
    assert state(runtime, group_id) == ("triggered", None, 0)


def test_a_deactivated_user_is_refused_like_an_unmapped_one(paged: tuple[Runtime, str]) -> None:
    runtime, group_id = paged
    with runtime.sessions.begin() as s:
        rita = s.scalar(select(User).where(User.email == "rita@example.com"))
        assert rita is not None
        rita.active = False
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert_refused(click(client, runtime, "U0RESPOND", "ack", group_id), "not linked to a Mamori user")
    assert state(runtime, group_id) == ("triggered", None, 0)


def test_a_mapped_responder_acknowledges_as_that_user(paged: tuple[Runtime, str]) -> None:
    runtime, group_id = paged
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        response = click(client, runtime, "U0RESPOND", "ack", group_id)
    assert response.status_code == 200 and response.json()["response_type"] == "in_channel"
    assert "by rita@example.com" in response.json()["text"]
    assert state(runtime, group_id) == ("acknowledged", "rita@example.com", 1)


def test_a_responder_of_the_groups_team_resolves_as_that_user(paged: tuple[Runtime, str]) -> None:
    runtime, group_id = paged
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        response = click(client, runtime, "U0TEAMRESP", "resolve", group_id)
    assert response.status_code == 200 and response.json()["response_type"] == "in_channel", response.text
    with runtime.sessions() as s:
        group = s.get(AlertGroup, group_id)
        assert group is not None and (group.status, group.resolved_by) == ("resolved", "tom@example.com")


def test_an_ack_on_a_resolved_or_unknown_group_is_answered_ephemerally(paged: tuple[Runtime, str]) -> None:
    runtime, group_id = paged
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert click(client, runtime, "U0RESPOND", "resolve", group_id).json()["response_type"] == "in_channel"
        assert_refused(click(client, runtime, "U0RESPOND", "ack", group_id), "already resolved")
        assert_refused(click(client, runtime, "U0RESPOND", "ack", "0" * 32), "no alert group")
    assert state(runtime, group_id) == ("resolved", "rita@example.com", 1)
