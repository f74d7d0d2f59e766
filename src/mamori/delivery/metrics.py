"""The delivery figures as Prometheus families for the kernel's `/metrics` scrape (and `/metrics/delivery`):
every service's figures, PR cycle time per owning team, toil per team over the last week, and code size."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.exposition import MetricFamily
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryCodeStat, DeliveryRun
from mamori.delivery.service import export, teams
from mamori.delivery.sinks import exposition

P = "mamori_delivery_"


def families(session: Session, now: datetime) -> list[MetricFamily]:
    policy = kinds.policy(session)
    out = exposition.families(export.collect(session, now=now, policy=policy))
    cycle = MetricFamily(P + "team_pr_cycle_seconds", "Median PR cycle time per owning team over the window")
    merged = MetricFamily(P + "team_pull_requests_merged", "PRs merged per owning team over the window")
    start = now - timedelta(days=policy.window_days)
    for team, stats in teams.pull_requests_by_team(session, start=start, end=now, policy=policy, by="owner").items():
        cycle.add(stats.cycle_s, {"team": team})
        merged.add(stats.merged, {"team": team})
    toil = MetricFamily(P + "toil_items", "Inquiries and pages tagged as toil in the last 7 days, per team and source")
    week: dict[tuple[str, str], int] = {}
    for row in teams.toil(session, since=now - timedelta(days=7), until=now, policy=policy):
        week[(row.team, row.source)] = week.get((row.team, row.source), 0) + row.count
    for (team, source), n in sorted(week.items()):
        toil.add(n, {"team": team, "source": source, "window": "7d"})
    return [*out, cycle, merged, toil, _code_size(session), _build_cache(session)]


def _build_cache(session: Session) -> MetricFamily:
    """Cached steps / steps of each service's latest build record from `docker buildx history inspect`."""
    fam = MetricFamily(P + "build_cache_hit_ratio", "Cached steps / steps of the latest buildx build record")
    latest = (
        select(DeliveryRun.service, func.max(DeliveryRun.started_at).label("at"))
        .where(DeliveryRun.steps_total > 0)
        .group_by(DeliveryRun.service)
        .subquery()
    )
    rows = session.scalars(
        select(DeliveryRun)
        .join(latest, (DeliveryRun.service == latest.c.service) & (DeliveryRun.started_at == latest.c.at))
        .where(DeliveryRun.steps_total > 0)
        .order_by(DeliveryRun.service, DeliveryRun.id)
    )
    done: set[str] = set()
    for run in rows:
        if run.service not in done and run.steps_total:
            done.add(run.service)
            fam.add((run.steps_cached or 0) / run.steps_total, {"service": run.service})
    return fam


def _code_size(session: Session) -> MetricFamily:
    """Code lines per language of each service's latest size count (cloc, tokei or Mamori's own)."""
    fam = MetricFamily(P + "code_lines", "Code lines per language at the latest size count of the service")
    latest = (
        select(DeliveryCodeStat.service, func.max(DeliveryCodeStat.id).label("id"))
        .where(DeliveryCodeStat.kind == "size")
        .group_by(DeliveryCodeStat.service)
        .subquery()
    )
    for row in session.scalars(select(DeliveryCodeStat).join(latest, DeliveryCodeStat.id == latest.c.id)):
        for language, lines in sorted(row.counts.items()):
            fam.add(lines, {"service": row.service, "language": language, "tool": row.tool})
    return fam
