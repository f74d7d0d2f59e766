"""Demo data: lockfiles of the demo product, demo OSV records and EPSS scores, vendors and a news item."""

from __future__ import annotations

from pathlib import Path

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.vulns import feeds, kinds, store, watch
from mamori.vulns.kinds import Feed
from mamori.vulns.service import findings

DEMO_DIR = Path(__file__).resolve().parent / "demo"
NEWS = Feed(name="demo-security-news", url="https://news.jobs.example/rss.xml")


def seed(runtime: Runtime) -> None:
    """Idempotent: inventory is replaced, advisories sync incrementally, feed items and findings are deduplicated."""
    manifest.apply(
        runtime, manifest.load(DEMO_DIR / "config", runtime.kinds), actor=Actor(name="demo", source="config")
    )
    now = runtime.now()
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=DEMO_DIR / "repos", now=now)
        store.sync_advisories(session, runtime=runtime, now=now, source=str(DEMO_DIR / "advisories"))
        store.import_epss(session, payload=(DEMO_DIR / "epss.csv").read_bytes(), now=now, source="demo epss.csv")
        findings.rescan(session, now=now, bus=runtime.bus)
        vendors = kinds.vendors(session)
        items = feeds.parse((DEMO_DIR / "security-news.xml").read_bytes(), kind="rss")
        watch.ingest_items(
            session,
            feed=NEWS,
            items=items,
            matcher=watch.matcher_for(vendors),
            vendors=vendors,
            policy=kinds.policy(session),
            now=now,
        )
