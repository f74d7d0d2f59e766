"""Configuration kinds of the vulns domain: VulnerabilityPolicy (SLAs, sources, digest) and Vendor."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from mamori.core.errors import Problem, ValidationFailed
from mamori.core.manifest import MAMORI_API, Bundle, Document, KindDef, SpecModel, stored_specs
from mamori.core.urls import check_http_url
from mamori.integrations.notify import Recipients
from mamori.vulns.priority import DEFAULT_SLA_DAYS, PRIORITIES


class RepositoryMapping(SpecModel):
    """Components found under `path` (relative to the scanned root) belong to `service`."""

    path: str = Field(min_length=1)
    service: str = Field(min_length=1)


class Feed(SpecModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str
    type: Literal["rss", "atom", "statuspage"] = "rss"
    vendor: str | None = Field(default=None, description="a status page belongs to this vendor")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return check_http_url(value)


Digest = Recipients
"""Whom the digest goes to (the shared `integrations.notify.Recipients`)."""


class VulnerabilityPolicySpec(SpecModel):
    sla_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    credential_leak_hours: int = Field(
        default=4,
        ge=1,
        le=168,
        description="a vendor incident that leaks credentials or tokens is due within this many hours (P1)",
    )
    advisory_sources: list[str] = Field(default_factory=list, description="OSV zip/JSON URLs or local paths")
    epss_url: str | None = None
    kev_url: str | None = None
    repositories: list[RepositoryMapping] = Field(default_factory=list)
    feeds: list[Feed] = Field(default_factory=list)
    digest: Digest = Field(default_factory=Digest)

    @field_validator("sla_days")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priorities {unknown}; use {', '.join(PRIORITIES)}")
        bad = [k for k, v in value.items() if v < 1]
        if bad:
            raise ValueError(f"SLA days must be at least 1 (see {', '.join(bad)})")
        return {**DEFAULT_SLA_DAYS, **value}


class OAuthApp(SpecModel):
    name: str
    scopes: list[str] = Field(default_factory=list)


class VendorSpec(SpecModel):
    display_name: str = ""
    aliases: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    data_shared: list[str] = Field(default_factory=list)
    integrations: list[str] = Field(default_factory=list)
    oauth_apps: list[OAuthApp] = Field(default_factory=list)
    tokens: list[str] = Field(default_factory=list, description="API tokens of ours this vendor holds")
    owner: str | None = Field(default=None, description="the owning team")
    criticality: Literal["low", "medium", "high", "critical"] = "medium"
    status_page: str | None = Field(default=None, description="Statuspage incidents.json or an RSS/Atom feed URL")

    @field_validator("status_page")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)


def _check_policy(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: VulnerabilityPolicySpec = doc.model
    services = bundle.names("Service")
    problems = []
    for i, mapping in enumerate(spec.repositories):
        if services and mapping.service not in services:
            problems.append(
                doc.problem(f"spec.repositories[{i}].service", f"no Service {mapping.service!r} is declared")
            )
    vendors = bundle.names("Vendor")
    for i, feed in enumerate(spec.feeds):
        if feed.vendor and feed.vendor not in vendors:
            problems.append(doc.problem(f"spec.feeds[{i}].vendor", f"no Vendor {feed.vendor!r} is declared"))
    return problems


def _check_vendor(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: VendorSpec = doc.model
    teams = bundle.names("Team")
    if spec.owner and teams and spec.owner not in teams:
        return [doc.problem("spec.owner", f"no Team {spec.owner!r} is declared")]
    return []


def _prepare_policy(doc: Document) -> dict[str, Any]:
    """Local advisory paths are relative to the policy's file and stay inside the configuration directory,
    like every file a document points to; URLs are kept as written."""
    spec = dict(doc.spec)
    sources = spec.get("advisorySources")
    if isinstance(sources, list):
        resolved: list[Any] = []
        problems: list[Problem] = []
        for i, source in enumerate(sources):
            if not isinstance(source, str) or source.startswith(("http://", "https://")):
                resolved.append(source)
                continue
            try:
                resolved.append(str(doc.beside(source)))
            except ValueError as exc:
                problems.append(doc.problem(f"spec.advisorySources[{i}]", str(exc)))
        if problems:
            raise ValidationFailed("advisory sources must stay inside the configuration directory", problems=problems)
        spec["advisorySources"] = resolved
    return spec


POLICY_KIND = KindDef(
    MAMORI_API, "VulnerabilityPolicy", VulnerabilityPolicySpec, order=60, prepare=_prepare_policy, check=_check_policy
)
VENDOR_KIND = KindDef(MAMORI_API, "Vendor", VendorSpec, order=40, check=_check_vendor)
KINDS = [POLICY_KIND, VENDOR_KIND]


def policy(session: Session) -> VulnerabilityPolicySpec:
    """The applied policy ('default' if several), else the built-in defaults."""
    specs = stored_specs(session, kind="VulnerabilityPolicy")
    if not specs:
        return VulnerabilityPolicySpec()
    name = "default" if "default" in specs else sorted(specs)[0]
    return VulnerabilityPolicySpec.model_validate(specs[name])


def vendors(session: Session) -> dict[str, VendorSpec]:
    return {
        name: VendorSpec.model_validate(spec) for name, spec in sorted(stored_specs(session, kind="Vendor").items())
    }
