"""Events the vulns domain publishes; the security-findings queue subscribes to them in `mamori.wiring`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from mamori.core.events import Event


class _FindingEvent(Event):
    finding_id: str
    """The vulns domain's own id of the dependency finding."""
    service: str | None
    ecosystem: str
    package: str
    version: str
    advisory: str
    """The advisory id (OSV/GHSA/CVE) the finding is about; aliases are in `aliases`."""
    aliases: list[str] = []
    locations: list[str] = []
    """Where the package was found (manifest or lockfile paths in the service's repository)."""
    severity: str
    priority: str
    at: datetime
    kev: bool = False
    """Whether an id of the advisory is in CISA's Known Exploited Vulnerabilities catalog."""
    epss: float | None = None
    """The highest EPSS probability (0..1) of the advisory's ids, when known."""


class FindingOpened(_FindingEvent):
    """A scan found a vulnerable package version (new, or back after it was fixed)."""

    type: ClassVar[str] = "vulns.finding_opened"


class FindingChanged(_FindingEvent):
    """A finding's severity, priority or triage state changed."""

    type: ClassVar[str] = "vulns.finding_changed"
    state: str


class FindingResolved(_FindingEvent):
    """A rescan no longer finds the package version (upgraded or removed)."""

    type: ClassVar[str] = "vulns.finding_resolved"
