"""Ramps and scheduled changes as durable jobs; guards that pause or revert ramps on burn alerts and freezes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import Conflict, ValidationFailed
from mamori.core.jobs import JobContext
from mamori.core.models import TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.flags import ramps, rollouts, service
from mamori.flags.events import RampHalted
from mamori.flags.models import FlagRamp
from tests.flags.conftest import apply_config, write_config

ALICE = Actor(name="alice@jobs.example", source="api")
BOB = Actor(name="bob@jobs.example", source="api")


@dataclass(frozen=True)
class FakeBurnAlert:
    service: str
    severity: str
    slo: str
    at: datetime


@dataclass(frozen=True)
class FakeFreeze:
    service: str
    reason: str
    since: datetime


def _percent(runtime: Runtime, environment: str = "production") -> int | None:
    with runtime.sessions() as session:
        return rollouts.rollout_percent(service.get_flag(session, environment=environment, key="new-search"))


def _start(runtime: Runtime, guard: str = "pause") -> str:
    with runtime.sessions.begin() as session:
        return ramps.start_ramp(
            session,
            environment="production",
            key="new-search",
            steps=[5, 25, 50, 100],
            interval="1h",
            service_name=None,
            guard=guard,
            actor=ALICE,
            reason="ramp new search",
            now=runtime.now(),
        ).id


def _guard(runtime: Runtime, event: object, handler: object) -> None:
    with runtime.sessions.begin() as session:
        ctx = JobContext(session=session, job_id=0, attempt=1, now=runtime.now(), runtime=runtime)
        handler(ctx, event)  # type: ignore[operator]


def test_a_ramp_advances_at_its_interval_to_100_percent(flags_runtime: Runtime, clock: FixedClock) -> None:
    ramp_id = _start(flags_runtime)
    worker = Worker(flags_runtime)
    assert _percent(flags_runtime) == 5
    worker.run_until_idle()
    assert _percent(flags_runtime) == 5, "the next step waits for its interval"
    for expected in (25, 50, 100):
        clock.advance(minutes=61)
        worker.run_until_idle()
        assert _percent(flags_runtime) == expected
    with flags_runtime.sessions() as session:
        assert session.get(FlagRamp, ramp_id).status == "done"  # type: ignore[union-attr]
        titles = [e.title for e in session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "flag_change"))]
    assert any("ramp to 50%" in t for t in titles)


def test_a_burn_alert_pauses_the_guarded_ramp_and_notifies(flags_runtime: Runtime, clock: FixedClock) -> None:
    ramp_id = _start(flags_runtime)
    clock.advance(minutes=61)
    Worker(flags_runtime).run_until_idle()
    assert _percent(flags_runtime) == 25
    _guard(flags_runtime, FakeBurnAlert("jobs-web", "page", "search-latency", clock.now()), ramps.on_burn_alert)
    clock.advance(minutes=180)
    Worker(flags_runtime).run_until_idle()
    assert _percent(flags_runtime) == 25, "a paused ramp stays where it was"
    with flags_runtime.sessions() as session:
        ramp = session.get(FlagRamp, ramp_id)
        assert ramp is not None and ramp.status == "paused"
        assert "burn alert on SLO search-latency" in (ramp.note or "")
    with flags_runtime.sessions.begin() as session:
        ramps.resume_ramp(session, ramp_id=ramp_id, actor=ALICE, now=clock.now())
    clock.advance(minutes=61)
    Worker(flags_runtime).run_until_idle()
    assert _percent(flags_runtime) == 50


def test_a_release_freeze_reverts_a_revert_guarded_ramp(flags_runtime: Runtime, clock: FixedClock) -> None:
    heard: list[RampHalted] = []
    flags_runtime.bus.subscribe(RampHalted, "test.owner_notifier", lambda _ctx, event: heard.append(event))
    _start(flags_runtime, guard="revert")
    _guard(flags_runtime, FakeFreeze("jobs-web", "black friday", clock.now()), ramps.on_release_freeze)
    with flags_runtime.sessions() as session:
        flag = service.get_flag(session, environment="production", key="new-search")
        ramp = session.scalars(select(FlagRamp)).one()
        assert ramp.status == "reverted" and "black friday" in (ramp.note or "")
    assert flag["targeting"] == {"if": [{"ends_with": [{"var": "email"}, "@jobs.example"]}, "on", None]}
    Worker(flags_runtime).run_until_idle()
    assert [(e.flag_key, e.action, e.service) for e in heard] == [("new-search", "reverted", "jobs-web")]
    assert "black friday" in heard[0].why


def test_alerts_for_other_services_leave_ramps_running(flags_runtime: Runtime, clock: FixedClock) -> None:
    _start(flags_runtime)
    _guard(flags_runtime, FakeBurnAlert("jobs-api", "page", "api", clock.now()), ramps.on_burn_alert)
    with flags_runtime.sessions() as session:
        assert session.scalars(select(FlagRamp)).one().status == "running"


def test_bad_ramps_are_refused(flags_runtime: Runtime) -> None:
    with flags_runtime.sessions.begin() as session, pytest.raises(ValidationFailed, match="rise strictly"):
        ramps.start_ramp(
            session,
            environment="production",
            key="new-search",
            steps=[50, 25],
            interval="1h",
            service_name=None,
            guard="pause",
            actor=ALICE,
            reason="r",
            now=flags_runtime.now(),
        )
    _start(flags_runtime)
    with flags_runtime.sessions.begin() as session, pytest.raises(Conflict, match="already has a running ramp"):
        ramps.start_ramp(
            session,
            environment="production",
            key="new-search",
            steps=[5],
            interval="1h",
            service_name=None,
            guard="pause",
            actor=ALICE,
            reason="r",
            now=flags_runtime.now(),
        )


def test_a_scheduled_change_runs_at_its_time_and_shows_on_the_timeline(
    flags_runtime: Runtime, clock: FixedClock
) -> None:
    with flags_runtime.sessions.begin() as session:
        ramps.schedule_change(
            session,
            environment="production",
            key="new-search",
            at="2026-11-29T10:00+09:00",
            action="rollout",
            percent=20,
            actor=ALICE,
            reason="launch",
            now=clock.now(),
        )
    with flags_runtime.sessions.begin() as session, pytest.raises(ValidationFailed, match="not in the future"):
        ramps.schedule_change(
            session,
            environment="production",
            key="new-search",
            at="2026-11-01T00:00Z",
            action="enable",
            percent=None,
            actor=ALICE,
            reason="x",
            now=clock.now(),
        )
    Worker(flags_runtime).run_until_idle()
    assert _percent(flags_runtime) is None
    clock.advance(minutes=14 * 60 + 1)  # 2026-11-29T01:00Z = 10:00+09:00
    Worker(flags_runtime).run_until_idle()
    assert _percent(flags_runtime) == 20
    with flags_runtime.sessions() as session:
        titles = [e.title for e in session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "flag_change"))]
    assert any("scheduled for 2026-11-29T01:00:00+00:00" in t for t in titles)
    assert any("scheduled rollout" in t for t in titles)


def test_a_ramp_in_an_approval_environment_waits_for_a_second_person(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, write_config(tmp_path / "c", production_approval=True))
    ramp_id = _start(runtime)
    with runtime.sessions() as session:
        assert session.get(FlagRamp, ramp_id).status == "awaiting"  # type: ignore[union-attr]
        change_id = service.list_changes(session, environment="production", status="pending")[0].id
    clock.advance(minutes=61)
    Worker(runtime).run_until_idle()
    assert _percent(runtime) is None, "nothing serves before approval"
    with runtime.sessions.begin() as session:
        ramps.decide_change(session, change_id=change_id, approve=True, actor=BOB, now=clock.now())
    assert _percent(runtime) == 5
    clock.advance(minutes=61)
    Worker(runtime).run_until_idle()
    assert _percent(runtime) == 25, "later steps need no further approval"


def test_cli_toggle_ramp_and_approve(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    apply_config(runtime, write_config(tmp_path / "c", production_approval=True))
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    cli = CliRunner()
    no_reason = cli.invoke(app, ["flags", "toggle", "production", "page-size", "off"])
    assert no_reason.exit_code == 2 and "reason is required" in no_reason.output
    pending = cli.invoke(app, ["flags", "toggle", "production", "page-size", "off", "--reason", "kill it"])
    assert pending.exit_code == 0, pending.output
    change = json.loads(pending.stdout)
    assert change["status"] == "pending"
    self_approval = cli.invoke(app, ["flags", "approve", change["change"]])
    assert self_approval.exit_code != 0 and "second person" in self_approval.output
    ramp = cli.invoke(app, ["flags", "ramp", "staging", "new-search", "--steps", "10,50,100", "--interval", "2h"])
    assert ramp.exit_code == 0, ramp.output
    assert json.loads(ramp.stdout)["percent"] == 10
    bad = cli.invoke(app, ["flags", "ramp", "staging", "page-size", "--steps", "ten"])
    assert bad.exit_code == 2 and "--steps" in bad.output
