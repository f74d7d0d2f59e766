"""DORA's five measures over one service's production deploys, incidents and changes (pure; no clock).

Definitions (the current DORA guide, with DevLake's choices where the guide leaves room; every divergence
is in docs/domains/delivery.md):

- deployment frequency: successful production deploys in the window; the band follows DevLake's 2023
  reading - the median number of deploy days per calendar week (weeks start on Monday), then per month.
- change lead time: the median of (deploy finished - commit authored) over every change a deploy shipped.
- change fail rate: failed deploys / successful production deploys. A deploy failed when, by the rules,
  an incident on the service is attributed to it (the latest successful deploy finished before the incident
  was declared, within `attribution_window` if one is set), or the next deploy is a rollback or a hotfix.
- failed-deployment recovery time: median, over failed deploys, of (recovery - deploy finished): the last
  attributed incident's resolution, else the finish of the rollback or hotfix that followed.
- deployment rework rate: unplanned deploys / successful production deploys; a deploy is unplanned when it
  is a rollback or hotfix, or finished while an incident on the service was open.

Medians are DevLake's (the largest value whose percent rank is at most 0.5, i.e. the lower median), so the
same rows give the same figures in Mamori and in DevLake's dashboards.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

BANDS = ("elite", "high", "medium", "low")


@dataclass(frozen=True)
class Deploy:
    id: str
    finished_at: datetime
    rollback: bool = False
    hotfix: bool = False


@dataclass(frozen=True)
class Incident:
    id: str
    declared_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Change:
    deploy_id: str
    committed_at: datetime


@dataclass(frozen=True)
class Rules:
    """Which signals mark a deploy failed or unplanned (the DeliveryPolicy kind's `dora` block)."""

    incidents_fail_deploys: bool = True
    rollbacks_fail_deploys: bool = True
    hotfixes_fail_deploys: bool = True
    attribution_window: timedelta | None = None
    deploys_during_incidents_are_unplanned: bool = True


@dataclass
class Dora:
    deploys: int
    deploy_days: int
    per_week_median: float | None
    per_month_median: float | None
    lead_time_s: float | None
    changes: int
    failed: int
    change_fail_rate: float | None
    recovery_time_s: float | None
    recovered: int
    unplanned: int
    rework_rate: float | None
    failed_ids: list[str] = field(default_factory=list)
    unplanned_ids: list[str] = field(default_factory=list)
    attributed: dict[str, str] = field(default_factory=dict)
    """incident id -> the deploy it is attributed to."""

    def bands(self) -> dict[str, str | None]:
        return {
            "deployment_frequency": frequency_band(self.per_week_median, self.per_month_median, self.deploys),
            "lead_time": lead_time_band(self.lead_time_s),
            "change_fail_rate": fail_rate_band(self.change_fail_rate),
            "recovery_time": recovery_band(self.recovery_time_s),
            "rework_rate": None,  # DORA publishes no bands for rework rate
        }


def lower_median(values: Iterable[float]) -> float | None:
    """DevLake's median: max(x) with percent_rank(x) <= 0.5, i.e. the lower middle value."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[(len(ordered) - 1) // 2]


def attribute(
    deploys: Sequence[Deploy], incidents: Sequence[Incident], window: timedelta | None = None
) -> dict[str, str]:
    """Incident -> the latest deploy finished at or before it was declared (within `window`, when set)."""
    ordered = sorted(deploys, key=lambda d: d.finished_at)
    out: dict[str, str] = {}
    for incident in incidents:
        best: Deploy | None = None
        for d in ordered:
            if d.finished_at > incident.declared_at:
                break
            best = d
        if best is not None and (window is None or incident.declared_at - best.finished_at <= window):
            out[incident.id] = best.id
    return out


def deploy_days_per_period(days: set[date], start: date, end: date) -> tuple[list[int], list[int]]:
    """Deploy days in each calendar week (Monday first) and each month touching [start, end]."""
    weeks: dict[date, int] = {}
    months: dict[date, int] = {}
    day = start
    while day <= end:
        week = day - timedelta(days=day.weekday())
        month = day.replace(day=1)
        hit = 1 if day in days else 0
        weeks[week] = weeks.get(week, 0) + hit
        months[month] = months.get(month, 0) + hit
        day += timedelta(days=1)
    return list(weeks.values()), list(months.values())


def compute(
    *,
    deploys: Sequence[Deploy],
    incidents: Sequence[Incident],
    changes: Sequence[Change],
    start: datetime,
    end: datetime,
    rules: Rules | None = None,
) -> Dora:
    """The five measures for successful production deploys finished in [start, end)."""
    rules = rules or Rules()
    ordered = sorted(deploys, key=lambda d: d.finished_at)
    in_window = [d for d in ordered if start <= d.finished_at < end]
    ids = {d.id for d in in_window}
    attributed = attribute(ordered, incidents, rules.attribution_window) if rules.incidents_fail_deploys else {}
    failed = _failed(ordered, attributed, rules) & ids
    unplanned = _unplanned(in_window, incidents, rules)
    weekly, monthly = deploy_days_per_period({d.finished_at.date() for d in in_window}, start.date(), end.date())
    by_id = {d.id: d for d in in_window}
    leads = [(by_id[c.deploy_id].finished_at - c.committed_at).total_seconds() for c in changes if c.deploy_id in by_id]
    recoveries = _recoveries(ordered, failed, attributed, incidents)
    n = len(in_window)
    return Dora(
        deploys=n,
        deploy_days=len({d.finished_at.date() for d in in_window}),
        per_week_median=lower_median(weekly) if n else None,
        per_month_median=lower_median(monthly) if n else None,
        lead_time_s=lower_median(v for v in leads if v >= 0),
        changes=len(leads),
        failed=len(failed),
        change_fail_rate=len(failed) / n if n else None,
        recovery_time_s=lower_median(recoveries.values()),
        recovered=len(recoveries),
        unplanned=len(unplanned),
        rework_rate=len(unplanned) / n if n else None,
        failed_ids=sorted(failed),
        unplanned_ids=sorted(unplanned),
        attributed={k: v for k, v in attributed.items() if v in ids},
    )


def _failed(ordered: Sequence[Deploy], attributed: dict[str, str], rules: Rules) -> set[str]:
    failed = set(attributed.values())
    for before, after in itertools.pairwise(ordered):
        if (after.rollback and rules.rollbacks_fail_deploys) or (after.hotfix and rules.hotfixes_fail_deploys):
            failed.add(before.id)
    return failed


def _unplanned(in_window: Sequence[Deploy], incidents: Sequence[Incident], rules: Rules) -> set[str]:
    out = {d.id for d in in_window if d.rollback or d.hotfix}
    if rules.deploys_during_incidents_are_unplanned:
        for d in in_window:
            for i in incidents:
                if i.declared_at <= d.finished_at and (i.resolved_at is None or d.finished_at < i.resolved_at):
                    out.add(d.id)
    return out


def _recoveries(
    ordered: Sequence[Deploy], failed: set[str], attributed: dict[str, str], incidents: Sequence[Incident]
) -> dict[str, float]:
    """Failed deploy -> seconds until recovered (deploys not yet recovered are left out)."""
    resolved: dict[str, list[datetime | None]] = {}
    for incident in incidents:
        if incident.id in attributed:
            resolved.setdefault(attributed[incident.id], []).append(incident.resolved_at)
    out: dict[str, float] = {}
    for i, d in enumerate(ordered):
        if d.id not in failed:
            continue
        ends = resolved.get(d.id)
        if ends:
            if any(e is None for e in ends):
                continue
            at = max(e for e in ends if e is not None)
        elif i + 1 < len(ordered):
            at = ordered[i + 1].finished_at
        else:
            continue
        out[d.id] = max(0.0, (at - d.finished_at).total_seconds())
    return out


def frequency_band(per_week: float | None, per_month: float | None, deploys: int) -> str | None:
    """DORA 2023 as DevLake reads it: >= 5 deploy days a week elite, >= 1 high, >= 1 a month medium, else low."""
    if per_week is None or per_month is None:
        return None if deploys == 0 else "low"
    if per_week >= 5:
        return "elite"
    if per_week >= 1:
        return "high"
    if per_month >= 1:
        return "medium"
    return "low"


def lead_time_band(seconds: float | None) -> str | None:
    return _band(seconds, (86400, 7 * 86400, 30 * 86400))


def recovery_band(seconds: float | None) -> str | None:
    return _band(seconds, (3600, 86400, 7 * 86400))


def fail_rate_band(rate: float | None) -> str | None:
    if rate is None:
        return None
    for limit, band in ((0.05, "elite"), (0.10, "high"), (0.15, "medium")):
        if rate <= limit:
            return band
    return "low"


def _band(value: float | None, limits: tuple[float, float, float]) -> str | None:
    if value is None:
        return None
    for limit, band in zip(limits, BANDS, strict=False):
        if value < limit:
            return band
    return "low"
