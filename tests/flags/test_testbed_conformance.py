"""The flagd-testbed evaluator suite (gherkin features + testkit flags), run against FlagEvaluator for each scheme."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import OpenFeatureError
from openfeature.flag_evaluation import FlagResolutionDetails, Reason

from mamori.flags import FlagEvaluator
from tests.flags.gherkin import Case, parse
from tests.support import PEERS, peers

EVALUATOR_DIR = PEERS / "flags" / "flagd-testbed" / "evaluator"
# What each Mamori scheme does NOT claim: @fractional-v1 is flagd's float bucketing (never Mamori's);
# @fractional-v2 vectors are the UTF-8 `(hash * total) >> 32` scheme, which is Mamori's "legacy".
EXCLUDED = {"cbor": {"fractional-v1", "fractional-v2"}, "legacy": {"fractional-v1"}}


def _cases() -> list[Any]:
    if not EVALUATOR_DIR.exists():
        return [pytest.param(None, None, id="testbed-missing")]
    params = []
    for feature in sorted((EVALUATOR_DIR / "gherkin").glob("*.feature")):
        for case in parse(feature):
            for scheme, excluded in EXCLUDED.items():
                if not case.tags & excluded:
                    params.append(pytest.param(scheme, case, id=f"{scheme}-{case.id}"))
    return params


def _typed(kind: str, raw: str) -> Any:
    if kind == "Boolean":
        return raw == "true"
    if kind == "Integer":
        return int(raw)
    if kind == "Float":
        return float(raw)
    if kind == "Object":
        return json.loads(raw)
    return raw


class Runner:
    def __init__(self, scheme: str, flags: dict[str, Any]) -> None:
        self.evaluator = FlagEvaluator(fractional=scheme)  # type: ignore[arg-type]
        self.evaluator.set_flags(flags)
        self.kind, self.key, self.default = "String", "", Any
        self.attributes: dict[str, Any] = {}
        self.targeting_key: str | None = None
        self.details: FlagResolutionDetails[Any] | None = None

    def run(self, text: str, table: list[dict[str, str]]) -> None:
        if text == "an evaluator":
            return
        if m := re.fullmatch(r'a (\w+)-flag with key "(.*)" and a fallback value "(.*)"', text):
            self.kind, self.key, self.default = m[1], m[2], _typed(m[1], m[3])
            return
        if m := re.fullmatch(r'a context containing a key "(.*)", with type "(\w+)" and with value "(.*)"', text):
            self.attributes[m[1]] = _typed(m[2], m[3])
            return
        if m := re.fullmatch(
            r'a context containing a nested property with outer key "(.*)" and inner key "(.*)", '
            r'with value "(.*)"',
            text,
        ):
            self.attributes.setdefault(m[1], {})[m[2]] = m[3]
            return
        if m := re.fullmatch(r'a context containing a targeting key with value "(.*)"', text):
            self.targeting_key = m[1]
            return
        if text == "the flag was evaluated with details":
            self.details = self._evaluate()
            return
        self.check(text, table)

    def _evaluate(self) -> FlagResolutionDetails[Any]:
        ctx = EvaluationContext(targeting_key=self.targeting_key, attributes=self.attributes)
        method = getattr(self.evaluator, f"resolve_{self.kind.lower()}_value")
        try:
            result: FlagResolutionDetails[Any] = method(self.key, self.default, ctx)
        except OpenFeatureError as exc:
            return FlagResolutionDetails(self.default, reason=Reason.ERROR, error_code=exc.error_code)
        return result

    def check(self, text: str, table: list[dict[str, str]]) -> None:
        details = self.details
        assert details is not None
        if m := re.fullmatch(r'the resolved details value should be "(.*)"', text):
            assert details.value == _typed(self.kind, m[1]), details
        elif m := re.fullmatch(r'the reason should be "(.*)"', text):
            assert details.reason == m[1], details
        elif m := re.fullmatch(r'the error-code should be "(.*)"', text):
            assert details.error_code == m[1], details
        elif text == "the resolved metadata should contain":
            for row in table:
                assert details.flag_metadata[row["key"]] == _typed(row["metadata_type"], row["value"])
        elif text == "the resolved metadata is empty":
            assert not details.flag_metadata
        else:
            raise AssertionError(f"no step definition for {text!r}")


@pytest.fixture(scope="module")
def testkit_flags() -> dict[str, Any]:
    path: Path = peers("flags", "flagd-testbed", "evaluator", "flags", "testkit-flags.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(("scheme", "case"), _cases())
def test_flagd_testbed_evaluator_scenario_passes(scheme: str, case: Case, testkit_flags: dict[str, Any]) -> None:
    runner = Runner(scheme, testkit_flags)
    for step in case.steps:
        runner.run(step.text, step.table)
    assert runner.details is not None, "the scenario never evaluated a flag"


def test_testbed_suite_is_large_enough_to_mean_something() -> None:
    peers("flags", "flagd-testbed", "evaluator")
    cases = _cases()
    assert len([c for c in cases if c.values[0] == "legacy"]) > 120
    assert len([c for c in cases if c.values[0] == "cbor"]) > 100
