"""When error-budget policy rules hold: remaining below a share, exhausted, page burn lasting long enough."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from mamori.slo.kinds.policy import ErrorBudgetPolicySpec, When, rule_holds

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_remaining_below_is_a_percentage_and_needs_traffic() -> None:
    when = When.model_validate({"budgetRemainingBelow": 25})
    assert rule_holds(when, remaining=0.2499, total=10, page_since=None, now=NOW)
    assert not rule_holds(when, remaining=0.25, total=10, page_since=None, now=NOW)
    assert not rule_holds(when, remaining=1.0, total=0, page_since=None, now=NOW)


def test_exhausted_includes_overspent_budgets() -> None:
    when = When.model_validate({"budgetExhausted": True})
    assert rule_holds(when, remaining=0.0, total=5, page_since=None, now=NOW)
    assert rule_holds(when, remaining=-3.0, total=5, page_since=None, now=NOW)
    assert not rule_holds(when, remaining=0.01, total=5, page_since=None, now=NOW)


def test_page_burning_for_counts_from_when_the_page_started() -> None:
    when = When.model_validate({"pageBurningFor": "10m"})
    assert not rule_holds(when, remaining=1, total=1, page_since=None, now=NOW)
    assert not rule_holds(when, remaining=1, total=1, page_since=NOW - timedelta(minutes=9), now=NOW)
    assert rule_holds(when, remaining=1, total=1, page_since=NOW - timedelta(minutes=10), now=NOW)


def test_a_policy_needs_a_scope_and_unique_rule_names() -> None:
    rule = {"name": "r", "when": {"budgetExhausted": True}, "actions": [{"type": "freeze"}]}
    with pytest.raises(ValidationError, match="give service and/or slos"):
        ErrorBudgetPolicySpec.model_validate({"rules": [rule]})
    with pytest.raises(ValidationError, match="unique"):
        ErrorBudgetPolicySpec.model_validate({"service": "s", "rules": [rule, rule]})
    spec = ErrorBudgetPolicySpec.model_validate({"slos": ["a"], "service": "s", "rules": [rule]})
    assert spec.covers(slo="a", service="x") and spec.covers(slo="b", service="s")
    assert not spec.covers(slo="b", service="x")
