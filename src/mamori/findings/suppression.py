"""Which suppression rule, if any, hides a finding now: pure matching of rules against a finding's fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Protocol


class Rule(Protocol):
    @property
    def expires(self) -> datetime: ...


@dataclass(frozen=True)
class Subject:
    """The fields of a finding that rules match on."""

    tools: tuple[str, ...]
    account: str
    resource: str
    control: str
    package: str
    tags: dict[str, str] = field(default_factory=dict)


def matches(match: object, s: Subject) -> bool:
    """Every list the rule gives must match (AND across kinds of field, OR within one list)."""
    tools: list[str] = getattr(match, "tools", [])
    accounts: list[str] = getattr(match, "accounts", [])
    resources: list[str] = getattr(match, "resources", [])
    controls: list[str] = getattr(match, "controls", [])
    packages: list[str] = getattr(match, "packages", [])
    tags: dict[str, str] = getattr(match, "tags", {})
    checks = [
        not tools or any(t in s.tools for t in tools),
        not accounts or s.account in accounts,
        not resources or any(fnmatchcase(s.resource, p) for p in resources),
        not controls or any(fnmatchcase(s.control, p) for p in controls),
        not packages or s.package in packages,
        all(s.tags.get(k) == v for k, v in tags.items()),
    ]
    return all(checks)


def rule_for(rules: Mapping[str, object], s: Subject, *, now: datetime) -> str | None:
    """The name of the first unexpired rule (by name) that matches, else None."""
    for name in sorted(rules):
        rule = rules[name]
        expires: datetime = getattr(rule, "expires")  # noqa: B009 - rules are specs of SuppressionRule
        if expires > now and matches(getattr(rule, "match"), s):  # noqa: B009
            return name
    return None
