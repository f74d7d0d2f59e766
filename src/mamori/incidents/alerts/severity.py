"""Severity levels SEV1..SEV5: PagerDuty-style defaults, overridable by `SeverityLevel` documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Severity:
    name: str
    rank: int
    description: str
    major: bool
    incident_commander: bool
    page: bool
    update_every: timedelta | None
    postmortem_required: bool
    postmortem_due_days: int | None
    postmortem_business_days: bool


DEFAULT_SEVERITIES: dict[str, Severity] = {
    s.name: s
    for s in (
        Severity(
            "SEV1",
            1,
            "Critical issue that warrants public notification and liaison with executive teams: "
            "the product is down or badly degraded for most customers, or data is lost or exposed.",
            True,
            True,
            True,
            timedelta(minutes=30),
            True,
            3,
            False,
        ),
        Severity(
            "SEV2",
            2,
            "Critical system issue actively impacting many customers' ability to use the product.",
            True,
            True,
            True,
            timedelta(hours=1),
            True,
            5,
            True,
        ),
        Severity(
            "SEV3",
            3,
            "Stability or minor customer-impacting issues that require immediate attention from service owners.",
            False,
            False,
            True,
            timedelta(hours=4),
            False,
            None,
            False,
        ),
        Severity(
            "SEV4",
            4,
            "Minor issues requiring action, but not affecting customers' ability to use the product.",
            False,
            False,
            False,
            None,
            False,
            None,
            False,
        ),
        Severity(
            "SEV5",
            5,
            "Cosmetic issues or bugs not affecting customers; filed as a ticket.",
            False,
            False,
            False,
            None,
            False,
            None,
            False,
        ),
    )
}

SEVERITY_NAMES = tuple(DEFAULT_SEVERITIES)


def due_after(start_day_index: int, days: int, *, business: bool) -> int:
    """How many calendar days after a weekday (0=Mon) `days` (business) days end."""
    if not business:
        return days
    calendar, left, weekday = 0, days, start_day_index
    while left > 0:
        calendar += 1
        weekday = (weekday + 1) % 7
        if weekday < 5:
            left -= 1
    return calendar
