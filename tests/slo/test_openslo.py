"""OpenSLO v1 documents are accepted beside Mamori's kinds; bad ones are refused naming file, object and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.errors import ValidationFailed
from mamori.core.runtime import Runtime
from mamori.slo import definitions
from mamori.slo.models import SloDocument
from mamori.slo.openslo import (
    AlertConditionSpec,
    AlertNotificationTargetSpec,
    AlertPolicySpec,
    DataSourceSpec,
    ServiceSpec,
    SLISpec,
    SLOSpec,
    plain,
)
from tests.slo.helpers import CHECKOUT_SLO, registry, write
from tests.support import peers

MODELS = {
    "SLO": SLOSpec,
    "SLI": SLISpec,
    "Service": ServiceSpec,
    "DataSource": DataSourceSpec,
    "AlertPolicy": AlertPolicySpec,
    "AlertCondition": AlertConditionSpec,
    "AlertNotificationTarget": AlertNotificationTargetSpec,
}


def test_openslo_examples_are_accepted_by_validate() -> None:
    root = peers("slo", "OpenSLO", "examples")
    files = sorted(root.rglob("*.yaml"))
    assert files
    for path in files:
        bundle = manifest.load(path, registry())
        assert [d.kind for d in bundle.documents] == ["SLO"], path


def test_go_sdk_v1_examples_of_every_kind_validate() -> None:
    root = peers("slo", "go-sdk", "pkg", "openslo", "v1", "examples")
    seen = set()
    for path in sorted(root.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text()):
            assert item["apiVersion"] == "openslo/v1"
            MODELS[item["kind"]].model_validate(plain(item["spec"]))
            seen.add(item["kind"])
    assert seen == set(MODELS)


def _problems(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        manifest.load(path, registry())
    return [p.render() for p in caught.value.problems]


def test_a_bad_filter_is_refused_with_its_position_and_field_path(tmp_path: Path) -> None:
    path = write(tmp_path, "slo.yaml", CHECKOUT_SLO.replace("status < 500", "status <"))
    [problem] = _problems(path)
    assert str(path) in problem
    assert "SLO 'apply-for-job'" in problem
    assert "spec.indicator.spec.ratioMetric.good.metricSource" in problem
    assert "position 9" in problem and "expected a value" in problem


def test_missing_references_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "slo.yaml",
        """
apiVersion: openslo/v1
kind: SLO
metadata: {name: search}
spec:
  service: web
  indicatorRef: search-latency
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99, op: lt, value: 300}]
  alertPolicies: [{alertPolicyRef: fast-burn}]
""",
    )
    problems = _problems(path)
    assert any("spec.indicatorRef: SLI 'search-latency' is not defined" in p for p in problems)
    assert any("spec.alertPolicies[0].alertPolicyRef: AlertPolicy 'fast-burn'" in p for p in problems)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (("target: 0.99", "target: 1.5"), "spec.objectives[0].target", "less than 1"),
        (("duration: 30d", "duration: 30days"), "spec.timeWindow[0].duration", "expected a duration"),
        (("budgetingMethod: Occurrences", "budgetingMethod: Sometimes"), "spec.budgetingMethod", "Occurrences"),
        (
            ("counter: true", "counter: true\n        tally: 3"),
            "spec.indicator.spec.ratioMetric.tally",
            "unknown field",
        ),
    ],
)
def test_field_errors_name_the_field(tmp_path: Path, change: tuple[str, str], where: str, message: str) -> None:
    path = write(tmp_path, "slo.yaml", CHECKOUT_SLO.replace(*change))
    problems = _problems(path)
    assert any(where in p and message in p for p in problems), problems


def test_ratio_needs_exactly_one_of_good_or_bad(tmp_path: Path) -> None:
    text = CHECKOUT_SLO.replace(
        "        good:",
        '        bad:\n          metricSource: {type: mamori, spec: {filter: "status >= 500"}}\n        good:',
    )
    problems = _problems(write(tmp_path, "slo.yaml", text))
    assert any("exactly one of good or bad" in p for p in problems)


def test_composite_slo_with_referenced_slis_and_alert_policy_compiles(tmp_path: Path) -> None:
    write(
        tmp_path,
        "all.yaml",
        """
apiVersion: openslo/v1
kind: SLI
metadata: {name: search-ok}
spec:
  ratioMetric:
    bad: {metricSource: {type: mamori, spec: {filter: "status >= 500"}}}
    total: {metricSource: {type: mamori, spec: {filter: "route = '/search'"}}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: search-fast}
spec:
  thresholdMetric: {metricSource: {type: mamori, spec: {filter: "route = '/search'", field: duration_ms}}}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: fast}
spec:
  severity: page
  condition: {kind: burnrate, op: gt, threshold: 10, lookbackWindow: 1h, alertAfter: 5m}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: fast-burn}
spec:
  conditions: [{conditionRef: fast}]
  notificationTargets: [{targetRef: oncall}]
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: oncall}
spec: {target: mamori}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: search, displayName: Search for jobs}
spec:
  service: jobs-api
  timeWindow: [{duration: 1M, isRolling: false, calendar: {startTime: 2026-01-01 00:00:00, timeZone: Europe/Berlin}}]
  budgetingMethod: Occurrences
  alertPolicies: [{alertPolicyRef: fast-burn}]
  objectives:
    - {displayName: works, target: 0.999, indicatorRef: search-ok, compositeWeight: 2}
    - {displayName: fast, target: 0.95, op: lte, value: 300, indicatorRef: search-fast, compositeWeight: 1}
""",
    )
    bundle = manifest.load(tmp_path, registry())
    docs = [definitions.RawDoc(d.kind, d.name, d.metadata, d.spec) for d in bundle.documents]
    works, fast = definitions.compile_objectives(docs)
    assert (works.composite_weight, fast.composite_weight) == (2, 1)
    assert works.user_story == "Search for jobs"
    assert works.window.time_zone == "Europe/Berlin" and not works.window.rolling
    assert [(r.severity, r.threshold) for r in works.rules] == [("page", 10)]
    assert fast.counter is not None
    assert fast.counter.judge({"route": "/search", "duration_ms": 250}) is True
    assert fast.counter.judge({"route": "/search", "duration_ms": 301}) is False
    assert fast.counter.judge({"route": "/jobs", "duration_ms": 1}) is None
    assert works.counter is not None and works.counter.judge({"route": "/search", "status": 503}) is False


def test_threshold_sli_by_reference_needs_op_and_value(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        """
apiVersion: openslo/v1
kind: SLI
metadata: {name: fast}
spec:
  thresholdMetric: {metricSource: {type: mamori, spec: {field: duration_ms}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: s}
spec:
  service: web
  indicatorRef: fast
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.9}]
""",
    )
    problems = _problems(tmp_path)
    assert any("spec.objectives[0]: a threshold SLI needs op and value" in p for p in problems)


def test_error_budget_policy_is_checked(tmp_path: Path) -> None:
    write(tmp_path, "slo.yaml", CHECKOUT_SLO)
    write(
        tmp_path,
        "policy.yaml",
        """
apiVersion: mamori.dev/v1
kind: ErrorBudgetPolicy
metadata: {name: p}
spec:
  slos: [apply-for-job, nope]
  rules:
    - name: low
      when: {budgetRemainingBelow: 25, budgetExhausted: true}
      actions: [{type: jira}]
""",
    )
    problems = _problems(tmp_path)
    assert any("spec.rules[0].when" in p and "exactly one" in p for p in problems), problems
    assert any("spec.rules[0].actions[0]" in p and "project" in p for p in problems), problems


def test_apply_stores_openslo_documents_beside_mamori_kinds(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path, "slo.yaml", CHECKOUT_SLO)
    write(tmp_path, "svc.yaml", "apiVersion: mamori.dev/v1\nkind: Service\nmetadata: {name: jobs-api}\nspec: {}\n")
    write(
        tmp_path,
        "oslo-svc.yaml",
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: jobs-api-oslo}\nspec: {description: the API}\n",
    )
    report = manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    assert sorted(report.created) == ["SLO/apply-for-job", "Service/jobs-api", "Service/jobs-api-oslo"]
    with runtime.sessions() as session:
        rows = session.scalars(select(SloDocument).order_by(SloDocument.kind)).all()
        assert [(r.kind, r.name) for r in rows] == [("SLO", "apply-for-job"), ("Service", "jobs-api-oslo")]
        assert rows[0].doc_metadata["labels"] == {"user-story": "apply-for-job"}


def test_bad_annotations_are_named(tmp_path: Path) -> None:
    text = CHECKOUT_SLO.replace(
        'mamori.dev/min-events: "5"',
        'mamori.dev/min-events: "five", mamori.dev/maintenance: "2026-11-28T03:00Z/2026-11-28T02:00Z"',
    )
    problems = _problems(write(tmp_path, "slo.yaml", text))
    assert any("metadata.annotations.mamori.dev/min-events: must be a whole number" in p for p in problems)
    assert any("metadata.annotations.mamori.dev/maintenance" in p and "end after start" in p for p in problems)
