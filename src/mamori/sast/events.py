"""Events the sast domain publishes (subscribed in `mamori.wiring` by whoever reacts)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from mamori.core.events import Event


class ScanImported(Event):
    """A tool's results for one commit were stored and matched against what it reported before. `counts` are
    the matcher's (new, unchanged, moved, reopened, fixed); `severities` count the scan's distinct results
    per severity (critical .. info), those suppressed in source left out (`suppressed` counts them);
    `partial` says the scan covered only some paths."""

    type: ClassVar[str] = "sast.scan_imported"
    scan_id: str
    repo: str
    service: str | None = None
    tool: str
    commit: str
    branch: str | None = None
    pr: int | None = None
    counts: dict[str, int]
    severities: dict[str, int] = {}
    suppressed: int = 0
    partial: bool = False
    at: datetime


class FindingOpened(Event):
    """A finding appeared for the first time, or came back after it was fixed."""

    type: ClassVar[str] = "sast.finding_opened"
    finding_id: str
    repo: str
    service: str | None = None
    rule: str
    cwe: str | None = None
    path: str
    line: int
    severity: str
    reopened: bool = False
    at: datetime


class FindingTriaged(Event):
    """Someone decided what a finding is (confirmed, false positive, won't fix, accepted risk, fixed)."""

    type: ClassVar[str] = "sast.finding_triaged"
    finding_id: str
    repo: str
    service: str | None = None
    state: str
    actor: str
    at: datetime
