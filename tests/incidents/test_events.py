"""Every incidents event is published from the use case where it happens, with the alert group's labels;
a drill's pages say [DRILL]."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.events import Event
from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents import events
from mamori.incidents.alerts import service
from mamori.incidents.oncall.drills import DrillPolicy, DrillRules
from mamori.incidents.response import service as response
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import LATENCY, fire

IC = Actor("alice@example.com", "api")
DRILL = {**LATENCY, "mamori_drill": "run-7"}
ALL = (
    events.AlertGroupOpened,
    events.AlertGroupPaged,
    events.AlertGroupAcknowledged,
    events.AlertGroupResolved,
    events.IncidentDeclared,
    events.IncidentSeverityChanged,
    events.IncidentRoleAssigned,
    events.IncidentStatusUpdated,
    events.IncidentResolved,
    events.PostmortemPublished,
)


def record(runtime: Runtime) -> list[Event]:
    seen: list[Event] = []

    def handler(ctx: JobContext, event: Event) -> None:
        seen.append(event)

    for cls in ALL:
        runtime.bus.subscribe(cls, f"test.{cls.type}", handler)
    return seen


def of(seen: list[Event], cls: type[Event]) -> list[Event]:
    return [e for e in seen if isinstance(e, cls)]


def test_a_drill_publishes_every_event_with_its_labels(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    # the drill's rules, as the gamedays domain would give them through the wiring: bob takes part
    runtime.states.put(DrillPolicy(lambda _s, drill: DrillRules(drill, frozenset({"bob@example.com"}))))
    seen = record(runtime)
    group_id = fire(runtime, DRILL)
    Worker(runtime).run_until_idle()
    (opened,) = of(seen, events.AlertGroupOpened)
    assert isinstance(opened, events.AlertGroupOpened)
    assert opened.group_id == group_id and opened.labels["mamori_drill"] == "run-7"
    paged = of(seen, events.AlertGroupPaged)
    assert paged and all(isinstance(p, events.AlertGroupPaged) and p.labels == opened.labels for p in paged)
    # bob is reached by email and by webhook: one page for the person and step
    assert [(p.person, p.step) for p in paged if isinstance(p, events.AlertGroupPaged)] == [("bob@example.com", 0)]
    titles = [page.title for fake in fakes.values() for _, page in fake.sent]
    assert titles and all(t.startswith("[DRILL] ") for t in titles)

    with runtime.sessions.begin() as s:
        service.acknowledge(s, runtime, group_id=group_id, actor=IC, now=runtime.now())
        ref = response.declare(
            s, runtime, title="Drill", severity="SEV2", group_id=group_id, actor=IC, now=runtime.now()
        ).id
        response.set_severity(s, runtime, ref=ref, severity="SEV1", actor=IC, now=runtime.now())
        response.set_severity(s, runtime, ref=ref, severity="SEV1", actor=IC, now=runtime.now())  # no change
        response.assign_role(s, runtime, ref=ref, role="commander", user="bob@example.com", actor=IC, now=runtime.now())
        response.post_update(s, runtime, ref=ref, text="found it", status="identified", actor=IC, now=runtime.now())
        response.post_update(s, runtime, ref=ref, text="fixed", status="resolved", actor=IC, now=runtime.now())
        response.save_postmortem(s, runtime, ref=ref, body="# what", status="in_review", actor=IC, now=runtime.now())
        response.save_postmortem(s, runtime, ref=ref, body="# what", status="published", actor=IC, now=runtime.now())
        response.save_postmortem(s, runtime, ref=ref, body="# what!", status="published", actor=IC, now=runtime.now())
        service.resolve(s, runtime, group_id=group_id, actor=IC, now=runtime.now())
    Worker(runtime).run_until_idle()

    assert [e.by for e in of(seen, events.AlertGroupAcknowledged) if isinstance(e, events.AlertGroupAcknowledged)] == [
        IC.name
    ]
    assert len(of(seen, events.AlertGroupResolved)) == 1
    (declared,) = of(seen, events.IncidentDeclared)
    assert isinstance(declared, events.IncidentDeclared) and declared.group_id == group_id
    (changed,) = of(seen, events.IncidentSeverityChanged)
    assert isinstance(changed, events.IncidentSeverityChanged)
    assert (changed.previous, changed.severity) == ("SEV2", "SEV1")
    (role,) = of(seen, events.IncidentRoleAssigned)
    assert isinstance(role, events.IncidentRoleAssigned) and (role.role, role.person) == (
        "commander",
        "bob@example.com",
    )
    statuses = [e.status for e in of(seen, events.IncidentStatusUpdated) if isinstance(e, events.IncidentStatusUpdated)]
    assert statuses == ["identified", "resolved"]
    assert len(of(seen, events.IncidentResolved)) == 1
    assert len(of(seen, events.PostmortemPublished)) == 1  # published once, not on every later edit
    incident_events = [
        e for e in seen if e.type.startswith("incidents.incident_") or isinstance(e, events.PostmortemPublished)
    ]
    assert incident_events and all(getattr(e, "labels", {}).get("mamori_drill") == "run-7" for e in incident_events)


def test_a_real_alert_is_not_a_drill(runtime: Runtime, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    seen = record(runtime)
    fire(runtime)
    Worker(runtime).run_until_idle()
    titles = [page.title for fake in fakes.values() for _, page in fake.sent]
    assert titles and not any("[DRILL]" in t for t in titles)
    (opened,) = of(seen, events.AlertGroupOpened)
    assert "mamori_drill" not in getattr(opened, "labels", {})
    with runtime.sessions.begin() as s:
        ref = response.declare(s, runtime, title="By hand", severity="SEV3", actor=IC, now=runtime.now()).id
        assert ref
    Worker(runtime).run_until_idle()
    (declared,) = of(seen, events.IncidentDeclared)
    assert getattr(declared, "labels", None) == {}


def test_severity_changes_through_the_api(runtime: Runtime, client: TestClient, auth_headers: dict[str, str]) -> None:
    seen = record(runtime)
    number = client.post("/api/v1/incidents", json={"title": "Slow", "severity": "SEV3"}, headers=auth_headers).json()[
        "number"
    ]
    up = client.post(f"/api/v1/incidents/{number}/severity", json={"severity": "SEV1"}, headers=auth_headers)
    assert up.status_code == 200 and up.json()["severity"] == "SEV1"
    bad = client.post(f"/api/v1/incidents/{number}/severity", json={"severity": "SEV9"}, headers=auth_headers)
    assert bad.status_code == 404 and "SEV9" in bad.text
    extra = client.post(f"/api/v1/incidents/{number}/severity", json={"severity": "SEV2", "x": 1}, headers=auth_headers)
    assert extra.status_code == 422
    Worker(runtime).run_until_idle()
    assert [getattr(e, "previous", None) for e in of(seen, events.IncidentSeverityChanged)] == ["SEV3"]
    kinds = [i["kind"] for i in client.get(f"/api/v1/incidents/{number}/timeline", headers=auth_headers).json()]
    assert "severity" in kinds
