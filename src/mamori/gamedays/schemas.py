"""Pydantic In/Out models of the gamedays API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DrillCreateIn(_In):
    scenario: str = Field(min_length=1, max_length=200)
    start_at: datetime | None = None
    """When to start (with an offset); unset: the scenario's schedule, or now when it has none."""
    now: bool = False
    """Start now whatever the scenario's schedule says."""


class AbortIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class RecordIn(_In):
    kind: Literal["action", "flag_changed", "release_frozen", "note"] = "action"
    name: str = Field(min_length=1, max_length=200)
    """The action's name (e.g. rotate-credential), the flag's key, or the frozen service."""
    text: str = Field(default="", max_length=1000)
    by: str | None = Field(default=None, max_length=200)
    """Who did it (the game master records for a responder); unset: the caller."""


class DebriefIn(_In):
    notes: str = Field(default="", max_length=100_000)
    action_items: list[str] = Field(default_factory=list, max_length=200)
    version: int


class InjectOut(BaseModel):
    inject_id: str
    kind: str
    due_at: datetime | None
    status: str
    fired_at: datetime | None


class DrillOut(BaseModel):
    id: str
    scenario: str
    title: str
    kind: str
    status: str
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    abort_reason: str | None
    version: int
    injects: list[InjectOut] = []


class EntryOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str | None
    text: str
    data: dict[str, Any]


class OutcomeOut(BaseModel):
    id: str
    kind: str
    outcome: str
    points: float
    weight: float
    deadline: datetime | None
    met_at: datetime | None
    took_seconds: float | None
    evidence: list[int | None]
    credited: list[str]
    note: str


class ParticipantOut(BaseModel):
    user: str
    role: str | None
    points: float
    credited: list[str]
    incident_roles: list[str]
    acknowledged: int


class TeamScoreOut(BaseModel):
    team: str
    members: list[str]
    points: float
    percent: float
    credited: list[str]


class ScoreOut(BaseModel):
    team_percent: float
    teams: list[TeamScoreOut] = []
    """Per Mamori team of the people who took part: the points its members are credited with."""
    points: float
    possible: float
    time_to_acknowledge_seconds: float | None
    time_to_declare_seconds: float | None
    time_to_mitigate_seconds: float | None
    expectations: list[OutcomeOut]
    participants: list[ParticipantOut]


class ReportDrill(BaseModel):
    id: str
    scenario: str
    title: str
    kind: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    abort_reason: str | None


class ReportOut(BaseModel):
    drill: ReportDrill
    score: ScoreOut
    timeline: list[EntryOut]
    notes: str
    action_items: list[str]


class TrendOut(BaseModel):
    drill_id: str
    scenario: str
    title: str
    started_at: datetime
    status: str
    team_percent: float
    time_to_acknowledge_seconds: float | None
    time_to_declare_seconds: float | None
    time_to_mitigate_seconds: float | None


class TrendsOut(BaseModel):
    drills: list[TrendOut]
    never_practised: dict[str, list[str]]
    """Person -> incident roles they have never held in a drill."""


class ImportedOut(BaseModel):
    added: int


class ScenarioOut(BaseModel):
    name: str
    title: str
    kind: str
    services: list[str]
    participants: int
    injects: int
    expectations: int
    schedule_start: str | None
