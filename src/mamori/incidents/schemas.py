"""Pydantic In/Out models shared by the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    group_key: str
    status: str
    title: str
    service: str | None
    team: str | None
    severity: str
    escalation_policy: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    incident_id: str | None


class DeclareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    severity: str = "SEV3"
    service: str | None = None
    group_id: str | None = None
    commander: str | None = None
    summary: str = ""


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: int
    title: str
    severity: str
    status: str
    service: str | None
    team: str | None
    roles: dict[str, Any]
    group_id: str | None
    declared_at: datetime
    declared_by: str
    resolved_at: datetime | None
    next_update_due_at: datetime | None
    postmortem_required: bool


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    status: str | None = None
    audience: str = "internal"


class SeverityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str = Field(min_length=1, max_length=16)


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    user: str


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[str]
    starts_at: datetime | None = None
    ends_at: datetime
    comment: str = ""


class FileIn(BaseModel):
    """Where to file an action item: tracker jira (target: project key) or github (target: owner/repo;
    omitted: the repository of the incident's service in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    tracker: str
    target: str | None = None


class ActionItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    owner: str | None = None
    due_at: datetime | None = None
    file: FileIn | None = None


class ActionItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    incident_id: str
    title: str
    owner: str | None
    due_at: datetime | None
    status: str
    tracker: str | None
    tracker_target: str | None
    filing_status: str | None
    filing_error: str | None
    external_ref: str | None
    external_url: str | None
    done_at: datetime | None


class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    services: list[str]
    starts_at: datetime | None = None
    ends_at: datetime
    reason: str = ""


class MaintenanceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    services: list[str]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime


class PostmortemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    markdown: str
    status: str | None = None


class PostmortemOut(BaseModel):
    status: str
    due_at: datetime | None
    markdown: str


class CreatedOut(BaseModel):
    id: str


class TimelineItemOut(BaseModel):
    at: datetime
    kind: str
    text: str
    actor: str


class ScheduleFeedOut(BaseModel):
    schedule: str
    url: str
    """The secret iCalendar feed URL (anyone with it can read the shifts)."""


class UserFeedOut(BaseModel):
    user: str
    url: str


class PersonLoadOut(BaseModel):
    user: str
    time_zone: str
    pages: int
    pages_per_week: float
    out_of_hours: int
    out_of_hours_share: float
    by_week: dict[str, int]


class OncallHealthOut(BaseModel):
    since: datetime
    until: datetime
    people: list[PersonLoadOut]


class TrendWeekOut(BaseModel):
    week: str
    """The Monday (UTC) the week starts on, ISO date."""
    total: int
    by_severity: dict[str, int]
    by_service: dict[str, int]
    by_team: dict[str, int]


class TrendsOut(BaseModel):
    weeks: list[TrendWeekOut]
    total: int
    by_severity: dict[str, int]
    by_service: dict[str, int]
    by_team: dict[str, int]


class IncidentMetricsOut(BaseModel):
    since: datetime
    until: datetime
    alert_groups: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    incidents: int
    incidents_by_severity: dict[str, int]
    trends: TrendsOut
