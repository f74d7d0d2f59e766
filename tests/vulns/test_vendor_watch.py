"""Vendor watch: feeds parsed safely, precise vendor matching, polling jobs with errors recorded, KEV, digest."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mamori.core import jobs, manifest, timeline
from mamori.core.audit import Actor
from mamori.core.errors import ValidationFailed
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.vulns import digest, feeds, kinds, store
from mamori.vulns.jobs import DIGEST_JOB, POLL_JOB, SYNC_JOB
from mamori.vulns.models import VulnFeedItem, VulnFinding, VulnSyncState
from mamori.vulns.vendor_match import VendorMatcher, VendorTerms
from tests.support import smtp_inbox

CONFIG = """
apiVersion: mamori.dev/v1
kind: Vendor
metadata: {name: slack}
spec:
  displayName: Slack
  aliases: [Slack Technologies]
  products: [Slack Enterprise Grid]
  dataShared: [chat messages]
  oauthApps: [{name: mamori-bot, scopes: [chat:write]}]
  criticality: high
  statusPage: https://status.slack.test/api/v2/incidents.json
---
apiVersion: mamori.dev/v1
kind: Vendor
metadata: {name: okta}
spec:
  displayName: Okta
  criticality: critical
---
apiVersion: mamori.dev/v1
kind: VulnerabilityPolicy
metadata: {name: default}
spec:
  slaDays: {P1: 3}
  feeds:
    - {name: news, url: "https://news.test/rss"}
    - {name: atom, url: "https://atom.test/feed", type: atom}
    - {name: slow, url: "https://slow.test/rss"}
    - {name: junk, url: "https://junk.test/rss"}
  digest: {slackChannel: "#security", webhook: "https://hooks.test/digest"}
"""

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Sec news</title>
<item><guid>n1</guid><title>Slack OAuth tokens leaked in supply-chain attack</title><link>https://news.test/1</link>
<description>&lt;p&gt;Attackers stole tokens from Slack Technologies' build system.&lt;/p&gt;</description>
<pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate></item>
<item><guid>n2</guid><title>We need some slack in the schedule, says breach report author</title><link>https://news.test/2</link></item>
<item><guid>n3</guid><title>Okta announces new pricing</title><link>https://news.test/3</link></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><id>urn:a1</id><title>Okta support system breach exposes customer HAR files</title>
<link rel="alternate" href="https://atom.test/a1"/><updated>2026-11-26T08:00:00Z</updated>
<summary>Session tokens were exposed.</summary></entry></feed>"""
STATUSPAGE = {
    "page": {"id": "x", "name": "Slack"},
    "incidents": [
        {
            "id": "inc1",
            "name": "Degraded message delivery",
            "status": "investigating",
            "impact": "major",
            "shortlink": "https://stspg.io/1",
            "created_at": "2026-11-28T11:00:00.000Z",
            "incident_updates": [{"body": "We are investigating delays."}],
        }
    ],
}


def _handler(sent: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == "news.test":
            return httpx.Response(200, content=RSS)
        if host == "atom.test":
            return httpx.Response(200, content=ATOM)
        if host == "status.slack.test":
            return httpx.Response(200, json=STATUSPAGE)
        if host == "slow.test":
            raise httpx.ReadTimeout("timed out", request=request)
        if host == "junk.test":
            return httpx.Response(200, content=b"<rss><channel><item>")
        sent.append(request)
        if host == "slack.test":
            return httpx.Response(200, json={"ok": True, "channel": "C1", "ts": "1.2"})
        return httpx.Response(204)

    return httpx.MockTransport(handle)


@pytest.fixture
def watched(make_runtime, tmp_path: Path) -> tuple[Runtime, list[httpx.Request]]:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(
        http_transport=_handler(sent), slack_token="xoxb-test", slack_api_url="https://slack.test/api"
    )
    (tmp_path / "vendors.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    return runtime, sent


def _run(runtime: Runtime, kind: str) -> None:
    with runtime.sessions.begin() as session:
        jobs.enqueue(session, kind=kind, now=runtime.now(), payload={})
    Worker(runtime).run_until_idle()


def test_matching_respects_word_boundaries_and_case_rules() -> None:
    m = VendorMatcher(
        [
            VendorTerms("slack", ("Slack",)),
            VendorTerms("github", ("GitHub", "GitHub Actions")),
            VendorTerms("aws", ("AWS",)),
        ]
    )
    assert m.match("we cut slack from the plan") == []
    assert m.match("the Slack-like app leaked") == []
    assert m.match("laws and AWSome puns") == []
    hit = m.match("Breach: GitHub Actions runners compromised")
    assert [(h.vendor, h.term) for h in hit] == [("github", "GitHub Actions")]
    assert m.match("github actions tokens exposed")[0].vendor == "github"  # long names: case-insensitive
    long_text = "x " * 100 + "Slack tokens leaked " + "y " * 100
    snippet = m.match(long_text)[0].evidence
    assert "Slack tokens leaked" in snippet and snippet.startswith("…") and len(snippet) < 240


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<rss><channel><item>", "not well-formed XML"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss>&b;</rss>',
            "refused unsafe XML",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><rss>&e;</rss>',
            "refused unsafe XML",
        ),
        (b"<html><body/></html>", "unknown feed root element <html>"),
        (b"plain text", "not an XML feed"),
    ],
)
def test_bad_and_hostile_feeds_give_clear_errors(payload: bytes, message: str) -> None:
    with pytest.raises(feeds.InvalidFeed, match=message):
        feeds.parse(payload, kind="rss")


def test_statuspage_json_without_incidents_is_refused() -> None:
    with pytest.raises(feeds.InvalidFeed, match="needs an 'incidents', 'scheduled_maintenances' or 'components' list"):
        feeds.parse(b'{"page": {}}', kind="statuspage")


def test_feed_poll_turns_precise_matches_into_vendor_incidents_and_records_failures(
    watched: tuple[Runtime, list[httpx.Request]],
) -> None:
    runtime, _ = watched
    _run(runtime, POLL_JOB)
    with runtime.sessions() as session:
        incidents = session.scalars(
            select(VulnFinding).where(VulnFinding.kind == "vendor").order_by(VulnFinding.key)
        ).all()
        items = session.scalars(select(VulnFeedItem)).all()
        slow = session.get(VulnSyncState, "feed:slow")
        junk = session.get(VulnSyncState, "feed:junk")
        events = timeline.list_events(session, kinds=["vendor_incident"])
        summary = [(f.vendor, f.priority, f.title) for f in incidents]
        evidence = {f.title: f.evidence for f in incidents}
        slack_reasons = next(f.priority_reasons for f in incidents if f.vendor == "slack")
        leak = next(f for f in incidents if "OAuth tokens leaked" in f.title)
        outage = next(f for f in incidents if "Degraded" in f.title)
        # a credential leak is due in hours, not on the vendor's 30-day P2 clock
        assert leak.due_at is not None and leak.due_at - leak.first_seen_at == timedelta(hours=4)
        assert leak.priority_reasons[0] == "credentials or tokens leaked: rotate within 4 h"
        assert outage.due_at is not None and outage.due_at - outage.first_seen_at >= timedelta(days=7)
        assert slow is not None and slow.last_error == "https://slow.test/rss: timed out after 10s"
        assert junk is not None and "not well-formed XML" in (junk.last_error or "")
        assert len(items) == 5  # every item is kept, matched or not
    assert summary == [
        ("okta", "P1", "okta: Okta support system breach exposes customer HAR files"),
        ("slack", "P1", "slack: Slack OAuth tokens leaked in supply-chain attack"),
        ("slack", "P2", "slack: Degraded message delivery"),
    ]
    assert (
        "Attackers stole tokens from Slack Technologies"
        in evidence["slack: Slack OAuth tokens leaked in supply-chain attack"]
    )
    assert "[major impact, investigating] We are investigating delays." in evidence["slack: Degraded message delivery"]
    assert "holds OAuth apps or tokens of ours: rotate if affected" in slack_reasons
    assert len(events) == 3
    _run(runtime, POLL_JOB)  # polling again adds nothing
    with runtime.sessions() as session:
        assert len(session.scalars(select(VulnFinding)).all()) == 3


def test_kev_entries_about_vendor_products_become_vendor_incidents(
    watched: tuple[Runtime, list[httpx.Request]],
) -> None:
    runtime, _ = watched
    kev = {
        "vulnerabilities": [
            {
                "cveID": "CVE-2026-7",
                "vendorProject": "Okta",
                "product": "Verify",
                "vulnerabilityName": "Okta Verify auth bypass",
            },
            {"cveID": "CVE-2026-8", "vendorProject": "Oktane", "product": "Thing"},
        ]
    }
    with runtime.sessions.begin() as session:
        store.import_kev(session, payload=json.dumps(kev).encode(), now=runtime.now())
    _run(runtime, SYNC_JOB)
    with runtime.sessions() as session:
        rows = session.scalars(select(VulnFinding).where(VulnFinding.key.startswith("kev|"))).all()
        assert [(f.key, f.priority) for f in rows] == [("kev|okta|CVE-2026-7", "P1")]
        assert rows[0].due_at == runtime.now() + timedelta(days=3)


def test_weekly_digest_goes_to_slack_and_the_webhook(watched: tuple[Runtime, list[httpx.Request]]) -> None:
    runtime, sent = watched
    _run(runtime, POLL_JOB)
    _run(runtime, DIGEST_JOB)
    slack = next(r for r in sent if r.url.host == "slack.test")
    body = json.loads(slack.content)
    assert slack.url.path == "/api/chat.postMessage" and slack.headers["authorization"] == "Bearer xoxb-test"
    assert body["channel"] == "#security" and "New: 3" in body["text"] and "[P1] okta: Okta support" in body["text"]
    hook = json.loads(next(r for r in sent if r.url.host == "hooks.test").content)
    assert len(hook["new"]) == 3 and hook["overdue"] == []


def test_vendor_and_policy_documents_are_validated(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtime = make_runtime()
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: Vendor\nmetadata: {name: v}\nspec: {criticality: extreme}\n---\n"
        "apiVersion: mamori.dev/v1\nkind: VulnerabilityPolicy\nmetadata: {name: default}\n"
        "spec: {slaDays: {P9: 3}, feeds: [{name: f, url: 'ftp://x'}], digest: {webhook: 'file:///x', email: [nope]}}\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        manifest.load(tmp_path, runtime.kinds)
    locs = {p.loc for p in caught.value.problems}
    assert {"spec.criticality", "spec.slaDays", "spec.feeds[0].url", "spec.digest.webhook", "spec.digest.email"} <= locs


def test_digest_by_email_through_a_real_smtp_server(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with smtp_inbox() as inbox:
        runtime = make_runtime(smtp_host="127.0.0.1", smtp_port=inbox.port)
        (tmp_path / "p.yaml").write_text(
            "apiVersion: mamori.dev/v1\nkind: VulnerabilityPolicy\nmetadata: {name: default}\n"
            "spec: {digest: {email: [sec@jobs.example]}}\n"
        )
        manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
        Worker(runtime).run_until_idle()  # the weekly digest is a periodic job: its first run is due at once
    assert len(inbox.messages) == 1
    assert b"Subject: Mamori vulnerability digest" in inbox.messages[0] and b"Overdue: 0" in inbox.messages[0]


def test_digest_that_reaches_no_target_is_recorded_and_retried(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtime = make_runtime()  # no slack token configured
    (tmp_path / "p.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: VulnerabilityPolicy\nmetadata: {name: default}\n"
        "spec: {digest: {slackChannel: '#sec'}}\n"
    )
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        job = jobs.enqueue(session, kind=DIGEST_JOB, now=runtime.now(), payload={})
        job_id = job.id
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        row = session.get(Job, job_id)
        assert (
            row is not None
            and row.status == "queued"
            and "slack: Slack is not configured: set MAMORI_SLACK_TOKEN" in (row.last_error or "")
        )


def test_digest_webhook_to_a_private_address_is_refused_unless_allowed(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_handler(sent), allow_private_webhooks=False)
    with runtime.sessions() as session:
        composed = digest.compose(session, now=runtime.now())
    receipts, errors = digest.send(runtime, composed, targets=kinds.Digest(webhook="http://127.0.0.1:9/hook"))
    assert receipts == [] and sent == []
    reason = (
        "webhook host 127.0.0.1 resolves to a non-public address (127.0.0.1); "
        "set MAMORI_ALLOW_PRIVATE_WEBHOOKS=1 to allow it"
    )
    assert errors == [f"webhook: http://127.0.0.1:9/hook: {reason}"]


def test_statuspage_history_rss_is_read_like_any_rss_feed() -> None:
    items = feeds.parse(
        b"<rss version='2.0'><channel><item><title>Elevated API errors</title><guid>tag:status,1</guid>"
        b"<link>https://status.test/incidents/1</link><description>&lt;p&gt;Resolved&lt;/p&gt;</description>"
        b"<pubDate>Sat, 28 Nov 2026 10:00:00 +0000</pubDate></item></channel></rss>",
        kind="statuspage",
    )
    assert [(i.guid, i.title, i.summary, i.published.isoformat() if i.published else None) for i in items] == [
        ("tag:status,1", "Elevated API errors", "Resolved", "2026-11-28T10:00:00+00:00")
    ]


def test_feed_links_other_than_http_are_dropped() -> None:
    items = feeds.parse(
        b"<rss><channel><item><guid>g</guid><title>Okta breach</title><link>javascript:alert(1)</link></item>"
        b"</channel></rss>",
        kind="rss",
    )
    assert items[0].link is None and items[0].guid == "g"
