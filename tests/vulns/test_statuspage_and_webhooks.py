"""Statuspage beyond incidents (scheduled maintenances, component status) and webhook redirects re-checked."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mamori.core import jobs, manifest
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.vulns import digest, feeds, kinds, store, watch
from mamori.vulns.jobs import POLL_JOB
from mamori.vulns.models import VulnFeedItem, VulnFinding

SUMMARY = {
    "page": {"id": "p", "name": "Acme"},
    "status": {"indicator": "major", "description": "Partial System Outage"},
    "components": [
        {"id": "c1", "name": "API", "status": "major_outage", "updated_at": "2026-11-28T11:30:00Z"},
        {"id": "c2", "name": "Dashboard", "status": "operational", "updated_at": "2026-11-20T00:00:00Z"},
        {"id": "c3", "name": "Webhooks", "status": "degraded_performance", "updated_at": "2026-11-28T11:00:00Z"},
        {"id": "g1", "name": "All", "status": "major_outage", "group": True, "updated_at": "2026-11-28T11:30:00Z"},
    ],
    "incidents": [
        {
            "id": "inc9",
            "name": "API unavailable",
            "status": "identified",
            "impact": "critical",
            "shortlink": "https://stspg.io/9",
            "created_at": "2026-11-28T11:25:00Z",
            "incident_updates": [{"body": "A bad deploy; rolling back."}],
        }
    ],
    "scheduled_maintenances": [
        {
            "id": "m1",
            "name": "Database upgrade",
            "status": "scheduled",
            "impact": "maintenance",
            "shortlink": "https://stspg.io/m1",
            "scheduled_for": "2026-12-01T02:00:00Z",
            "scheduled_until": "2026-12-01T04:00:00Z",
            "created_at": "2026-11-27T09:00:00Z",
            "incident_updates": [{"body": "Reads stay available."}],
        }
    ],
}

CONFIG = """
apiVersion: mamori.dev/v1
kind: Vendor
metadata: {name: acme}
spec:
  displayName: Acme
  criticality: high
  statusPage: https://status.acme.test/api/v2/summary.json
"""


def test_statuspage_summary_gives_incidents_maintenances_and_non_operational_components() -> None:
    items = feeds.parse(json.dumps(SUMMARY).encode(), kind="statuspage")
    got = {(i.kind, i.guid, i.title, i.status) for i in items}
    assert got == {
        ("incident", "inc9", "API unavailable", "identified"),
        ("maintenance", "maintenance:m1", "Database upgrade", "scheduled"),
        ("component", "component:c1:major_outage:2026-11-28T11:30:00Z", "API: major outage", "major_outage"),
        (
            "component",
            "component:c3:degraded_performance:2026-11-28T11:00:00Z",
            "Webhooks: degraded performance",
            "degraded_performance",
        ),
    }
    maintenance = next(i for i in items if i.kind == "maintenance")
    assert maintenance.summary.startswith("[scheduled maintenance, scheduled, 2026-12-01T02:00:00Z to 2026-12-01")
    assert maintenance.published is not None and maintenance.published.isoformat() == "2026-12-01T02:00:00+00:00"


def test_statuspage_components_json_alone_is_read_and_a_status_change_is_a_new_item() -> None:
    def items(status: str, at: str) -> list[feeds.FeedItem]:
        payload = {"components": [{"id": "c1", "name": "API", "status": status, "updated_at": at}]}
        return feeds.parse(json.dumps(payload).encode(), kind="statuspage")

    assert items("operational", "2026-11-28T10:00:00Z") == []
    outage = items("partial_outage", "2026-11-28T11:00:00Z")
    worse = items("major_outage", "2026-11-28T11:10:00Z")
    assert len(outage) == len(worse) == 1 and outage[0].guid != worse[0].guid


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"page": {}}, "needs an 'incidents', 'scheduled_maintenances' or 'components' list"),
        ({"incidents": [], "scheduled_maintenances": {"id": "m"}}, "scheduled_maintenances: must be a list"),
        ({"scheduled_maintenances": [{"name": "no id"}]}, r"scheduled_maintenances\[0\]: needs a string 'id'"),
        ({"components": [{"id": 7, "status": "major_outage"}]}, r"components\[0\]: needs a string 'id'"),
    ],
)
def test_malformed_statuspage_json_is_refused_naming_the_field(payload: dict, message: str) -> None:
    with pytest.raises(feeds.InvalidFeed, match=message):
        feeds.parse(json.dumps(payload).encode(), kind="statuspage")


def test_vendor_status_page_opens_findings_for_incidents_and_outages_only(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "status.acme.test"
        return httpx.Response(200, json=SUMMARY)

    runtime: Runtime = make_runtime(http_transport=httpx.MockTransport(handle))
    (tmp_path / "vendors.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    for _ in range(2):  # a second poll adds nothing
        with runtime.sessions.begin() as session:
            jobs.enqueue(session, kind=POLL_JOB, now=runtime.now(), payload={})
        Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        titles = sorted(f.title for f in session.scalars(select(VulnFinding).where(VulnFinding.kind == "vendor")))
        stored = sorted(i.title for i in session.scalars(select(VulnFeedItem)))
    assert titles == ["acme: API unavailable", "acme: API: major outage"]
    assert stored == ["API unavailable", "API: major outage", "Database upgrade", "Webhooks: degraded performance"]


PUBLIC = "http://93.184.215.14/hook"  # an address literal: checked without DNS


def _redirecting(sent: list[httpx.Request], location: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/hook":
            return httpx.Response(307, headers={"location": location})
        return httpx.Response(204)

    return httpx.MockTransport(handle)


def _send(runtime: Runtime) -> tuple[list[str], list[str]]:
    with runtime.sessions() as session:
        composed = digest.compose(session, now=runtime.now())
    return digest.send(runtime, composed, targets=kinds.Digest(webhook=PUBLIC))


def test_webhook_redirect_to_a_private_address_is_refused(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_redirecting(sent, "http://10.1.2.3/internal"), allow_private_webhooks=False)
    receipts, errors = _send(runtime)
    assert receipts == [] and [str(r.url) for r in sent] == [PUBLIC]  # the private target was never contacted
    assert errors == [
        "webhook: http://10.1.2.3/internal: webhook host 10.1.2.3 resolves to a non-public address (10.1.2.3); "
        "set MAMORI_ALLOW_PRIVATE_WEBHOOKS=1 to allow it"
    ]


def test_webhook_redirect_to_a_public_address_re_posts_the_payload(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_redirecting(sent, "https://1.1.1.1/moved"), allow_private_webhooks=False)
    receipts, errors = _send(runtime)
    assert errors == [] and receipts == ["webhook:https://1.1.1.1/moved"]
    assert [r.method for r in sent] == ["POST", "POST"] and sent[0].content == sent[1].content


def test_webhook_redirect_to_a_private_address_is_followed_when_allowed(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_redirecting(sent, "http://10.1.2.3/internal"), allow_private_webhooks=True)
    receipts, errors = _send(runtime)
    assert errors == [] and receipts == ["webhook:http://10.1.2.3/internal"]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("/hook", "more than 5 redirects"),
        ("file:///etc/passwd", "not an http(s) URL"),
    ],
)
def test_webhook_redirect_loops_and_other_schemes_give_clear_errors(make_runtime, location: str, message: str) -> None:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_redirecting(sent, location), allow_private_webhooks=False)
    receipts, errors = _send(runtime)
    assert receipts == [] and len(errors) == 1 and message in errors[0]


def test_feed_and_advisory_downloads_refuse_redirects_into_private_networks(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent: list[httpx.Request] = []
    runtime = make_runtime(
        http_transport=_redirecting(sent, "http://169.254.169.254/meta"), allow_private_webhooks=False
    )
    with pytest.raises(feeds.InvalidFeed, match="non-public address"):
        watch._fetch(runtime, PUBLIC)
    with pytest.raises(InvalidInput, match="non-public address"):
        store._fetch(runtime, PUBLIC)
    assert {str(r.url) for r in sent} == {PUBLIC}, "the metadata address is never requested"


def test_the_digest_webhook_goes_to_the_address_that_was_checked(make_runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    answers = iter(["93.184.215.14", "10.0.0.1"])  # a rebinding DNS name: public when checked, private after
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port, *a, **k: [(2, 1, 6, "", (next(answers), 0))])
    sent: list[httpx.Request] = []
    runtime = make_runtime(http_transport=_redirecting(sent, "/done"), allow_private_webhooks=False)
    with runtime.sessions() as session:
        composed = digest.compose(session, now=runtime.now())
    receipts, errors = digest.send(runtime, composed, targets=kinds.Digest(webhook="https://hooks.example/hook"))
    assert receipts == []
    assert errors == [
        "webhook: https://hooks.example/done: webhook host hooks.example resolves to a non-public address (10.0.0.1); "
        "set MAMORI_ALLOW_PRIVATE_WEBHOOKS=1 to allow it"
    ]
    assert [(str(r.url), r.headers["Host"], r.extensions["sni_hostname"]) for r in sent] == [
        ("https://93.184.215.14/hook", "hooks.example", "hooks.example")
    ]
