"""Pydantic In/Out models of the core API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mamori.core import catalog


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(Out):
    id: str
    email: str
    name: str
    handle: str | None
    time_zone: str
    role: str
    contacts: list[dict[str, Any]]
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="viewer", pattern="^(viewer|responder|editor|admin)$")
    password: str | None = Field(default=None, min_length=8)
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return catalog.check_time_zone(value)


class TeamOut(Out):
    id: str
    name: str
    display_name: str
    slack_channel: str | None
    members: list[dict[str, str]] = []


class ServiceOut(BaseModel):
    name: str
    display_name: str
    description: str
    owner: str | None
    tier: int
    repository: str | None
    links: list[dict[str, Any]]
    slots: dict[str, str] = {}


class ReliabilitySignalOut(BaseModel):
    level: str
    name: str
    met: bool
    evidence: str


class ReliabilityOut(BaseModel):
    """A service's level in the Service Reliability Hierarchy (rank 0-7), the next level and what it lacks."""

    level: str | None
    rank: int
    title: str
    next: str | None
    missing: list[str]
    signals: list[ReliabilitySignalOut]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200)
    scopes: list[str] = Field(min_length=1)
    expires_in_days: int | None = Field(default=None, gt=0, le=3650)
    environment: str | None = None


class TokenOut(Out):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    environment: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret; shown only in this response.")


class AuditOut(Out):
    id: int
    at: datetime
    actor: str
    source: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    diff: list[dict[str, Any]]
    reason: str | None


class TimelineOut(Out):
    id: int
    at: datetime
    kind: str
    source: str
    service: str | None
    team: str | None
    title: str
    data: dict[str, Any]
    ref: str | None


class TimelineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(default="note", pattern=r"^[a-z_]{1,64}$")
    title: str = Field(min_length=1, max_length=500)
    service: str | None = None
    at: datetime | None = None
    data: dict[str, Any] = {}


class JobOut(Out):
    id: int
    kind: str
    status: str
    run_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
