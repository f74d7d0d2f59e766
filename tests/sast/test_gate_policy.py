"""The gate's policy: the first rule that fits a finding's service tier and CWE decides what blocks."""

from __future__ import annotations

from mamori.sast.gate import GateItem, decide
from mamori.sast.kinds import GateRule, SastPolicySpec


def _item(fid: str, severity: str, cwe: str | None = None, *, triaged: bool = False) -> GateItem:
    return GateItem(
        finding_id=fid, rule="bandit/B1", title="t", path="a.py", line=1, severity=severity, cwe=cwe,
        state="false_positive" if triaged else "new", tools=("bandit",), triaged_away=triaged, status="new",
    )  # fmt: skip


POLICY = SastPolicySpec(
    fail_on="high",
    gate=[
        GateRule(tiers=[1], cwes=["CWE-89"], fail_on="low"),  # tier-1 services block on any SQL injection
        GateRule(cwes=["CWE-1333"], block=False),  # regex denial of service never blocks
        GateRule(tiers=[1], fail_on="medium"),
    ],
)


def _blocking(items: list[GateItem], tier: int | None, fail_on: str | None = None) -> list[str]:
    verdict = decide(repo="r", base="b", head="h", items=items, policy=POLICY, tier=tier, fail_on=fail_on)
    assert verdict.passed == (not verdict.blocking)
    return [i.finding_id for i in verdict.blocking]


def test_rules_by_tier_and_cwe_decide_what_blocks() -> None:
    items = [
        _item("sqli-low", "low", "CWE-89"),
        _item("redos-high", "high", "CWE-1333"),
        _item("xss-medium", "medium", "CWE-79"),
        _item("cmdi-high", "high", "CWE-78"),
        _item("fp-critical", "critical", "CWE-78", triaged=True),
    ]
    assert _blocking(items, tier=1) == ["sqli-low", "xss-medium", "cmdi-high"]
    assert _blocking(items, tier=3) == ["cmdi-high"]  # no tier rule fits: the policy's default (high)
    assert _blocking(items, tier=None) == ["cmdi-high"]
    assert _blocking(items, tier=1, fail_on="critical") == []  # the command line's threshold overrides


def test_a_rule_with_a_budget_lets_that_many_new_findings_through() -> None:
    policy = SastPolicySpec(gate=[GateRule(cwes=["CWE-79"], fail_on="medium", budget=2)], fail_on="high")
    xss = [_item(f"xss-{n}", "medium", "CWE-79") for n in range(3)]

    def blocking(items: list[GateItem]) -> list[str]:
        verdict = decide(repo="r", base="b", head="h", items=items, policy=policy, tier=None)
        return [i.finding_id for i in verdict.blocking]

    assert blocking(xss[:2]) == []  # within the budget
    assert blocking(xss) == ["xss-0", "xss-1", "xss-2"]  # past it: the budget is spent, all block
    assert blocking([*xss[:2], _item("cmdi", "high", "CWE-78")]) == ["cmdi"]  # other rules keep their own
