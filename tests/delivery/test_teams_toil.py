"""PR figures per owning team and, opted in, per the authors' teams; toil (tagged inquiries and pages) per
team and week; both in the /metrics scrape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryInquiry, DeliveryPullRequest
from mamori.delivery.parsers import inquiries as parse
from mamori.delivery.service import incidents, inquiries
from tests.conftest import T0, issue_token

CONFIG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: alice}
spec: {email: alice@example.com, name: Alice}
---
apiVersion: mamori.dev/v1
kind: User
metadata: {name: bob}
spec: {email: bob@example.com, name: Bob}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: platform}
spec: {slackChannel: C0PLAT, members: [{user: alice}]}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: web}
spec: {members: [{user: alice}, {user: bob}]}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec: {owner: platform}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-web}
spec: {owner: web}
---
apiVersion: mamori.dev/v1
kind: DeliveryPolicy
metadata: {name: default}
spec:
  pullRequestsByAuthorTeam: %s
  authorLogins: {alice-gh: alice}
  toil: {tags: ["#Toil", "kind=toil"]}
  inquiries: {slackChannels: [C0PLAT, C0HELP], teamJira: [alice@example.com]}
"""


def _apply(runtime: Runtime, tmp_path: Path, opt_in: bool = True) -> None:
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    (folder / "all.yaml").write_text(CONFIG % ("true" if opt_in else "false"))
    manifest.apply(runtime, manifest.load(folder, runtime.kinds), actor=Actor(name="t", source="config"))


def _prs(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        for number, service, author, merged in [
            (1, "jobs-api", "alice-gh", True), (2, "jobs-web", "bob", True), (3, "jobs-web", "stranger", True),
            (4, "jobs-api", "bob", False),
        ]:  # fmt: skip
            created = T0 - timedelta(days=3, hours=number)
            s.add(
                DeliveryPullRequest(
                    repo=f"acme/{service}", number=number, service=service, title=f"pr {number}", author=author,
                    state="merged" if merged else "open", created_at=created, updated_at=created,
                    merged_at=created + timedelta(hours=number) if merged else None,
                )
            )  # fmt: skip


def test_pull_requests_per_owning_team_and_opted_in_per_author_team(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    _apply(runtime, tmp_path)
    _prs(runtime)
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'read')}"}
    owner = client.get("/api/v1/delivery/pull-requests?group=team", headers=headers).json()
    assert {t: v["merged"] for t, v in owner.items()} == {"platform": 1, "web": 2}
    assert owner["platform"]["cycle_seconds"] == 3600  # opened -> merged (no deploy shipped it)
    authors = client.get("/api/v1/delivery/pull-requests?group=author_team", headers=headers).json()
    # alice-gh is alice (authorLogins), a member of both teams; stranger is no member of any
    assert {t: v["merged"] for t, v in authors.items()} == {"(none)": 1, "platform": 1, "web": 2}
    _apply(runtime, tmp_path, opt_in=False)
    refused = client.get("/api/v1/delivery/pull-requests?group=author_team", headers=headers)
    assert refused.status_code == 403 and "pullRequestsByAuthorTeam" in refused.json()["detail"]


def _slack(ts: datetime, channel: str, text: str) -> dict[str, object]:
    event = {"type": "message", "channel": channel, "user": "UASK", "text": text, "ts": f"{ts.timestamp():.6f}"}
    return {"type": "event_callback", "event": event}


def test_hashtags_are_tags_but_channel_links_and_entities_are_not() -> None:
    assert parse.hashtags("#Toil again: restart <#C123|ops> &#39;x&#39; #toil #db-migrations") == (
        "toil",
        "db-migrations",
    )


def test_toil_is_counted_per_team_week_and_source_and_drills_do_not_count(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    _apply(runtime, tmp_path)
    monday = datetime(2026, 11, 23, 10, tzinfo=UTC)
    with runtime.sessions.begin() as s:
        config = kinds.policy(s).inquiries
        for at, channel, text in [
            (monday, "C0PLAT", "#toil restart the worker again"),  # platform's channel
            (monday + timedelta(days=1), "C0PLAT", "how do I read the logs?"),  # not tagged
            (monday - timedelta(days=7), "C0PLAT", "#TOIL rotate the key"),  # the week before
        ]:
            change = parse.slack_event(_slack(at, channel, text), channels=set(config.slack_channels))
            assert change is not None
            inquiries.apply_slack(s, change=change, config=config)
        jira = {"issues": [{"key": "OPS-1", "fields": {
            "summary": "bump disk", "created": "2026-11-24T09:00:00.000+0000", "labels": ["Toil", "disk"],
            "comment": {"comments": [{"author": {"emailAddress": "alice@example.com"},
                                      "created": "2026-11-24T09:30:00.000+0000"}]}}}]}  # fmt: skip
        for issue in parse.jira_issues(jira, team=set(config.team_jira)):
            s.add(
                DeliveryInquiry(
                    source="jira", key=issue.key, asked_at=issue.at, first_responder=issue.first_responder,
                    tags=list(issue.tags),
                )
            )  # fmt: skip
        for i, labels in enumerate([{"kind": "toil"}, {"kind": "toil", "mamori_drill": "d1"}, {"kind": "bug"}]):
            incidents.note_paged(
                s, event_id=f"e{i}", person="bob@example.com", service="jobs-web", group_id=f"g{i}",
                labels=labels, at=monday + timedelta(hours=i),
            )  # fmt: skip
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'read')}"}
    rows = client.get("/api/v1/delivery/toil?days=14", headers=headers).json()
    assert [(r["team"], r["week"], r["source"], r["count"]) for r in rows] == [
        ("platform", "2026-11-16", "slack", 1),
        ("platform", "2026-11-23", "jira", 1),  # alice answered it: her teams
        ("platform", "2026-11-23", "slack", 1),
        ("web", "2026-11-23", "jira", 1),
        ("web", "2026-11-23", "page", 1),  # the drill's page and the untagged one do not count
    ]
    text = client.get("/metrics", headers=headers).text
    toil = {
        (s.labels["team"], s.labels["source"]): s.value
        for fam in text_string_to_metric_families(text)
        if fam.name == "mamori_delivery_toil_items"
        for s in fam.samples
    }
    assert toil == {("platform", "jira"): 1, ("platform", "slack"): 1, ("web", "jira"): 1, ("web", "page"): 1}
