"""Demo data: per-user-story SLOs for jobs-web and jobs-api with 30 days of traffic and a fast burn after a deploy."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest, timeline
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.slo import counting, service
from mamori.slo.evaluate import to_minute
from mamori.slo.models import SloBucket
from mamori.slo.service import enforcement

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DAYS = 30
# requests per minute and normal error ratio per series
TRAFFIC = {
    "apply-for-job#0": (40, 0.0004),
    "save-search#0": (15, 0.004),
    "search-jobs#0": (120, 0.03),
    "view-job#0": (200, 0.002),
}
BURN = timedelta(minutes=90)  # the deploy that burns jobs-api's budget, this long ago
BURN_LENGTH = 25


def _tally(now_minute: int) -> counting.Tally:
    rng = random.Random(7)  # the same demo every time
    tally = counting.Tally()
    burn_start = now_minute - int(BURN / timedelta(minutes=1))
    for series, (per_minute, error_ratio) in TRAFFIC.items():
        minute = now_minute - DAYS * 1440
        while minute < now_minute:
            # older traffic is kept in 10-minute steps so that seeding stays quick
            step = 1 if now_minute - minute <= 3 * 1440 else 10
            total = max(int(rng.gauss(per_minute * step, per_minute * step * 0.1)), 0)
            ratio = error_ratio
            if series.startswith("apply") and burn_start <= minute < burn_start + BURN_LENGTH:
                ratio = 0.08
            bad = sum(1 for _ in range(min(total, 400)) if rng.random() < ratio) * max(total // 400, 1)
            tally.counts[(series, "", minute)] = [total - min(bad, total), total]
            minute += step
    return tally


def seed(runtime: Runtime) -> None:
    """Idempotent: the config is applied (unchanged documents are skipped) and traffic is added once."""
    manifest.apply(runtime, manifest.load(DEMO_DIR, runtime.kinds), actor=Actor(name="demo", source="config"))
    now = runtime.now()
    with runtime.sessions.begin() as session:
        if session.scalar(select(SloBucket.series).limit(1)) is not None:
            return
        service.upsert_tally(session, _tally(to_minute(now)))
        deploy_at = now - BURN
        timeline.record(
            session,
            at=deploy_at,
            kind="deploy",
            source="demo",
            service="jobs-api",
            team="backend",
            title="Deploy jobs-api v2.14.0 (new application form)",
            data={"version": "2.14.0"},
            dedupe_key="demo:slo:deploy",
        )
        for at in (deploy_at + timedelta(minutes=BURN_LENGTH), now):
            service.evaluate_all(session, runtime, now=at)
            enforcement.enforce(session, runtime, now=at)
