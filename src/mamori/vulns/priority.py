"""Ranking: a priority (P1 most urgent .. P4) from CVSS, EPSS, KEV, exposure and the service's tier, and SLAs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PRIORITIES = ("P1", "P2", "P3", "P4")
DEFAULT_SLA_DAYS = {"P1": 7, "P2": 30, "P3": 90, "P4": 180}
UNKNOWN_CVSS = 5.0  # a record without a usable score is treated as medium until someone looks


@dataclass(frozen=True, slots=True)
class Exposure:
    cvss: float | None
    epss: float | None
    kev: bool
    dev: bool | None  # None: the lockfile does not say; treated as production
    direct: bool | None
    tier: int | None  # 1 (most critical) .. 4


@dataclass(frozen=True, slots=True)
class Ranking:
    priority: str
    points: float
    reasons: tuple[str, ...]


def rank(e: Exposure) -> Ranking:
    """Points start at the CVSS base score and move with exploitation evidence and exposure.

    A known-exploited vulnerability in production code is always P1: attackers already use it.
    """
    reasons: list[str] = []
    points = e.cvss if e.cvss is not None else UNKNOWN_CVSS
    reasons.append(f"CVSS {e.cvss:.1f}" if e.cvss is not None else "no CVSS score (counted as 5.0)")
    production = e.dev is not True
    if e.kev:
        points += 3
        reasons.append("known exploited (CISA KEV)")
    if e.epss is not None and e.epss >= 0.5:
        points += 2
        reasons.append(f"EPSS {e.epss:.2f} >= 0.5")
    elif e.epss is not None and e.epss >= 0.1:
        points += 1
        reasons.append(f"EPSS {e.epss:.2f} >= 0.1")
    if not production:
        points -= 3
        reasons.append("development dependency only")
    if e.direct is False:
        points -= 1
        reasons.append("transitive dependency")
    if e.tier == 1:
        points += 1
        reasons.append("tier-1 service")
    elif e.tier == 4:
        points -= 1
        reasons.append("tier-4 service")
    if e.kev and production:
        return Ranking("P1", points, tuple(reasons))
    if points >= 11:
        priority = "P1"
    elif points >= 8:
        priority = "P2"
    elif points >= 5:
        priority = "P3"
    else:
        priority = "P4"
    return Ranking(priority, points, tuple(reasons))


def due_at(first_seen: datetime, priority: str, sla_days: dict[str, int]) -> datetime:
    days = sla_days.get(priority, DEFAULT_SLA_DAYS[priority])
    return first_seen + timedelta(days=days)
