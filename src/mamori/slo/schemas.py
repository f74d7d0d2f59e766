"""The shapes of the slo domain's HTTP API (`api.py`): what each `/api/v1` route answers.

Numbers stored with an SLO's evaluation keep the type they were computed with (`int | float`): a client
sees `12`, not `12.0`, for counted events.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Number = int | float


class IngestSummary(BaseModel):
    """What one ingested batch added."""

    events: int
    counted: int
    """Events that belong to at least one SLI."""
    buckets: int
    """Distinct (series, slice, minute) buckets the batch touched."""


class OtlpExportResponse(BaseModel):
    """The (empty) `Export*ServiceResponse` OTLP exporters expect; the counts are in `X-Mamori-Counted`."""


class ErrorBudget(BaseModel):
    consumed: Number
    remaining: Number


class FiringRule(BaseModel):
    """A burn rule firing at the evaluation."""

    severity: str
    long_window: str
    short_window: str
    threshold: Number


class Component(BaseModel):
    """One member of a composite SLO."""

    objective: str
    weight: Number
    target: Number
    sli: Number | None


class SloResult(BaseModel):
    """The latest evaluation of one SLO objective (a composite SLO's combined objective adds `components`)."""

    model_config = ConfigDict(extra="allow")

    slo: str
    service: str
    target: Number
    window: str
    sli: Number | None
    good: Number
    total: Number
    error_budget: ErrorBudget
    burn_rates: dict[str, Number]
    alerts: list[FiringRule]
    objective: str
    components: list[Component] | None = None
    display_name: str
    user_story: str


class SloAlertOut(BaseModel):
    """A burn alert, firing or resolved."""

    id: int
    slo: str
    objective: int
    service: str
    severity: str
    long_window: str
    short_window: str
    threshold: float
    burn_rate: float
    status: str
    started_at: str
    """RFC 3339."""
    resolved_at: str | None


class FreezeReason(BaseModel):
    reason: str
    since: str
    freeze: int


class GateBypass(BaseModel):
    """A person's bypass of one freeze: who, why, until when, deploys counted (of at most `max_deploys`)."""

    freeze: int
    by: str
    reason: str
    until: str
    max_deploys: int | None
    deploys: int


class DeployGate(BaseModel):
    """Whether a service may deploy; while frozen, since when and why; while bypassed, by whom until when."""

    service: str
    allowed: bool
    since: str | None
    reasons: list[FreezeReason]
    bypasses: list[GateBypass] = []
    detail: str | None = None


class DeployFrozen(DeployGate):
    """The 423 answer (problem JSON, `application/problem+json`) while releases of the service are frozen."""

    type: str
    title: str
    status: int
    detail: str


class PolicyActionOut(BaseModel):
    """One action of an error-budget policy episode, and how it went."""

    id: int
    policy: str
    rule: str
    slo: str
    service: str
    episode: int
    episode_status: str
    type: str
    status: str
    outcome: dict[str, Any]
    error: str | None


class FreezeBypassOut(BaseModel):
    id: int
    by: str
    reason: str
    until: str
    max_deploys: int | None
    deploys: int


class FreezeOut(BaseModel):
    """A release freeze still holding: its cause (the policy episode's reason, the SLO) and its usable bypass."""

    id: int
    service: str
    reason: str
    since: str
    slo: str | None
    bypass: FreezeBypassOut | None
    lifted_by: str | None = None
    lift_reason: str | None = None


class FreezeLiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why the freeze may end now")


class FreezeBypassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why deploys may pass, e.g. 'hotfix for INC-12'")
    expires_in_minutes: int = Field(default=120, ge=1, le=72 * 60, description="how long the bypass lasts")
    max_deploys: int | None = Field(default=None, ge=1, description="deploys it lets through (none: any number)")
