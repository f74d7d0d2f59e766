"""Events the findings domain publishes: a security finding opened (new or back) or resolved by its tools."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from mamori.core.events import Event


class _SecurityFindingEvent(Event):
    finding_id: str
    kind: str
    title: str
    service: str | None
    team: str | None
    tools: list[str]
    severity: str
    priority: str
    at: datetime


class SecurityFindingOpened(_SecurityFindingEvent):
    """A finding appeared in the queue, or a resolved one was reported again."""

    type: ClassVar[str] = "findings.finding_opened"


class SecurityFindingResolved(_SecurityFindingEvent):
    """No tool reports the finding any longer (fixed, archived, passed, or not found by its scope's scan)."""

    type: ClassVar[str] = "findings.finding_resolved"
