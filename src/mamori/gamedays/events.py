"""Events the gamedays domain publishes; `mamori.wiring` hands them to the incidents intake.

Every drill alert carries the label `mamori_drill=<drill id>` and a title starting `[DRILL]`, so each page,
incident and message it causes says so, and metrics can leave it out.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from mamori.core.events import Event


class DrillStarted(Event):
    type: ClassVar[str] = "gamedays.drill_started"
    drill_id: str
    scenario: str
    title: str
    services: list[str]
    participants: list[str]
    at: datetime


class DrillAlertInjected(Event):
    """A drill's synthetic alert (or its resolution): `body` is the payload for the named integration."""

    type: ClassVar[str] = "gamedays.drill_alert_injected"
    drill_id: str
    inject_id: str
    integration: str
    source: Literal["alertmanager", "datadog", "generic"]
    status: Literal["firing", "resolved"]
    body: str
    at: datetime


class DrillNewsInjected(Event):
    """A drill's vendor-breach news item or advisory (title starts `[DRILL]`)."""

    type: ClassVar[str] = "gamedays.drill_news_injected"
    drill_id: str
    inject_id: str
    title: str
    vendor: str | None
    summary: str
    link: str | None
    at: datetime


class DrillSloEventsInjected(Event):
    """Request events for an SLO, marked as the drill's: a subscriber must keep them out of real budgets."""

    type: ClassVar[str] = "gamedays.drill_slo_events_injected"
    drill_id: str
    inject_id: str
    slo: str
    good: int
    total: int
    over_seconds: float
    at: datetime


class DrillEnded(Event):
    """A drill finished or was aborted: its alert groups and incidents are to be resolved."""

    type: ClassVar[str] = "gamedays.drill_ended"
    drill_id: str
    outcome: Literal["finished", "aborted"]
    reason: str
    group_ids: list[str]
    incident_ids: list[str]
    at: datetime
