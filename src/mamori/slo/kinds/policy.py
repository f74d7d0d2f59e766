"""Kind ErrorBudgetPolicy (mamori.dev/v1): rules over an SLO's budget and burn, each with actions. No I/O.

```yaml
apiVersion: mamori.dev/v1
kind: ErrorBudgetPolicy
metadata: {name: jobs-api-budget}
spec:
  service: jobs-api          # every SLO of this service, and/or
  slos: [apply-for-job]      # these SLOs by name
  rules:
    - name: low-budget
      when: {budgetRemainingBelow: 25}        # percent; or budgetExhausted: true; or pageBurningFor: 10m
      actions:
        - {type: jira, project: OPS, issueType: Task}
        - {type: github, repository: acme/jobs, labels: [slo]}
        - {type: notify, url: https://hooks.example/slo}
        - {type: freeze}
        - {type: annotate}
```
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from mamori.core.duration import Duration
from mamori.core.manifest import SpecModel

ActionType = Literal["jira", "github", "notify", "freeze", "annotate"]


class When(SpecModel):
    budget_remaining_below: float | None = Field(default=None, gt=0, le=100)
    budget_exhausted: bool | None = None
    page_burning_for: Duration | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> When:
        given = [v for v in (self.budget_remaining_below, self.budget_exhausted, self.page_burning_for) if v]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of budgetRemainingBelow (percent), budgetExhausted: true, pageBurningFor (a duration)"
            )
        return self

    def describe(self) -> str:
        if self.budget_remaining_below is not None:
            return f"error budget remaining below {self.budget_remaining_below:g}%"
        if self.budget_exhausted:
            return "error budget exhausted"
        return f"page-level burn firing for {self.page_burning_for}"


class Action(SpecModel):
    type: ActionType
    project: str | None = None
    issue_type: str = "Task"
    repository: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    labels: list[str] = Field(default_factory=list)
    url: str | None = Field(default=None, pattern=r"^https?://")
    reason: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> Action:
        if self.type == "jira" and not self.project:
            raise ValueError("a jira action needs project (the Jira project key)")
        if self.type == "github" and not self.repository:
            raise ValueError("a github action needs repository (owner/name)")
        if self.type == "notify" and not self.url:
            raise ValueError("a notify action needs url (a webhook)")
        return self


class Rule(SpecModel):
    name: str = Field(min_length=1, max_length=200)
    when: When
    actions: list[Action] = Field(min_length=1)


class ErrorBudgetPolicySpec(SpecModel):
    service: str | None = None
    slos: list[str] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _scope(self) -> ErrorBudgetPolicySpec:
        if not self.service and not self.slos:
            raise ValueError("give service and/or slos: which SLOs the policy watches")
        names = [r.name for r in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("rule names must be unique within a policy")
        return self

    def covers(self, *, slo: str, service: str) -> bool:
        return slo in self.slos or (self.service is not None and self.service == service)


def rule_holds(when: When, *, remaining: float, total: int, page_since: datetime | None, now: datetime) -> bool:
    """Whether a rule's condition holds now. Budget rules need traffic: no events consume nothing."""
    if when.budget_remaining_below is not None:
        return total > 0 and remaining * 100 < when.budget_remaining_below
    if when.budget_exhausted:
        return total > 0 and remaining <= 0
    duration = when.page_burning_for or timedelta(0)
    return page_since is not None and now - page_since >= duration
