"""Configuration kinds of the findings domain: FindingsPolicy (SLAs, ownership mapping) and SuppressionRule.

A suppression rule is code with an owner, a reason and an expiry: it hides what it matches (by tool,
account, resource pattern, control, tag) until it expires, and an expired rule reopens what it hid.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, field_validator, model_validator
from sqlalchemy.orm import Session

from mamori.core.catalog import check_email
from mamori.core.errors import Problem
from mamori.core.manifest import MAMORI_API, Bundle, Document, KindDef, SpecModel, stored_specs
from mamori.findings import ownership
from mamori.findings.detections import CloudTrailDetectionSpec
from mamori.findings.risk import DEFAULT_SLA_DAYS, PRIORITIES, BusinessHours
from mamori.integrations.notify import Recipients


class AccountMapping(SpecModel):
    account: str = Field(min_length=1)
    environment: Literal["production", "staging", "development", "sandbox"] | None = None
    service: str | None = None
    internet_facing: bool | None = None


class ResourceMapping(SpecModel):
    pattern: str = Field(min_length=1, description="a glob on the resource id or ARN")
    service: str = Field(min_length=1)
    internet_facing: bool | None = None


class RepositoryMapping(SpecModel):
    repository: str = Field(min_length=3, pattern=r"^[^/\s]+/[^/\s]+$")
    service: str = Field(min_length=1)


class ServiceData(SpecModel):
    service: str = Field(min_length=1)
    data_class: Literal["public", "internal", "confidential", "restricted"]


class BusinessHoursSpec(SpecModel):
    start: int = Field(default=9, ge=0, le=23)
    end: int = Field(default=17, ge=1, le=24)
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])

    @model_validator(mode="after")
    def _order(self) -> BusinessHoursSpec:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.weekdays or any(d < 0 or d > 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) .. 6 (Sunday), at least one")
        return self


class TicketRule(SpecModel):
    """File one ticket per finding that reaches one of `priorities` (optionally only of these kinds/tools)."""

    type: Literal["jira", "github"]
    priorities: list[Literal["P1", "P2", "P3", "P4"]] = Field(default_factory=lambda: ["P1"])  # type: ignore[arg-type]
    kinds: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    project: str | None = Field(default=None, description="the Jira project key")
    issue_type: str = "Task"
    repository: str | None = Field(default=None, description="owner/name for GitHub issues")
    labels: list[str] = Field(default_factory=lambda: ["security"])

    @model_validator(mode="after")
    def _target(self) -> TicketRule:
        if self.type == "jira" and not self.project:
            raise ValueError("a jira ticket rule needs a project")
        if self.type == "github" and not self.repository:
            raise ValueError("a github ticket rule needs a repository (owner/name)")
        return self


class PullSource(SpecModel):
    """A source the hourly pull job reads: Security Hub GetFindings in one region, a repository's Dependabot
    alerts, or a Snyk organisation's issues."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    type: Literal["securityhub", "github-dependabot", "snyk-issues"]
    region: str | None = None
    repository: str | None = Field(default=None, pattern=r"^[^/\s]+/[^/\s]+$")
    organization: str | None = Field(default=None, description="the Snyk organisation id")
    updated_within_days: int = Field(default=7, ge=1, le=90, description="Security Hub: only findings updated since")

    @model_validator(mode="after")
    def _where(self) -> PullSource:
        needed = {"securityhub": "region", "github-dependabot": "repository", "snyk-issues": "organization"}[self.type]
        if not getattr(self, needed):
            raise ValueError(f"a {self.type} source needs {needed}")
        return self


DigestTargets = Recipients
"""Whom the digest goes to (the shared `integrations.notify.Recipients`)."""


class FindingsPolicySpec(SpecModel):
    sla_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    business_hours: BusinessHoursSpec | None = Field(
        default=None, description="count SLAs in working days of these hours instead of calendar days"
    )
    accounts: list[AccountMapping] = Field(default_factory=list)
    resources: list[ResourceMapping] = Field(default_factory=list)
    tag_keys: list[str] = Field(default_factory=lambda: ["service", "Service", "mamori:service"])
    repositories: list[RepositoryMapping] = Field(default_factory=list)
    data_classes: list[ServiceData] = Field(default_factory=list)
    tickets: list[TicketRule] = Field(default_factory=list, description="the first matching rule files the ticket")
    pull: list[PullSource] = Field(default_factory=list)
    digest: DigestTargets = Field(default_factory=DigestTargets)

    @field_validator("sla_days")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priorities {unknown}; use {', '.join(PRIORITIES)}")
        if any(v < 1 for v in value.values()):
            raise ValueError("SLA days must be at least 1")
        return {**DEFAULT_SLA_DAYS, **value}

    def mapping(self) -> ownership.Mapping:
        return ownership.Mapping(
            accounts=tuple(
                ownership.AccountRule(a.account, a.environment, a.service, a.internet_facing) for a in self.accounts
            ),
            resources=tuple(ownership.ResourceRule(r.pattern, r.service, r.internet_facing) for r in self.resources),
            tag_keys=tuple(self.tag_keys),
            repositories={r.repository: r.service for r in self.repositories},
        )

    def business(self) -> BusinessHours | None:
        b = self.business_hours
        return None if b is None else BusinessHours(b.start, b.end, tuple(b.weekdays))


class SuppressionMatch(SpecModel):
    tools: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list, description="globs on the resource id or ARN")
    controls: list[str] = Field(default_factory=list, description="globs on the control or finding type")
    tags: dict[str, str] = Field(default_factory=dict, description="every tag must have this value")
    packages: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> SuppressionMatch:
        if not any((self.tools, self.accounts, self.resources, self.controls, self.tags, self.packages)):
            raise ValueError("a rule must match on at least one of tools, accounts, resources, controls, tags")
        return self


class SuppressionRuleSpec(SpecModel):
    owner: str = Field(min_length=1, description="who answers for the rule (an email)")
    reason: str = Field(min_length=10)
    expires: datetime = Field(description="when the rule stops hiding findings (ISO 8601 with a zone)")
    match: SuppressionMatch

    @field_validator("owner")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("expires")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the expiry with a time zone, e.g. 2027-01-31T00:00:00Z")
        return value


def _check_policy(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: FindingsPolicySpec = doc.model
    services = bundle.names("Service")
    problems = []
    named = [("resources", r.service) for r in spec.resources] + [
        ("repositories", r.service) for r in spec.repositories
    ]
    counters: dict[str, int] = {}
    for field_name, service in named:
        i = counters[field_name] = counters.get(field_name, -1) + 1
        if services and service not in services:
            problems.append(doc.problem(f"spec.{field_name}[{i}].service", f"no Service {service!r} is declared"))
    return problems


POLICY_KIND = KindDef(MAMORI_API, "FindingsPolicy", FindingsPolicySpec, order=60, check=_check_policy)
SUPPRESSION_KIND = KindDef(MAMORI_API, "SuppressionRule", SuppressionRuleSpec, order=61)
DETECTION_KIND = KindDef(MAMORI_API, "CloudTrailDetection", CloudTrailDetectionSpec, order=62)
KINDS = [POLICY_KIND, SUPPRESSION_KIND, DETECTION_KIND]
DEFAULT_DETECTIONS = Path(__file__).resolve().parent / "rules" / "cloudtrail.yaml"


def policy(session: Session) -> FindingsPolicySpec:
    """The applied policy ('default' if several), else the built-in defaults."""
    specs = stored_specs(session, kind="FindingsPolicy")
    if not specs:
        return FindingsPolicySpec()
    name = "default" if "default" in specs else sorted(specs)[0]
    return FindingsPolicySpec.model_validate(specs[name])


def suppression_rules(session: Session) -> dict[str, SuppressionRuleSpec]:
    return {
        name: SuppressionRuleSpec.model_validate(spec)
        for name, spec in sorted(stored_specs(session, kind="SuppressionRule").items())
    }


@cache
def default_detections() -> dict[str, CloudTrailDetectionSpec]:
    """The CloudTrail detections shipped with Mamori (`rules/cloudtrail.yaml`)."""
    docs = [d for d in yaml.safe_load_all(DEFAULT_DETECTIONS.read_text()) if d]
    return {d["metadata"]["name"]: CloudTrailDetectionSpec.model_validate(d["spec"]) for d in docs}


def detections(session: Session) -> dict[str, CloudTrailDetectionSpec]:
    """The applied CloudTrailDetection documents; the shipped defaults when none is applied."""
    specs = stored_specs(session, kind="CloudTrailDetection")
    if not specs:
        return default_detections()
    return {name: CloudTrailDetectionSpec.model_validate(spec) for name, spec in sorted(specs.items())}
