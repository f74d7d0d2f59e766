"""Durable jobs of the vulns domain: daily advisory sync and rescan, hourly feed polls, the weekly digest."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from mamori.core import deliveries
from mamori.core.jobs import JobContext, JobKind, NoPayload, Payload
from mamori.core.runtime import PeriodicSpec
from mamori.vulns import digest, kinds, store, watch
from mamori.vulns.models import VulnSyncState
from mamori.vulns.service import findings

log = logging.getLogger(__name__)

SYNC_JOB = "vulns.sync"
POLL_JOB = "vulns.poll_feeds"
DIGEST_JOB = "vulns.digest"


class SyncPayload(Payload):
    sources: list[str] = []
    """Advisory sources to sync; empty means every source the policy names."""


def sync_job(ctx: JobContext, payload: SyncPayload) -> None:
    """Every advisory source, then EPSS and KEV, then a rescan; a failing source is recorded, the rest go on."""
    policy = kinds.policy(ctx.session)
    for source in payload.sources or store.sources_for(ctx.session, policy.advisory_sources):
        store.sync_advisories(ctx.session, runtime=ctx.runtime, now=ctx.now, source=source)
    store.sync_enrichment(
        ctx.session, runtime=ctx.runtime, now=ctx.now, epss_url=policy.epss_url, kev_url=policy.kev_url
    )
    findings.rescan(ctx.session, now=ctx.now, bus=ctx.runtime.bus)
    watch.match_kev(ctx.session, now=ctx.now)


def poll_job(ctx: JobContext, payload: NoPayload) -> None:
    watch.poll_feeds(ctx.session, runtime=ctx.runtime, now=ctx.now)


def digest_job(ctx: JobContext, payload: NoPayload) -> None:
    """Send the digest; if every target fails the job retries, partial failures are recorded."""
    targets = kinds.policy(ctx.session).digest
    composed = digest.compose(ctx.session, now=ctx.now)
    attempts = digest.deliver(ctx.runtime, composed, targets=targets)
    for a in attempts:
        deliveries.attempt(
            ctx,
            source="vulns",
            kind="digest",
            channel=a.channel,
            target=a.target,
            subject="vulns:digest",
            ok=a.ok,
            detail=a.detail,
        )
    receipts = [a.detail for a in attempts if a.ok]
    errors = [f"{a.label}: {a.detail}" for a in attempts if not a.ok]
    state = ctx.session.get(VulnSyncState, "digest") or VulnSyncState(name="digest", kind="digest", stats={})
    ctx.session.add(state)
    state.last_run_at, state.last_error = ctx.now, "; ".join(errors) or None
    state.stats = {
        "receipts": receipts,
        "new": len(composed.new),
        "due_soon": len(composed.due_soon),
        "overdue": len(composed.overdue),
    }
    if errors and not receipts:
        raise RuntimeError(f"digest not delivered: {'; '.join(errors)}")
    if receipts:
        state.last_success_at = ctx.now


JOBS: list[JobKind[Any]] = [
    JobKind(SYNC_JOB, SyncPayload, sync_job),
    JobKind(POLL_JOB, NoPayload, poll_job),
    JobKind(DIGEST_JOB, NoPayload, digest_job),
]
PERIODIC = [
    PeriodicSpec(name="vulns.sync", kind=SYNC_JOB, interval=timedelta(days=1)),
    PeriodicSpec(name="vulns.poll_feeds", kind=POLL_JOB, interval=timedelta(hours=1)),
    PeriodicSpec(name="vulns.digest", kind=DIGEST_JOB, interval=timedelta(days=7)),
]
