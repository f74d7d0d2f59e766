"""One risk model for every source: a priority (P1 most urgent .. P4) with the reasons for it, and SLA due dates.

Points start from the severity (or the CVSS score when a tool gives one) and move with exploitability (KEV,
EPSS, detector confidence), exposure (internet-facing resource, production account) and what is at stake
(the service's tier and data class). A known-exploited vulnerability in production is always P1; an
informational record is always P4. Pure: the caller passes every input, including the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

PRIORITIES = ("P1", "P2", "P3", "P4")
DEFAULT_SLA_DAYS = {"P1": 7, "P2": 30, "P3": 90, "P4": 180}
SEVERITY_POINTS = {"CRITICAL": 9.0, "HIGH": 7.0, "MEDIUM": 5.0, "LOW": 3.0, "INFORMATIONAL": 0.0}
SENSITIVE_DATA = ("restricted", "confidential")


@dataclass(frozen=True, slots=True)
class Exposure:
    severity: str
    score: float | None = None
    """CVSS base score for package findings (used instead of the severity word when known)."""
    epss: float | None = None
    kev: bool = False
    confidence: float | None = None
    """Detector confidence 0..10 (GuardDuty)."""
    internet_facing: bool | None = None
    environment: str | None = None
    """production, staging, development (from the account's mapping); None when unknown."""
    tier: int | None = None
    data_class: str | None = None


@dataclass(frozen=True, slots=True)
class Ranking:
    priority: str
    points: float
    reasons: tuple[str, ...]


def _base(e: Exposure, reasons: list[str]) -> float:
    if e.score is not None:
        reasons.append(f"CVSS {e.score:.1f}")
        return e.score
    points = SEVERITY_POINTS.get(e.severity, 5.0)
    reasons.append(f"severity {e.severity.lower()} ({points:g})")
    return points


def _exploitability(e: Exposure, reasons: list[str]) -> float:
    points = 0.0
    if e.kev:
        points += 3
        reasons.append("known exploited (CISA KEV)")
    if e.epss is not None and e.epss >= 0.5:
        points += 2
        reasons.append(f"EPSS {e.epss:.2f} >= 0.5")
    elif e.epss is not None and e.epss >= 0.1:
        points += 1
        reasons.append(f"EPSS {e.epss:.2f} >= 0.1")
    if e.confidence is not None and e.confidence >= 8:
        points += 1
        reasons.append(f"detector confidence {e.confidence:g} >= 8")
    elif e.confidence is not None and e.confidence < 5:
        points -= 1
        reasons.append(f"detector confidence {e.confidence:g} < 5")
    return points


def _exposure(e: Exposure, reasons: list[str]) -> float:
    points = 0.0
    if e.internet_facing:
        points += 2
        reasons.append("internet-facing resource")
    if e.environment == "production":
        points += 1
        reasons.append("production account")
    elif e.environment in {"staging", "development", "sandbox"}:
        points -= 2
        reasons.append(f"{e.environment} account")
    if e.tier == 1:
        points += 1
        reasons.append("tier-1 service")
    elif e.tier == 4:
        points -= 1
        reasons.append("tier-4 service")
    if e.data_class in SENSITIVE_DATA:
        points += 1
        reasons.append(f"{e.data_class} data")
    return points


def rank(e: Exposure) -> Ranking:
    """The priority of a finding and every reason that moved it (shown next to the priority)."""
    reasons: list[str] = []
    points = _base(e, reasons) + _exploitability(e, reasons) + _exposure(e, reasons)
    if e.severity == "INFORMATIONAL" and e.score is None:
        return Ranking("P4", points, (*reasons, "informational: never above P4"))
    if e.kev and e.environment != "development":
        return Ranking("P1", points, (*reasons, "known exploited: always P1"))
    if points >= 11:
        priority = "P1"
    elif points >= 8:
        priority = "P2"
    elif points >= 5:
        priority = "P3"
    else:
        priority = "P4"
    return Ranking(priority, points, tuple(reasons))


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working time on which an SLA clock runs: `start`..`end` (UTC hours) on `weekdays` (0 Monday)."""

    start: int = 9
    end: int = 17
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)


def due_at(
    first_seen: datetime, priority: str, sla_days: dict[str, int], *, business: BusinessHours | None = None
) -> datetime:
    """When a finding of `priority` first seen at `first_seen` is due. With `business`, each SLA day is one
    working day of business hours, counted only inside those hours."""
    days = sla_days.get(priority, DEFAULT_SLA_DAYS.get(priority, 180))
    if business is None:
        return first_seen + timedelta(days=days)
    remaining = timedelta(hours=(business.end - business.start) * days)
    cursor = first_seen
    while True:
        day = cursor.date()
        opens = datetime.combine(day, time(business.start), tzinfo=cursor.tzinfo)
        closes = datetime.combine(day, time(business.end), tzinfo=cursor.tzinfo)
        if cursor.weekday() in business.weekdays and cursor < closes:
            begin = max(cursor, opens)
            if closes - begin >= remaining:
                return begin + remaining
            remaining -= closes - begin
        cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=cursor.tzinfo)
