from __future__ import annotations

import yaml

from mamori.incidents.alerts.routing import fingerprint, group_key, route
from mamori.incidents.kinds.documents import AlertRouteSpec
from tests.incidents.examples import ALERT_ROUTE

SPEC = AlertRouteSpec.model_validate(yaml.safe_load(ALERT_ROUTE)["spec"])


def test_first_matching_route_wins_and_sets_its_fields() -> None:
    [result] = route("production", SPEC, {"alertname": "DiskFull", "service": "jobs-api", "severity": "critical"})
    assert (result.route_index, result.severity, result.team, result.service) == (0, "SEV2", "backend", "jobs-api")


def test_second_route_and_service_label_fallback() -> None:
    [result] = route("production", SPEC, {"alertname": "DiskAlmostFull", "service": "matching-worker"})
    assert (result.route_index, result.severity, result.service, result.escalation_policy) == (
        1,
        "SEV4",
        "matching-worker",
        "backend",
    )


def test_unmatched_alert_takes_the_default_route_with_null_index() -> None:
    [result] = route("production", SPEC, {"alertname": "HighLatency", "service": "jobs-web", "severity": "warning"})
    assert (result.route_index, result.severity) == (None, "SEV3")


def test_continue_lets_later_routes_match_too() -> None:
    spec = AlertRouteSpec.model_validate(
        {
            "routes": [
                {"matchers": ['team="a"'], "set": {"severity": "SEV1"}, "continue": True},
                {"matchers": ['team="b"'], "set": {"severity": "SEV2"}},
                {"matchers": ['team=~"a|b"'], "set": {"severity": "SEV3"}},
                {"matchers": [], "set": {"severity": "SEV4"}},
            ],
        }
    )
    assert [r.route_index for r in route("r", spec, {"team": "a"})] == [0, 2]
    assert [r.route_index for r in route("r", spec, {"team": "b"})] == [1]


def test_group_key_uses_group_by_labels_only() -> None:
    a = route("production", SPEC, {"alertname": "X", "service": "s", "instance": "1"})[0]
    b = route("production", SPEC, {"alertname": "X", "service": "s", "instance": "2"})[0]
    assert a.group_key == b.group_key == 'production:{alertname="X",service="s"}'
    assert a.fingerprint != b.fingerprint
    assert group_key("r", ["missing"], {}) == 'r:{missing=""}'


def test_fingerprint_matches_alertmanager_fnv1a_and_ignores_label_order() -> None:
    assert fingerprint({}) == "cbf29ce484222325"
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1b"}) != fingerprint({"a1": "b"})
