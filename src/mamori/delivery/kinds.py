"""The DeliveryPolicy kind: which repository is which service, which environments are production, and the
rules that mark a deploy failed or unplanned (each DORA rule is config)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from mamori.core.errors import Problem
from mamori.core.manifest import MAMORI_API, Bundle, Document, KindDef, SpecModel, stored_specs
from mamori.core.urls import check_http_url
from mamori.delivery.dora import Rules
from mamori.delivery.effect import check_measure
from mamori.delivery.sinks.datadog import SERIES_PATH, SITES

KIND = "DeliveryPolicy"


class RepositoryMapping(SpecModel):
    repo: str = Field(min_length=3, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    service: str = Field(min_length=1)
    backfill: bool = Field(default=False, description="read its PRs, runs and deploys from the REST API too")


class DoraRules(SpecModel):
    incidents_fail_deploys: bool = True
    rollbacks_fail_deploys: bool = True
    hotfixes_fail_deploys: bool = True
    attribution_window_hours: int | None = Field(
        default=None, ge=1, description="an incident later than this after the last deploy is not attributed to it"
    )
    deploys_during_incidents_are_unplanned: bool = True
    redeploy_is_rollback: bool = Field(
        default=True, description="a deploy of a commit that already ran in the environment is a rollback"
    )
    hotfix_labels: list[str] = Field(default_factory=lambda: ["hotfix"])
    revert_title_prefixes: list[str] = Field(default_factory=lambda: ["Revert "])
    include_drills: bool = Field(default=False, description="count game-day incidents too")

    def rules(self) -> Rules:
        window = None if self.attribution_window_hours is None else timedelta(hours=self.attribution_window_hours)
        return Rules(
            incidents_fail_deploys=self.incidents_fail_deploys,
            rollbacks_fail_deploys=self.rollbacks_fail_deploys,
            hotfixes_fail_deploys=self.hotfixes_fail_deploys,
            attribution_window=window,
            deploys_during_incidents_are_unplanned=self.deploys_during_incidents_are_unplanned,
        )


class DatadogSink(SpecModel):
    site: str = Field(default="datadoghq.com", description="the Datadog site (datadoghq.com, datadoghq.eu, ...)")
    api_key_env: str = Field(
        default="DD_API_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$", description="env var with the API key"
    )
    url: str | None = Field(default=None, description="send to this base URL instead of the site's (a proxy)")
    tags: list[str] = Field(default_factory=list, description="added to every series, e.g. env:prod")

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        if value not in SITES:
            raise ValueError(f"unknown Datadog site; use one of {', '.join(sorted(SITES))}")
        return value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @property
    def endpoint(self) -> str:
        return (self.url or SITES[self.site]).rstrip("/") + SERIES_PATH


class OtlpSink(SpecModel):
    endpoint: str = Field(description="the collector's OTLP/HTTP base URL, e.g. http://otel-collector:4318")
    headers: dict[str, str] = Field(
        default_factory=dict, description="sent with every request (no secrets: see headersEnv)"
    )
    headers_env: dict[str, str] = Field(default_factory=dict, description="header name -> env var holding its value")

    @field_validator("endpoint")
    @classmethod
    def _http(cls, value: str) -> str:
        return check_http_url(value)


class Inquiries(SpecModel):
    slack_channels: list[str] = Field(
        default_factory=list, description="Slack channel ids whose messages are questions"
    )
    team_slack_ids: list[str] = Field(default_factory=list, description="Slack user ids of the dev team")
    jira_jql: str | None = Field(
        default=None, description="e.g. project = OPS AND issuetype = Question AND labels = dev"
    )
    team_jira: list[str] = Field(default_factory=list, description="Jira account ids or emails of the dev team")


class RegressionTickets(SpecModel):
    tracker: Literal["jira", "github"] = Field(description="where the ticket goes")
    project: str = Field(min_length=1, description="a Jira project key, or owner/repo for GitHub Issues")


class Regressions(SpecModel):
    notify: bool = Field(default=True, description="tell the service's owning team (its Slack channel and email)")
    ticket: RegressionTickets | None = Field(default=None, description="also file one ticket per regression")


class Toil(SpecModel):
    tags: list[str] = Field(
        default_factory=lambda: ["toil"],
        description="what marks toil: a Jira label or Slack #hashtag of an inquiry, an alert label of a page "
        "(`name` or `name=value`)",
    )

    @field_validator("tags")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower().lstrip("#") for v in value]


class DeliveryPolicySpec(SpecModel):
    repositories: list[RepositoryMapping] = Field(default_factory=list)
    production_environments: list[str] = Field(default_factory=lambda: ["production", "prod"])
    dora: DoraRules = Field(default_factory=DoraRules)
    window_days: int = Field(default=30, ge=1, le=366, description="the period the service page measures")
    pull_requests_by_author: bool = Field(default=False, description="opt in to PR figures per author")
    pull_requests_by_author_team: bool = Field(
        default=False, description="opt in to PR figures per the authors' teams (Team members, by User handle)"
    )
    author_logins: dict[str, str] = Field(
        default_factory=dict, description="GitHub login -> User handle or email, where the two differ"
    )
    improvement_label: str = Field(default="improvement", description="a merged PR with this label is measured")
    improvement_measure: str = Field(default="build", description="what a labelled PR's effect is measured on")
    datadog: DatadogSink | None = Field(default=None, description="send every figure to Datadog each minute")
    otlp: OtlpSink | None = Field(default=None, description="send every figure to an OTLP/HTTP collector each minute")
    inquiries: Inquiries = Field(default_factory=Inquiries)
    regressions: Regressions = Field(default_factory=Regressions)
    toil: Toil = Field(default_factory=Toil)

    @field_validator("improvement_measure")
    @classmethod
    def _measure(cls, value: str) -> str:
        return check_measure(value)

    @field_validator("production_environments")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]

    def service_of(self, repo: str | None) -> str:
        """The service a repository's events belong to (its name without the owner when unmapped)."""
        if repo is None:
            return "unknown"
        for mapping in self.repositories:
            if mapping.repo.lower() == repo.lower():
                return mapping.service
        return repo.rsplit("/", 1)[-1]

    def is_production(self, environment: str) -> bool:
        return environment.lower() in self.production_environments


def _check(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: DeliveryPolicySpec = doc.model
    services = bundle.names("Service")
    return [
        doc.problem(f"spec.repositories[{i}].service", f"no Service {m.service!r} is declared")
        for i, m in enumerate(spec.repositories)
        if services and m.service not in services
    ]


POLICY_KIND = KindDef(MAMORI_API, KIND, DeliveryPolicySpec, order=60, check=_check)
KINDS = [POLICY_KIND]


def policy(session: Session) -> DeliveryPolicySpec:
    """The applied policy ('default' if several), else the built-in defaults."""
    specs = stored_specs(session, kind=KIND)
    if not specs:
        return DeliveryPolicySpec()
    name = "default" if "default" in specs else sorted(specs)[0]
    return DeliveryPolicySpec.model_validate(specs[name])
