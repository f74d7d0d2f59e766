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
