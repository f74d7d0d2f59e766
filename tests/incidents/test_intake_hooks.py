from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.models import Alert, AlertGroup, Intake
from tests.conftest import issue_token
from tests.incidents.fakes import am_payload, apply_config, install_fakes

LATENCY = {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical", "instance": "a"}

GENERIC = """\
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: gen}
spec:
  type: generic
  route: production
  fields: {key: event.id, title: event.name, status: event.state, labels: event.tags}
"""
PD = """\
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: pd}
spec: {type: pagerduty, route: production}
"""
DD = """\
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: dd}
spec: {type: datadog, route: production}
"""


def _setup(runtime: Runtime, tmp_path: Path) -> dict[str, str]:
    apply_config(runtime, tmp_path / "config", GENERIC, PD, DD)
    install_fakes(runtime)
    return {"Authorization": f"Bearer {issue_token(runtime, 'ingest')}"}


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_alertmanager_payload_is_stored_then_routed_into_a_group(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    headers = _setup(runtime, tmp_path)
    response = client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY}), headers=headers)
    assert response.status_code == 202, response.text
    with runtime.sessions() as s:
        assert s.scalar(select(Intake.status)) == "accepted"
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        group = s.get(AlertGroup, alert.group_id)
        assert group is not None
        assert (alert.severity, alert.team, alert.service) == ("SEV2", "backend", "jobs-api")
        assert group.group_key == 'production:{alertname="HighLatency",service="jobs-api"}'
        assert group.policy_snapshot is not None and group.policy_snapshot["name"] == "backend"
        assert s.scalar(select(Intake.status)) == "processed"


def test_repeated_alert_is_deduplicated_and_siblings_join_the_group(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    headers = _setup(runtime, tmp_path)
    for _ in range(3):
        client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY}), headers=headers)
    client.post(
        "/hooks/alertmanager/prod-am", json=am_payload({"labels": {**LATENCY, "instance": "b"}}), headers=headers
    )
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        alerts = s.scalars(select(Alert).order_by(Alert.first_seen_at)).all()
        assert len(alerts) == 2
        assert sorted(a.occurrences for a in alerts) == [1, 3]
        assert len({a.group_id for a in alerts}) == 1
    assert _count(runtime, AlertGroup) == 1


def test_group_resolves_when_every_alert_resolves_at_the_source(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    headers = _setup(runtime, tmp_path)
    b = {**LATENCY, "instance": "b"}
    client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY}, {"labels": b}), headers=headers)
    client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY}, status="resolved"), headers=headers)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert s.scalar(select(AlertGroup.status)) == "triggered"
    client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": b}, status="resolved"), headers=headers)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert s.scalar(select(AlertGroup.status)) == "resolved"


def test_malformed_payload_gets_400_with_reason_and_is_kept(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    headers = _setup(runtime, tmp_path)
    response = client.post("/hooks/alertmanager/prod-am", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    response = client.post("/hooks/alertmanager/prod-am", json={"alerts": [{"status": "firing"}]}, headers=headers)
    assert response.status_code == 400 and "alerts[0].labels" in response.json()["detail"]
    deep = b'{"alerts": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = client.post("/hooks/alertmanager/prod-am", content=deep, headers=headers)
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    with runtime.sessions() as s:
        rows = s.scalars(select(Intake).order_by(Intake.id)).all()
        assert [r.status for r in rows] == ["rejected", "rejected", "rejected"]
        assert rows[0].body == "{not json" and rows[0].error
    assert _count(runtime, Alert) == 0


def test_intake_needs_an_ingest_token_and_a_known_integration(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    headers = _setup(runtime, tmp_path)
    assert client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY})).status_code == 401
    reader = {"Authorization": f"Bearer {issue_token(runtime, 'read', email='r@example.com', role='viewer')}"}
    assert (
        client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY}), headers=reader).status_code
        == 403
    )
    assert (
        client.post("/hooks/alertmanager/nope", json=am_payload({"labels": LATENCY}), headers=headers).status_code
        == 404
    )
    assert client.post("/hooks/datadog/prod-am", json={"id": 1, "title": "x"}, headers=headers).status_code == 404


def test_pagerduty_events_v2_trigger_acknowledge_resolve(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    headers = _setup(runtime, tmp_path)
    event = {
        "routing_key": "R0123456789",
        "event_action": "trigger",
        "dedup_key": "db-1",
        "payload": {"summary": "DB down", "source": "db1", "severity": "critical", "component": "jobs-api"},
    }
    response = client.post("/hooks/pagerduty/pd/enqueue", json=event, headers=headers)
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "db-1"}
    Worker(runtime).run_until_idle()
    client.post(
        "/hooks/pagerduty/pd/enqueue",
        json={"routing_key": "R0123456789", "event_action": "acknowledge", "dedup_key": "db-1"},
        headers=headers,
    )
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        group = s.scalars(select(AlertGroup)).one()
        assert (group.status, group.service, group.severity) == ("acknowledged", "jobs-api", "SEV2")
    client.post(
        "/hooks/pagerduty/pd/enqueue",
        json={"routing_key": "R0123456789", "event_action": "resolve", "dedup_key": "db-1"},
        headers=headers,
    )
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert s.scalars(select(AlertGroup)).one().status == "resolved"
    bad = client.post(
        "/hooks/pagerduty/pd/enqueue", json={"routing_key": "R", "event_action": "resolve"}, headers=headers
    )
    assert bad.status_code == 400 and "dedup_key is required" in bad.json()["detail"]


def test_generic_field_mapping_and_datadog_transitions(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    headers = _setup(runtime, tmp_path)
    body = {"event": {"id": 77, "name": "DiskAlmostFull", "state": "alerting", "tags": {"service": "jobs-web"}}}
    assert client.post("/hooks/generic/gen", json=body, headers=headers).status_code == 202
    dd = {
        "id": "e1",
        "alert_id": "42",
        "title": "CPU high",
        "alert_transition": "Triggered",
        "tags": "service:matching-worker,env:prod",
    }
    assert client.post("/hooks/datadog/dd", json=dd, headers=headers).status_code == 202
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        alerts = {a.integration: a for a in s.scalars(select(Alert))}
        assert (alerts["gen"].severity, alerts["gen"].service, alerts["gen"].dedup_key) == ("SEV4", "jobs-web", "77")
        assert alerts["dd"].labels["env"] == "prod" and alerts["dd"].service == "matching-worker"
    client.post("/hooks/datadog/dd", json={**dd, "alert_transition": "Recovered"}, headers=headers)
    client.post("/hooks/generic/gen", json={"event": {**body["event"], "state": "resolved"}}, headers=headers)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert {a.status for a in s.scalars(select(Alert))} == {"resolved"}
    missing = client.post("/hooks/generic/gen", json={"event": {"name": "x"}}, headers=headers)
    assert missing.status_code == 400 and "event.id" in missing.json()["detail"]


def test_processing_twice_is_idempotent(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    from mamori.incidents.alerts import service

    headers = _setup(runtime, tmp_path)
    client.post("/hooks/alertmanager/prod-am", json=am_payload({"labels": LATENCY}), headers=headers)
    Worker(runtime).run_until_idle()
    with runtime.sessions.begin() as s:
        row = s.scalars(select(Intake)).one()
        row.status = "accepted"  # replay the stored payload
        service.process(s, runtime, row, now=runtime.now())
    with runtime.sessions() as s:
        # a replay counts as one more delivery of the same alert, never a second alert or group
        assert s.scalars(select(Alert)).one().occurrences == 2
    assert _count(runtime, AlertGroup) == 1 and _count(runtime, Alert) == 1


def test_oversized_odd_and_non_utf8_payloads_get_clear_errors_and_nothing_is_lost(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    headers = _setup(runtime, tmp_path)
    huge = am_payload({"labels": {**LATENCY, "note": "x" * 1_100_000}})
    too_big = client.post("/hooks/alertmanager/prod-am", json=huge, headers=headers)
    assert too_big.status_code == 413 and "at most 1048576 bytes" in too_big.json()["detail"]
    assert _count(runtime, Intake) == 0, "a payload that cannot be kept whole is not half-kept"
    cases = [
        ("alertmanager/prod-am", "[]".encode("utf-16"), "not UTF-8"),
        ("datadog/dd", b'{"id": "e1", "title": "CPU", "tags": 5}', "tags must be a list"),
        ("pagerduty/pd/enqueue", b'{"routing_key": "R0123456789", "event_action": {}}', "event_action must be"),
    ]
    for path, body, reason in cases:
        response = client.post(f"/hooks/{path}", content=body, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert reason in response.json()["detail"]
    future = am_payload({"labels": LATENCY})
    future["alerts"][0]["startsAt"] = "99999999999999999999"  # type: ignore[index]  # an epoch past year 9999
    assert client.post("/hooks/alertmanager/prod-am", json=future, headers=headers).status_code == 202
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert [r.status for r in s.scalars(select(Intake).order_by(Intake.id))] == [
            "rejected",
            "rejected",
            "rejected",
            "processed",
        ]
