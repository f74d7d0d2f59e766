"""Typed shapes of the flags domain: the FlagSet spec and the In/Out models shared by api.py and cli.py."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from mamori.core.duration import PositiveDuration
from mamori.core.manifest import SpecModel

ENVIRONMENT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class OfrepRateLimit(SpecModel):
    """At most `requests` OFREP evaluation requests per SDK key in any `per` (e.g. 100 per 1s); more get 429."""

    requests: int = Field(ge=1, le=1_000_000)
    per: PositiveDuration


class FlagSetSpec(SpecModel):
    """`kind: FlagSet`: one environment's flags in flagd format, inline (`flagd`) or from a file beside the document."""

    environment: str = Field(pattern=ENVIRONMENT_PATTERN)
    file: str | None = None
    flagd: dict[str, Any]
    fractional: Literal["cbor", "legacy"] = "cbor"
    """Bucketing of `fractional`: "cbor" (flagd's current ADR, default) or "legacy" (today's flagd daemons)."""
    service: str | None = None
    """The service whose SLO burns and release freezes guard this flag set's ramps."""
    require_approval: bool = False
    """Changes through the API need a second person's approval (meant for production)."""
    require_reason: bool | None = None
    """Changes need a reason; defaults to true for an environment named production."""
    ofrep_rate_limit: OfrepRateLimit | None = None
    """Per-SDK-key limit on OFREP evaluation requests (off when absent)."""

    @property
    def reason_required(self) -> bool:
        return self.environment == "production" if self.require_reason is None else self.require_reason


class FlagIn(BaseModel):
    """A whole flag in flagd form, as the API and CLI accept it."""

    state: Literal["ENABLED", "DISABLED"] = "ENABLED"
    variants: dict[str, Any]
    default_variant: str | None = Field(default=None, alias="defaultVariant")
    targeting: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    model_config = {"populate_by_name": True, "extra": "forbid"}

    def flagd(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "variants": self.variants, "defaultVariant": self.default_variant}
        if self.targeting:
            out["targeting"] = self.targeting
        if self.metadata:
            out["metadata"] = self.metadata
        return out


class FlagOut(BaseModel):
    """A whole flag in flagd form, as stored (GET .../flags/{key}; its ETag is in the header)."""

    state: str
    variants: dict[str, Any]
    default_variant: str | None = Field(default=None, alias="defaultVariant")
    targeting: Any = None
    metadata: dict[str, Any] | None = None

    model_config = {"populate_by_name": True, "extra": "allow"}


class ChangeOut(BaseModel):
    id: str
    environment: str
    flag_key: str
    action: str
    status: str
    actor: str
    reason: str | None
    diff: list[str]
    created_at: str
    decided_by: str | None = None


class EnvironmentOut(BaseModel):
    environment: str
    flag_set: str
    version: int
    etag: str
    fractional: str
    service: str | None
    require_approval: bool
    flags: int
    """How many flags the environment's flag set holds."""


class FlagSummary(BaseModel):
    key: str
    state: str | None
    default_variant: str | None
    variants: dict[str, Any] | None
    targeting: Any
    rollout_percent: int | None
    """The share of a percentage rollout, None for other targeting."""


class StaleFlagOut(BaseModel):
    key: str
    environments: list[str]
    reasons: list[str]
    last_evaluated: str | None


class RampOut(BaseModel):
    id: str
    environment: str
    flag_key: str
    steps: list[int]
    step_index: int
    percent: int
    status: str
    service: str | None
    guard: str
    note: str | None
    interval_seconds: int


class ScheduledOut(BaseModel):
    job: int
    """The id of the durable job that makes the change."""


class CountsStoredOut(BaseModel):
    stored: int
