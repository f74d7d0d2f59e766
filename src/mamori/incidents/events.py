"""Events the incidents domain publishes; other domains (game days, delivery metrics) subscribe in `mamori.wiring`.

Every event carries the labels of the alert group it came from, so a subscriber can tell a drill's
alerts (label `mamori_drill`) from real ones without reading incidents' tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from mamori.core.events import Event


class _GroupEvent(Event):
    group_id: str
    service: str | None
    severity: str
    labels: dict[str, str] = {}
    at: datetime


class AlertGroupOpened(_GroupEvent):
    """A new alert group was opened (its first alert fired); paging starts."""

    type: ClassVar[str] = "incidents.alert_group_opened"
    title: str


class AlertGroupPaged(_GroupEvent):
    """A page was delivered to a person for an alert group (one event per person and step)."""

    type: ClassVar[str] = "incidents.alert_group_paged"
    person: str
    channel: str
    step: int


class AlertGroupAcknowledged(_GroupEvent):
    """Someone acknowledged an alert group; escalation stops."""

    type: ClassVar[str] = "incidents.alert_group_acknowledged"
    by: str


class AlertGroupResolved(_GroupEvent):
    """An alert group was resolved (every alert cleared, or by hand)."""

    type: ClassVar[str] = "incidents.alert_group_resolved"


class _IncidentEvent(Event):
    incident_id: str
    number: int
    service: str | None
    severity: str
    group_id: str | None = None
    labels: dict[str, str] = {}
    """Labels of the alert group the incident was declared from (empty when declared by hand)."""
    at: datetime


class IncidentDeclared(_IncidentEvent):
    """An incident was declared (from an alert group or by hand)."""

    type: ClassVar[str] = "incidents.incident_declared"
    title: str
    by: str


class IncidentSeverityChanged(_IncidentEvent):
    type: ClassVar[str] = "incidents.incident_severity_changed"
    previous: str
    by: str


class IncidentRoleAssigned(_IncidentEvent):
    """A role (commander, communications, scribe, ...) was given to a person."""

    type: ClassVar[str] = "incidents.incident_role_assigned"
    role: str
    person: str
    by: str


class IncidentStatusUpdated(_IncidentEvent):
    """A status update was posted (status investigating | identified | monitoring | resolved)."""

    type: ClassVar[str] = "incidents.incident_status_updated"
    status: str
    by: str


class IncidentUpdatePosted(_IncidentEvent):
    """A status update was posted, with or without a change of status (a drill scores its cadence from these)."""

    type: ClassVar[str] = "incidents.incident_update_posted"
    audience: str
    by: str


class IncidentResolved(_IncidentEvent):
    type: ClassVar[str] = "incidents.incident_resolved"
    by: str


class PostmortemPublished(_IncidentEvent):
    type: ClassVar[str] = "incidents.postmortem_published"
    by: str
