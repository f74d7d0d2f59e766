"""Events the slo domain publishes; other domains subscribe to them in `mamori.wiring`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from mamori.core.events import Event


class _BurnAlert(Event):
    """What a burn alert is about; fired and resolved carry the same fields."""

    slo: str
    objective: int
    service: str
    severity: Literal["page", "ticket"]
    long_window: str
    short_window: str
    burn_rate: float
    threshold: float
    at: datetime
    user_story: str


class BurnAlertFired(_BurnAlert):
    """An SLO objective burns its error budget fast enough to page or to file a ticket."""

    type: ClassVar[str] = "slo.burn_alert_fired"


class BurnAlertResolved(_BurnAlert):
    """A burn alert stopped firing (both windows no longer burn over the threshold)."""

    type: ClassVar[str] = "slo.burn_alert_resolved"


class ReleaseFreezeStarted(Event):
    """An error-budget policy froze releases of a service (the deploy gate answers 423)."""

    type: ClassVar[str] = "slo.release_freeze_started"
    service: str
    reason: str
    since: datetime


class ReleaseFreezeEnded(Event):
    """The last freeze of a service ended (the deploy gate answers 200 again)."""

    type: ClassVar[str] = "slo.release_freeze_ended"
    service: str
    at: datetime
