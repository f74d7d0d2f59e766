"""Drill safety in the real incident flow: only the drill's participants are paged whatever the route says, the
drill's incident, updates and tickets say [DRILL], no customer-facing update goes out, no ticket is filed unless
the scenario says so; updates posted without a status change keep the cadence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import Conflict
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.gamedays.service import drills, reports
from mamori.incidents.alerts import service as alerts
from mamori.incidents.models import AlertGroup, Incident, IncidentEntry, Notification
from mamori.incidents.response import actions
from mamori.incidents.response import service as response
from mamori.integrations.tickets import InMemoryTracker, Trackers
from tests.conftest import RuntimeFactory
from tests.gamedays.support import PAGING, SCENARIO, apply
from tests.incidents.fakes import am_payload, install_fakes

GM = Actor("alice@example.com", "api")
BOB = Actor("bob@example.com", "api")
TEAM = """\
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: backend}
spec: {members: [{user: carol@example.com}], email: backend@example.com}
"""
# the drill route's policy names carol (not in the drill), bob, the team's address, and an observer
WIDE_PAGING = PAGING.replace(
    "    - notify: {users: [bob@example.com]}",
    "    - notify: {users: [carol@example.com, bob@example.com, dave@example.com], team: backend}",
)
OBSERVER = "    - {user: bob@example.com}\n    - {user: dave@example.com, role: observer}"


def wide(runtime: Runtime, root: Path, scenario: str = SCENARIO) -> None:
    apply(runtime, root, scenario.replace("    - {user: bob@example.com}", OBSERVER))
    (root / "paging.yaml").write_text(WIDE_PAGING)
    (root / "team.yaml").write_text(TEAM)
    (root / "dave.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: User\nmetadata: {name: dave}\n"
        "spec: {email: dave@example.com, name: dave, contacts: [{type: email, address: dave@example.com}]}\n"
    )
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=Actor(name="test", source="config"))


def run_to_page(runtime: Runtime, clock: FixedClock) -> tuple[str, AlertGroup]:
    with runtime.sessions.begin() as s:
        drill_id = drills.create(s, runtime, scenario="checkout", actor=GM, now=runtime.now()).id
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        (group,) = s.scalars(select(AlertGroup))
        s.expunge(group)
    return drill_id, group


def test_only_the_drills_responders_are_paged_whatever_the_route_names(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    wide(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    drill_id, _ = run_to_page(runtime, clock)
    clock.advance(minutes=6)  # the second round of the one-step policy: still nobody else
    Worker(runtime).run_until_idle()
    sent = sorted({target for fake in fakes.values() for target, _ in fake.sent})
    assert sent == ["bob@example.com"]
    with runtime.sessions() as s:
        skipped = {
            (n.user_email, n.channel, n.last_error)
            for n in s.scalars(select(Notification).where(Notification.status == "skipped"))
        }
    reason = f"not a participant of drill {drill_id}"
    assert skipped == {
        ("carol@example.com", "none", reason),
        ("dave@example.com", "none", reason),  # an observer watches, is not paged
        (None, "team", reason),  # the team's address reaches people outside the drill
    }


def test_a_real_alert_on_the_same_policy_still_pages_everyone_it_names(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    wide(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    body = am_payload({"labels": {"alertname": "Real", "service": "checkout"}})

    with runtime.sessions.begin() as s:
        alerts.accept(
            s,
            integration="drills",
            source="alertmanager",
            body=json.dumps(body).encode(),
            content_type="application/json",
            now=runtime.now(),
        )
    Worker(runtime).run_until_idle()
    sent = {target for fake in fakes.values() for target, _ in fake.sent}
    assert {"carol@example.com", "bob@example.com", "dave@example.com", "backend@example.com"} <= sent


def test_a_drill_incident_says_drill_and_refuses_customer_facing_updates(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    _, group = run_to_page(runtime, clock)
    with runtime.sessions.begin() as s:
        incident = response.declare(
            s, runtime, title="checkout down", severity="SEV2", group_id=group.id, actor=BOB, now=runtime.now()
        )
        ref = incident.id
        assert incident.title == "[DRILL] checkout down"
        response.post_update(s, runtime, ref=ref, text="looking at the deploy", actor=BOB, now=runtime.now())
    with runtime.sessions() as s:
        before = s.scalar(select(func.count()).select_from(IncidentEntry))
    with runtime.sessions.begin() as s, pytest.raises(Conflict, match="no customer-facing"):
        response.post_update(
            s,
            runtime,
            ref=ref,
            text="we are down",
            status="identified",
            actor=BOB,
            now=runtime.now(),
            audience="external",
        )
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IncidentEntry)) == before  # nothing half-written
        stored = s.get(Incident, ref)
        assert stored is not None and stored.status == "investigating"
        updates = [e.text for e in s.scalars(select(IncidentEntry).where(IncidentEntry.kind == "update"))]
    assert updates == ["[DRILL] looking at the deploy"]


def test_a_real_incident_posts_external_updates_as_before(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        ref = response.declare(s, runtime, title="db", severity="SEV3", actor=BOB, now=runtime.now()).id
        response.post_update(
            s, runtime, ref=ref, text="we are on it", actor=BOB, now=runtime.now(), audience="external"
        )
    with runtime.sessions() as s:
        (entry,) = s.scalars(select(IncidentEntry).where(IncidentEntry.kind == "update"))
        assert (entry.text, entry.audience) == ("we are on it", "external")


@pytest.mark.parametrize("allowed", [False, True])
def test_a_drill_files_a_ticket_only_when_its_scenario_says_so(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path, allowed: bool
) -> None:
    twin = InMemoryTracker("jira")
    runtime = make_runtime(states=[Trackers({"jira": twin})])
    scenario = SCENARIO.replace("  schedule: {duration: 1h}", "  schedule: {duration: 1h}\n  fileTickets: true")
    apply(runtime, tmp_path / "c", scenario if allowed else SCENARIO)
    _, group = run_to_page(runtime, clock)
    with runtime.sessions.begin() as s:
        ref = response.declare(
            s, runtime, title="checkout", severity="SEV2", group_id=group.id, actor=BOB, now=runtime.now()
        ).id
        item_id = response.add_action_item(
            s, ref=ref, title="add a canary", owner=None, due_at=None, now=runtime.now()
        ).id
    with runtime.sessions.begin() as s:
        if not allowed:
            with pytest.raises(Conflict, match="file no real tickets"):
                actions.file_item(
                    s, runtime, item_id=item_id, tracker_name="jira", target="OPS", actor=BOB, now=runtime.now()
                )
        else:
            actions.file_item(
                s, runtime, item_id=item_id, tracker_name="jira", target="OPS", actor=BOB, now=runtime.now()
            )
    Worker(runtime).run_until_idle()
    assert [r.title for _, r, _ in twin.filed] == (["[DRILL] add a canary"] if allowed else [])


def test_updates_posted_without_a_status_change_keep_the_drills_cadence(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    scenario = SCENARIO.replace(
        "    - {id: kill,",
        "    - {id: updates, after: page, statusUpdates: {firstWithin: 10m, cadence: 15m}}\n    - {id: kill,",
    )
    apply(runtime, tmp_path / "c", scenario)
    drill_id, group = run_to_page(runtime, clock)
    with runtime.sessions.begin() as s:
        ref = response.declare(
            s, runtime, title="checkout", severity="SEV2", group_id=group.id, actor=BOB, now=runtime.now()
        ).id
    for minutes in (5, 12, 12):  # updates at +5m, +17m, +29m, none of which changes the status
        clock.advance(minutes=minutes)
        with runtime.sessions.begin() as s:
            response.post_update(s, runtime, ref=ref, text="still looking", actor=BOB, now=runtime.now())
    clock.advance(minutes=10)
    Worker(runtime).run_until_idle()
    with runtime.sessions.begin() as s:
        result = reports.score(s, drill_id=drill_id, now=runtime.now())
    got = next(o for o in result.outcomes if o.expectation == "updates")
    assert (got.outcome, got.points) == ("met", 1.0)
    assert [e.kind for e in got.evidence] == ["update_posted"] * 3 and got.credited == ("bob@example.com",)
