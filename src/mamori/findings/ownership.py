"""Which service (and team, environment) a finding belongs to: account, tags, ARN patterns and repositories
mapped in configuration. Pure: the mapping and the finding's fields come in as arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class AccountRule:
    account: str
    environment: str | None = None
    service: str | None = None
    internet_facing: bool | None = None


@dataclass(frozen=True)
class ResourceRule:
    pattern: str
    """A glob on the resource id or ARN (`arn:aws:s3:::checkout-*`)."""
    service: str
    internet_facing: bool | None = None


@dataclass(frozen=True)
class Mapping:
    accounts: tuple[AccountRule, ...] = ()
    resources: tuple[ResourceRule, ...] = ()
    tag_keys: tuple[str, ...] = ("service", "Service", "mamori:service")
    repositories: dict[str, str] = field(default_factory=dict)
    """Repository (`owner/name`) -> service."""


@dataclass(frozen=True)
class Owner:
    service: str | None
    environment: str | None
    internet_facing: bool | None
    reason: str


def resolve(mapping: Mapping, *, account: str, resource: str, tags: dict[str, str], repository: str = "") -> Owner:
    """The owner of a finding. Order: a resource pattern, then a service tag, then the repository, then the
    account's default service; the environment and exposure come from the account unless the rule says."""
    acct = next((a for a in mapping.accounts if a.account == account), None)
    env = acct.environment if acct else None
    exposed = acct.internet_facing if acct else None
    for rule in mapping.resources:
        if resource and fnmatchcase(resource, rule.pattern):
            facing = rule.internet_facing if rule.internet_facing is not None else exposed
            return Owner(rule.service, env, facing, f"resource matches {rule.pattern}")
    for key in mapping.tag_keys:
        if tags.get(key):
            return Owner(tags[key], env, exposed, f"tag {key}={tags[key]}")
    if repository and repository in mapping.repositories:
        return Owner(mapping.repositories[repository], env, exposed, f"repository {repository}")
    if acct is not None and acct.service:
        return Owner(acct.service, env, exposed, f"account {account}")
    return Owner(None, env, exposed, "no mapping")
