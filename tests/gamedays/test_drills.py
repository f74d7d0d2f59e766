"""Drills through the real incident flow: the alert enters by the intake, pages only through the drill's route,
the responders' acts land on the drill's timeline, the abort switch leaves nothing open, injects fire once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import Conflict
from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.gamedays import jobs as gameday_jobs
from mamori.gamedays.models import Drill, DrillEntry, DrillInject
from mamori.gamedays.service import drills, entries, reports
from mamori.incidents.alerts import service as alerts
from mamori.incidents.models import AlertGroup, Incident, Notification
from mamori.incidents.response import metrics
from mamori.incidents.response import service as response
from mamori.slo import events as slo_events
from tests.conftest import T0, RuntimeFactory
from tests.gamedays.support import SCENARIO, apply
from tests.incidents.fakes import install_fakes

GM = Actor("alice@example.com", "api")
BOB = Actor("bob@example.com", "api")


def start(runtime: Runtime) -> str:
    with runtime.sessions.begin() as s:
        return drills.create(s, runtime, scenario="checkout", actor=GM, now=runtime.now()).id


def drill_groups(runtime: Runtime, drill_id: str) -> list[AlertGroup]:
    with runtime.sessions() as s:
        groups = list(s.scalars(select(AlertGroup)))
        s.expunge_all()
    return [g for g in groups if g.title.startswith("[DRILL]")]


def kinds(runtime: Runtime, drill_id: str) -> list[str]:
    with runtime.sessions() as s:
        return [e.kind for e in entries.entries_of(s, drill_id)]


def test_a_drill_alert_pages_only_its_participant_and_the_response_is_scored(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    fakes = apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    worker = Worker(runtime)
    worker.run_until_idle()
    assert drill_groups(runtime, drill_id) == []  # the alert is due a minute after the start
    clock.advance(minutes=1)
    worker.run_until_idle()
    (group,) = drill_groups(runtime, drill_id)
    assert group.title == "[DRILL] Checkout 5xx" and group.escalation_policy == "drill"
    pages = [(target, page.title) for fake in fakes.values() for target, page in fake.sent]
    assert pages == [("bob@example.com", "[DRILL] Checkout 5xx")]  # carol, on the real route, is not paged

    clock.advance(minutes=3)
    with runtime.sessions.begin() as s:
        alerts.acknowledge(s, runtime, group_id=group.id, actor=BOB, now=runtime.now())
        ref = response.declare(
            s, runtime, title="[DRILL] checkout", severity="SEV3", group_id=group.id, actor=BOB, now=runtime.now()
        ).id
        response.assign_role(
            s, runtime, ref=ref, role="commander", user="bob@example.com", actor=BOB, now=runtime.now()
        )
    worker.run_until_idle()
    assert {"inject_fired", "alert_opened", "paged", "acknowledged", "incident_declared", "role_assigned"} <= set(
        kinds(runtime, drill_id)
    )
    with runtime.sessions.begin() as s:
        result = reports.score(s, drill_id=drill_id, now=runtime.now())
    got = {o.expectation: (o.outcome, o.points) for o in result.outcomes}
    assert got == {"ack": ("met", 1.0), "declare": ("partial", 0.25), "ic": ("met", 1.0), "kill": ("pending", 0.0)}
    bob = next(p for p in result.participants if p.user == "bob@example.com")
    assert set(bob.credited) == {"ack", "declare", "ic"} and bob.incident_roles == ("commander",)


def test_the_abort_switch_stops_injects_and_leaves_no_alert_or_incident_open(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    worker = Worker(runtime)
    clock.advance(minutes=1)
    worker.run_until_idle()
    (group,) = drill_groups(runtime, drill_id)
    with runtime.sessions.begin() as s:
        response.declare(
            s, runtime, title="[DRILL] x", severity="SEV2", group_id=group.id, actor=BOB, now=runtime.now()
        )
    worker.run_until_idle()
    clock.advance(minutes=2)
    with runtime.sessions.begin() as s:
        drills.abort(s, runtime, drill_id=drill_id, reason="real trouble", actor=BOB, now=runtime.now())
    worker.run_until_idle()
    clock.advance(minutes=40)  # the 30m inject's job time passes: it was cancelled, nothing fires
    worker.run_until_idle()
    with runtime.sessions() as s:
        assert s.get(Drill, drill_id).status == "aborted"  # type: ignore[union-attr]
        statuses = {i.inject_id: i.status for i in s.scalars(select(DrillInject))}
        assert statuses == {"page": "fired", "hint": "cancelled", "later": "cancelled"}
        assert [g.status for g in s.scalars(select(AlertGroup))] == ["resolved"]
        assert [i.status for i in s.scalars(select(Incident))] == ["resolved"]
    with runtime.sessions.begin() as s, pytest.raises(Conflict):
        drills.abort(s, runtime, drill_id=drill_id, reason="again", actor=BOB, now=runtime.now())


def test_a_real_sev1_aborts_the_running_drill_by_itself(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    with runtime.sessions.begin() as s:
        response.declare(s, runtime, title="Database down", severity="SEV1", service="db", actor=BOB, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        drill = s.get(Drill, drill_id)
        assert drill is not None and drill.status == "aborted"
        assert drill.abort_reason == "a real SEV1 incident (#1) was declared"


def test_a_real_sev3_leaves_the_drill_running(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    with runtime.sessions.begin() as s:
        response.declare(s, runtime, title="Slow page", severity="SEV3", actor=BOB, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert s.get(Drill, drill_id).status == "running"  # type: ignore[union-attr]


def test_a_scheduled_drill_starts_by_its_job_and_each_inject_fires_once(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    with runtime.sessions.begin() as s:
        drill_id = drills.create(
            s, runtime, scenario="checkout", actor=GM, now=runtime.now(), start_at=runtime.now() + timedelta(hours=1)
        ).id
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        assert s.get(Drill, drill_id).status == "scheduled"  # type: ignore[union-attr]
    clock.advance(hours=1)
    Worker(runtime, worker_id="a").run_until_idle()
    clock.advance(minutes=1)
    Worker(runtime, worker_id="a").run_until_idle()
    Worker(runtime, worker_id="b").run_until_idle()
    with runtime.sessions.begin() as s:
        # the inject's job delivered again (a retry after a lost lease) changes nothing
        assert not drills.fire(s, runtime, drill_id=drill_id, inject_id="page", actor=GM, now=runtime.now())
        gameday_jobs.start_drill(_ctx(runtime, s), gameday_jobs.DrillJob(drill=drill_id))  # a second start: no-op
    with runtime.sessions() as s:
        assert s.get(Drill, drill_id).status == "running"  # type: ignore[union-attr]
        fired = s.scalars(select(DrillEntry).where(DrillEntry.drill_id == drill_id, DrillEntry.kind == "inject_fired"))
        assert [e.data["inject"] for e in fired] == ["page"]
    assert len(drill_groups(runtime, drill_id)) == 1


def _ctx(runtime: Runtime, session: object) -> JobContext:
    return JobContext(session=session, job_id=0, attempt=1, now=runtime.now(), runtime=runtime)  # type: ignore[arg-type]


def test_the_game_master_reveals_a_clue_once(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    with runtime.sessions.begin() as s:
        drills.reveal(s, runtime, drill_id=drill_id, inject_id="hint", actor=GM, now=runtime.now())
    with runtime.sessions.begin() as s, pytest.raises(Conflict, match="already fired"):
        drills.reveal(s, runtime, drill_id=drill_id, inject_id="hint", actor=GM, now=runtime.now())
    assert kinds(runtime, drill_id).count("clue_revealed") == 1


def test_a_flag_flipped_during_the_drill_is_found_in_the_audit_log(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    clock.advance(minutes=5)
    with runtime.sessions.begin() as s:
        audit.record(
            s, actor=BOB, action="toggle", object_type="Flag", object_id="production/checkout-v2", at=runtime.now()
        )
    with runtime.sessions.begin() as s:
        result = reports.score(s, drill_id=drill_id, now=runtime.now())
    kill = next(o for o in result.outcomes if o.expectation == "kill")
    assert (kill.outcome, kill.credited) == ("met", ("bob@example.com",))


def test_drill_alert_groups_are_not_counted_in_mtta(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    apply(runtime, tmp_path / "c")
    start(runtime)
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        window = {"since": runtime.now() - timedelta(days=1), "until": runtime.now() + timedelta(days=1)}
        times = metrics.response_times(s, **window)
        load = metrics.oncall_load(s, **window)
        paged = s.scalar(select(func.count()).select_from(Notification))
    assert paged, "the drill paged someone"
    assert times["alert_groups"] == 0 and load == [], "drill pages count in no metric"


EXPERIMENT = {
    "title": "Kill a checkout pod",
    "method": [{"name": "kill-pod", "type": "action", "provider": {"type": "process", "path": "true"}}],
    "rollbacks": [{"name": "scale-back-up", "type": "action", "provider": {"type": "process", "path": "true"}}],
}


def test_an_aborted_drill_says_which_chaos_rollbacks_to_run(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    root = tmp_path / "c"
    root.mkdir()
    (root / "experiment.json").write_text(json.dumps(EXPERIMENT))
    scenario = SCENARIO.replace(
        "  expectations:", "    - {id: fault, at: 2m, chaos: {experiment: experiment.json}}\n  expectations:"
    )
    apply(runtime, root, scenario)
    drill_id = start(runtime)
    clock.advance(minutes=2)
    Worker(runtime).run_until_idle()
    with runtime.sessions.begin() as s:
        drills.abort(s, runtime, drill_id=drill_id, reason="stop", actor=GM, now=runtime.now())
    Worker(runtime).run_until_idle()  # the abort switch's rollback job: a process provider is not run on the server
    with runtime.sessions() as s:
        notes = [e.text for e in entries.entries_of(s, drill_id) if e.data.get("undo")]
    assert notes == ["rollback scale-back-up: a process provider is not run by Mamori; run it by hand"]


def test_a_finished_drill_names_the_chaos_rollbacks_to_run(runtime: Runtime, clock: FixedClock, tmp_path: Path) -> None:
    root = tmp_path / "c"
    root.mkdir()
    (root / "experiment.json").write_text(json.dumps(EXPERIMENT))
    scenario = SCENARIO.replace(
        "  expectations:", "    - {id: fault, at: 2m, chaos: {experiment: experiment.json}}\n  expectations:"
    )
    apply(runtime, root, scenario)
    drill_id = start(runtime)
    clock.advance(minutes=2)
    Worker(runtime).run_until_idle()
    with runtime.sessions.begin() as s:
        drills.finish(s, runtime, drill_id=drill_id, actor=GM, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        notes = [e.text for e in entries.entries_of(s, drill_id) if e.data.get("undo")]
    assert notes == ["run the rollbacks of Kill a checkout pod: scale-back-up"]


def test_injects_survive_a_restart(make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path) -> None:
    before = make_runtime()
    apply(before, tmp_path / "c")
    drill_id = start(before)
    before.engine.dispose()  # the process stops; its jobs are rows in the database
    after = make_runtime()
    install_fakes(after)
    clock.advance(minutes=1)
    Worker(after).run_until_idle()
    assert len(drill_groups(after, drill_id)) == 1
    with after.sessions() as s:
        statuses = {i.inject_id: i.status for i in s.scalars(select(DrillInject))}
    assert statuses == {"page": "fired", "hint": "pending", "later": "pending"}


def burn(service: str, severity: str) -> slo_events.BurnAlertFired:
    return slo_events.BurnAlertFired(
        slo="checkout-availability",
        objective=0,
        service=service,
        severity=severity,  # type: ignore[arg-type]
        long_window="1h",
        short_window="5m",
        burn_rate=20.0,
        threshold=14.4,
        at=T0,
        user_story="pay",
    )


@pytest.mark.parametrize(
    ("service", "severity", "status"),
    [("checkout", "page", "aborted"), ("checkout", "ticket", "running"), ("search", "page", "running")],
)
def test_only_a_real_page_level_burn_on_a_drill_service_aborts_it(
    runtime: Runtime, clock: FixedClock, tmp_path: Path, service: str, severity: str, status: str
) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = start(runtime)
    with runtime.sessions.begin() as s:
        runtime.bus.publish(s, burn(service, severity), now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        drill = s.get(Drill, drill_id)
        assert drill is not None and drill.status == status
        if status == "aborted":
            assert drill.abort_reason == "a real SLO burn on checkout (checkout-availability)"


def test_a_release_freeze_of_the_drill_service_meets_the_freeze_expectation(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    scenario = SCENARIO.replace(
        "    - {id: kill,",
        "    - {id: freeze, after: page, freeze: {service: checkout, within: 15m}}\n    - {id: kill,",
    )
    apply(runtime, tmp_path / "c", scenario)
    drill_id = start(runtime)
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    clock.advance(minutes=9)
    with runtime.sessions.begin() as s:
        event = slo_events.ReleaseFreezeStarted(service="checkout", reason="budget spent", since=runtime.now())
        runtime.bus.publish(s, event, now=runtime.now())
        other = slo_events.ReleaseFreezeStarted(service="search", reason="budget spent", since=runtime.now())
        runtime.bus.publish(s, other, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions.begin() as s:
        result = reports.score(s, drill_id=drill_id, now=runtime.now())
        frozen = [e.text for e in entries.entries_of(s, drill_id) if e.kind == "release_frozen"]
    assert frozen == ["releases of checkout frozen: budget spent"]
    freeze = next(o for o in result.outcomes if o.expectation == "freeze")
    assert (freeze.outcome, freeze.took) == ("met", timedelta(minutes=9))
