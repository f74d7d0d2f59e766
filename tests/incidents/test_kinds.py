from __future__ import annotations

from pathlib import Path

import pytest

from mamori.core import manifest
from mamori.core.errors import ValidationFailed
from mamori.core.manifest import KindRegistry
from mamori.core.runtime import Runtime
from mamori.incidents import kinds
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import AlertRouteSpec, EscalationPolicySpec, ScheduleSpec
from tests.incidents.examples import write_config
from tests.incidents.fakes import apply_config


def registry() -> KindRegistry:
    reg = KindRegistry()
    for kind_def in kinds.KINDS:
        reg.register(kind_def)
    return reg


def test_issue_examples_are_accepted_verbatim(tmp_path: Path) -> None:
    bundle = manifest.load(write_config(tmp_path), registry())
    route = bundle.get("AlertRoute", "production")
    schedule = bundle.get("Schedule", "backend-primary")
    policy = bundle.get("EscalationPolicy", "backend")
    assert route and schedule and policy
    assert isinstance(route.model, AlertRouteSpec) and route.model.group_by == ["alertname", "service"]
    assert isinstance(schedule.model, ScheduleSpec) and [x.name for x in schedule.model.layers] == [
        "weekly",
        "weekday-days",
    ]
    assert isinstance(policy.model, EscalationPolicySpec) and policy.model.repeat == 1
    assert policy.model.steps[0].escalate_after.total_seconds() == 300


def _problems(tmp_path: Path, *extra: str) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        manifest.load(write_config(tmp_path, *extra), registry())
    return [f"{p.loc}: {p.msg}" for p in info.value.problems]


def test_route_naming_a_missing_escalation_policy_is_refused(tmp_path: Path) -> None:
    doc = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: other}
spec:
  routes: [{matchers: ['team="x"'], set: {escalationPolicy: nobody, severity: SEV9}}]
"""
    problems = _problems(tmp_path, doc)
    assert any("spec.routes[0].set.escalationPolicy" in p and "nobody" in p for p in problems)
    assert any("spec.routes[0].set.severity" in p and "SEV9" in p for p in problems)


def test_bad_matcher_is_refused_with_its_text(tmp_path: Path) -> None:
    doc = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: bad}
spec:
  routes: [{matchers: ['service=~"(unclosed"']}]
"""
    problems = _problems(tmp_path, doc)
    assert any("spec.routes[0].matchers" in p and "bad regex" in p for p in problems)


def test_policy_naming_a_missing_schedule_and_integration_naming_a_missing_route_are_refused(tmp_path: Path) -> None:
    policy = """\
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: p2}
spec:
  steps: [{notify: {schedule: ghost}, escalateAfter: 30s}]
"""
    integration = """\
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: i2}
spec: {type: generic, route: ghost-route}
"""
    problems = _problems(tmp_path, policy, integration)
    assert any("spec.steps[0].notify.schedule" in p and "ghost" in p for p in problems)
    assert any(p.startswith("spec.route:") and "ghost-route" in p for p in problems)


def test_schedule_users_must_be_emails_and_zone_must_exist(tmp_path: Path) -> None:
    doc = """\
apiVersion: mamori.dev/v1
kind: Schedule
metadata: {name: s2}
spec:
  timeZone: Mars/Olympus
  layers:
    - {name: a, start: 2026-01-01T00:00:00, rotation: {type: daily, handoff: "Mon 09:00"}, users: [alice]}
"""
    problems = _problems(tmp_path, doc)
    assert any("spec.timeZone" in p and "Mars/Olympus" in p for p in problems)
    assert any("spec.layers[0].rotation" in p and "daily handoff" in p for p in problems)
    assert any("spec.layers[0].users" in p and "email" in p for p in problems)


def test_custom_rotation_needs_a_length(tmp_path: Path) -> None:
    doc = """\
apiVersion: mamori.dev/v1
kind: Schedule
metadata: {name: s3}
spec:
  timeZone: UTC
  layers: [{name: a, start: 2026-01-01T00:00:00, rotation: {type: custom}, users: [a@x.io]}]
"""
    assert any("custom rotation needs a positive length" in p for p in _problems(tmp_path, doc))


def test_severity_level_document_overrides_a_default(tmp_path: Path) -> None:
    doc = """\
apiVersion: mamori.dev/v1
kind: SeverityLevel
metadata: {name: SEV6}
spec: {description: Informational, rank: 6, page: false}
"""
    route = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: info}
spec: {default: {severity: SEV6, escalationPolicy: backend}}
"""
    bundle = manifest.load(write_config(tmp_path, doc, route), registry())
    assert bundle.get("SeverityLevel", "SEV6") is not None


def test_an_applied_severity_level_replaces_the_shipped_default(runtime: Runtime, tmp_path: Path) -> None:
    quiet_sev2 = """\
apiVersion: mamori.dev/v1
kind: SeverityLevel
metadata: {name: SEV2}
spec: {description: Degraded, rank: 2, page: false, major: true}
"""
    with runtime.sessions() as s:
        assert config.severities(s)["SEV2"].page is True  # the shipped default pages
    apply_config(runtime, tmp_path / "c", quiet_sev2)
    with runtime.sessions() as s:
        levels = config.severities(s)
    assert (levels["SEV2"].page, levels["SEV2"].description, levels["SEV2"].major) == (False, "Degraded", True)
    assert levels["SEV1"].page is True, "the other defaults stay"
