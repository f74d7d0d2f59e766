"""Configuration kind of the sast domain: SastPolicy (SLAs by severity, what blocks a pull request)."""

from __future__ import annotations

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from mamori.core.manifest import MAMORI_API, KindDef, SpecModel, stored_specs
from mamori.sast.severity import SEVERITIES, check


class GateRule(SpecModel):
    """Which new findings block: the first rule that fits a finding's service tier and CWE decides. Like an
    error budget, a rule may let `budget` new findings at or above its threshold through per pull request;
    the next one blocks (and so do the ones before it, so the budget is a number, not a choice of findings)."""

    tiers: list[int] = Field(default_factory=list, description="service tiers (1-4) it applies to; empty: all")
    cwes: list[str] = Field(default_factory=list, description='CWEs it applies to ("CWE-89"); empty: all')
    fail_on: str = Field(default="high", description="the lowest severity that blocks")
    block: bool = True
    budget: int = Field(
        default=0, ge=0, description="how many new findings this rule lets through per pull request before blocking"
    )

    @field_validator("fail_on")
    @classmethod
    def _severity(cls, value: str) -> str:
        return check(value)


class SastPolicySpec(SpecModel):
    sla_days: dict[str, int] = Field(
        default_factory=lambda: {"critical": 7, "high": 30, "medium": 90, "low": 180},
        description="days to fix an open finding, by severity",
    )
    gate: list[GateRule] = Field(default_factory=list)
    fail_on: str = Field(default="high", description="the gate's threshold when no rule fits")

    @field_validator("sla_days")
    @classmethod
    def _days(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"unknown severities {unknown}; use {', '.join(SEVERITIES)}")
        if any(days < 1 for days in value.values()):
            raise ValueError("SLA days must be at least 1")
        return value

    @field_validator("fail_on")
    @classmethod
    def _severity(cls, value: str) -> str:
        return check(value)


POLICY_KIND = KindDef(MAMORI_API, "SastPolicy", SastPolicySpec, order=60)
KINDS = [POLICY_KIND]


def policy(session: Session) -> SastPolicySpec:
    """The applied policy ('default' if several), else the built-in defaults."""
    specs = stored_specs(session, kind="SastPolicy")
    if not specs:
        return SastPolicySpec()
    name = "default" if "default" in specs else sorted(specs)[0]
    return SastPolicySpec.model_validate(specs[name])
