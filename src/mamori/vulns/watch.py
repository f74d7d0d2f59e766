"""Vendor watch: feeds polled and stored, items and KEV entries matched to vendors, vendor-incident findings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.runtime import Runtime
from mamori.integrations import DeliveryError, webhooks
from mamori.vulns import feeds, kinds
from mamori.vulns.kinds import Feed, VendorSpec
from mamori.vulns.models import VulnFeedItem, VulnFinding, VulnKev, VulnSyncState
from mamori.vulns.priority import due_at
from mamori.vulns.service.findings import note_on_timeline
from mamori.vulns.vendor_match import Match, VendorMatcher, VendorTerms, is_security_news, leaks_credentials

log = logging.getLogger(__name__)
FEED_TIMEOUT_SECONDS = 10.0
MAX_FEED_BYTES = 10 * 1024 * 1024
CRITICALITY_PRIORITY = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}


def vendor_priority(spec: VendorSpec | None) -> tuple[str, str]:
    """A vendor item's priority from its vendor's criticality (medium for a vendor nobody declared), and the
    reason that says so."""
    return CRITICALITY_PRIORITY[spec.criticality if spec else "medium"], (
        f"vendor criticality {spec.criticality if spec else 'unknown'}"
    )


@dataclass
class PollResult:
    polled: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    new_items: int = 0
    incidents: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "polled": self.polled,
            "errors": self.errors,
            "new_items": self.new_items,
            "incidents": len(self.incidents),
        }


def matcher_for(vendors: dict[str, VendorSpec]) -> VendorMatcher:
    return VendorMatcher(
        VendorTerms(name, tuple(t for t in (spec.display_name or name, *spec.aliases, *spec.products) if t))
        for name, spec in vendors.items()
    )


def all_feeds(policy: kinds.VulnerabilityPolicySpec, vendors: dict[str, VendorSpec]) -> list[Feed]:
    """The policy's feeds plus each vendor's status page."""
    out = list(policy.feeds)
    known = {f.url for f in out}
    for name, spec in vendors.items():
        if spec.status_page and spec.status_page not in known:
            out.append(Feed(name=f"{name}-status", url=spec.status_page, type="statuspage", vendor=name))
    return out


def _fetch(runtime: Runtime, url: str) -> bytes:
    try:
        with runtime.http_client(timeout=FEED_TIMEOUT_SECONDS) as client:
            response = webhooks.get_checked(
                client,
                url,
                allow_private=runtime.settings.allow_private_webhooks,
                headers={"Accept": "application/rss+xml, application/atom+xml, application/json"},
                max_bytes=MAX_FEED_BYTES,
            )
    except DeliveryError as exc:
        raise feeds.InvalidFeed(str(exc)) from None
    except httpx.TimeoutException:
        raise feeds.InvalidFeed(f"timed out after {FEED_TIMEOUT_SECONDS:g}s") from None
    except httpx.HTTPError as exc:
        raise feeds.InvalidFeed(f"request failed ({exc.__class__.__name__}: {exc})") from None
    if response.status_code != 200:
        raise feeds.InvalidFeed(f"HTTP {response.status_code}")
    return response.content


def _state(session: Session, feed: Feed, now: datetime) -> VulnSyncState:
    state = session.get(VulnSyncState, f"feed:{feed.name}") or VulnSyncState(
        name=f"feed:{feed.name}", kind="feed", stats={}
    )
    session.add(state)
    state.last_run_at = now
    return state


def poll_feeds(session: Session, *, runtime: Runtime, now: datetime) -> PollResult:
    """Fetch every feed; a failing feed records its error and the others go on; every new item is kept."""
    policy, vendors = kinds.policy(session), kinds.vendors(session)
    matcher = matcher_for(vendors)
    result = PollResult()
    for feed in all_feeds(policy, vendors):
        state = _state(session, feed, now)
        try:
            items = feeds.parse(_fetch(runtime, feed.url), kind=feed.type)
        except feeds.InvalidFeed as exc:
            state.last_error = f"{feed.url}: {exc}"
            result.errors[feed.name] = state.last_error
            log.warning("feed %s: %s", feed.name, state.last_error)
            continue
        fresh, incidents = ingest_items(
            session, feed=feed, items=items, matcher=matcher, vendors=vendors, policy=policy, now=now
        )
        result.incidents.extend(incidents)
        session.flush()
        state.last_error, state.last_success_at = None, now
        state.stats = {"items": len(items), "new": fresh}
        result.polled.append(feed.name)
        result.new_items += fresh
    return result


def ingest_items(
    session: Session,
    *,
    feed: Feed,
    items: list[feeds.FeedItem],
    matcher: VendorMatcher,
    vendors: dict[str, VendorSpec],
    policy: kinds.VulnerabilityPolicySpec,
    now: datetime,
) -> tuple[int, list[str]]:
    """Store the items not seen before and open a vendor incident per match; returns (new items, incident keys)."""
    known = set(session.scalars(select(VulnFeedItem.guid).where(VulnFeedItem.feed == feed.name)))
    fresh, incidents = 0, []
    for item in items:
        guid = item.guid[:1000]
        if guid in known:
            continue
        known.add(guid)
        fresh += 1
        matches = _matches_for(feed, item, matcher)
        session.add(
            VulnFeedItem(
                feed=feed.name,
                guid=guid,
                title=item.title[:1000],
                link=item.link,
                summary=item.summary,
                published=item.published,
                fetched_at=now,
                vendors=[m.vendor for m in matches],
            )
        )
        for m in matches:
            f = open_incident(
                session,
                vendors=vendors,
                policy=policy,
                now=now,
                key=f"feed|{m.vendor}|{feed.name}|{guid}"[:900],
                vendor=m.vendor,
                title=f"{m.vendor}: {item.title}",
                evidence=m.evidence,
                link=item.link,
            )
            if f is not None:
                incidents.append(f.key)
    session.flush()
    return fresh, incidents


def _matches_for(feed: Feed, item: feeds.FeedItem, matcher: VendorMatcher) -> list[Match]:
    text = f"{item.title}. {item.summary}"
    if feed.vendor:  # a vendor's own status page: every incident is about that vendor
        if not opens_incident(item):
            return []
        return [Match(feed.vendor, feed.vendor, text[:300])]
    if not is_security_news(text):
        return []
    return matcher.match(text)


def opens_incident(item: feeds.FeedItem) -> bool:
    """Which status-page items need triage: incidents and outages do; a scheduled maintenance or degraded
    performance is kept as a feed item (visible with the vendor) without opening a finding."""
    if item.kind == "maintenance":
        return False
    if item.kind == "component":
        return item.status in feeds.OUTAGE_STATUSES
    return True


def open_incident(
    session: Session,
    *,
    vendors: dict[str, VendorSpec],
    policy: kinds.VulnerabilityPolicySpec,
    now: datetime,
    key: str,
    vendor: str,
    title: str,
    evidence: str,
    link: str | None,
) -> VulnFinding | None:
    """A vendor-incident finding in the triage queue; None when one already exists for `key`."""
    if session.scalar(select(VulnFinding.id).where(VulnFinding.key == key)) is not None:
        return None
    spec = vendors.get(vendor)
    priority, why = vendor_priority(spec)
    reasons = [why]
    if spec and (spec.oauth_apps or spec.tokens):
        reasons.append("holds OAuth apps or tokens of ours: rotate if affected")
    due = due_at(now, priority, policy.sla_days)
    if leaks_credentials(f"{title}\n{evidence}"):
        priority, due = "P1", now + timedelta(hours=policy.credential_leak_hours)
        reasons.insert(0, f"credentials or tokens leaked: rotate within {policy.credential_leak_hours} h")
    f = VulnFinding(
        key=key,
        kind="vendor",
        vendor=vendor,
        team=spec.owner if spec else None,
        title=title[:500],
        evidence=evidence,
        link=link,
        priority=priority,
        priority_reasons=reasons,
        state="new",
        first_seen_at=now,
        last_seen_at=now,
        state_changed_at=now,
        due_at=due,
    )
    session.add(f)
    session.flush()
    note_on_timeline(session, f, now=now, title=f"Vendor incident: {f.title}", data={"created": True, "vendor": vendor})
    return f


def match_kev(session: Session, *, now: datetime) -> list[str]:
    """KEV entries naming a vendor's product (cloud and SaaS products we use) become vendor incidents."""
    policy, vendors = kinds.policy(session), kinds.vendors(session)
    matcher = matcher_for(vendors)
    created = []
    for kev in session.scalars(select(VulnKev).order_by(VulnKev.cve)):
        for m in matcher.match(f"{kev.vendor} {kev.product}"):
            f = open_incident(
                session,
                vendors=vendors,
                policy=policy,
                now=now,
                key=f"kev|{m.vendor}|{kev.cve}",
                vendor=m.vendor,
                title=f"{m.vendor}: {kev.cve} {kev.name or kev.product} is known exploited",
                evidence=f"CISA KEV {kev.cve}: {kev.vendor} {kev.product}. {kev.description}"[:1000],
                link=f"https://nvd.nist.gov/vuln/detail/{kev.cve}",
            )
            if f is not None:
                created.append(f.key)
    return created
