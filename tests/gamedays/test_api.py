"""The gamedays API: a drill run over HTTP from start to report, with clear errors and nothing half-stored."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.gamedays.models import DrillEntry
from tests.conftest import issue_token
from tests.gamedays.support import SCENARIO, apply

API = "/api/v1/gamedays"


def journal(start: str = "2026-11-28T12:02:00") -> dict[str, object]:
    """A Chaos Toolkit journal as `chaos run` writes it (times in UTC without an offset)."""
    activity = {"name": "kill-checkout-pod", "type": "action", "provider": {"type": "process", "path": "true"}}
    return {
        "chaoslib-version": "1.44.0",
        "experiment": {"title": "Checkout survives a pod loss", "method": [activity]},
        "start": start,
        "end": "2026-11-28T12:03:30",
        "status": "completed",
        "deviated": True,
        "steady_states": {"before": {"steady_state_met": True}, "after": {"steady_state_met": False}},
        "run": [
            {"activity": activity, "status": "succeeded", "start": "2026-11-28T12:02:05", "end": "2026-11-28T12:02:06"}
        ],
        "rollbacks": [],
    }


def test_a_drill_over_http_from_start_to_report(
    client: TestClient, runtime: Runtime, clock: FixedClock, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    assert [s["name"] for s in client.get(f"{API}/scenarios", headers=auth_headers).json()] == ["checkout"]
    created = client.post(f"{API}/drills", json={"scenario": "checkout"}, headers=auth_headers)
    assert created.status_code == 201, created.text
    drill = created.json()
    assert drill["status"] == "running" and [i["status"] for i in drill["injects"]] == ["pending"] * 3
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    (group,) = client.get("/api/v1/alert-groups", headers=auth_headers).json()
    bob = {"Authorization": f"Bearer {issue_token(runtime, 'write', email='bob@example.com')}"}
    clock.advance(minutes=2)
    assert client.post(f"/api/v1/alert-groups/{group['id']}/acknowledge", headers=bob).status_code == 200
    revealed = client.post(f"{API}/drills/{drill['id']}/injects/hint/reveal", headers=auth_headers)
    assert revealed.status_code == 200
    assert {i["inject_id"]: i["status"] for i in revealed.json()["injects"]}["hint"] == "fired"
    recorded = client.post(
        f"{API}/drills/{drill['id']}/record", json={"kind": "flag_changed", "name": "checkout-v2"}, headers=bob
    )
    assert recorded.status_code == 201 and recorded.json()["actor"] == "bob@example.com"
    stranger = {"kind": "action", "name": "rotate", "by": "mallory@example.com"}
    refused = client.post(f"{API}/drills/{drill['id']}/record", json=stranger, headers=bob)
    assert refused.status_code == 422 and "not a participant" in refused.text
    for_bob = {"kind": "note", "name": "bob looked at the deploy log", "by": "bob@example.com"}
    assert client.post(f"{API}/drills/{drill['id']}/record", json=for_bob, headers=auth_headers).json()["actor"] == (
        "bob@example.com"
    )
    Worker(runtime).run_until_idle()

    score = client.post(f"{API}/drills/{drill['id']}/score", headers=auth_headers).json()
    outcomes = {o["id"]: o["outcome"] for o in score["expectations"]}
    assert outcomes == {"ack": "met", "declare": "pending", "ic": "pending", "kill": "met"}
    assert score["time_to_acknowledge_seconds"] == 120.0

    report = client.get(f"{API}/drills/{drill['id']}/report", headers=auth_headers).json()
    assert [e["kind"] for e in report["timeline"]][:3] == ["started", "inject_fired", "alert_opened"]
    markdown = client.get(f"/gamedays/drills/{drill['id']}/report.md", headers=auth_headers)
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert "| ack (acknowledge) | met | 2m00s | 1/1 |" in markdown.text

    put = client.put(
        f"{API}/drills/{drill['id']}/debrief",
        json={"notes": "good ack", "action_items": ["add runbook link"], "version": revealed.json()["version"]},
        headers=auth_headers,
    )
    assert put.status_code == 200, put.text
    stale = client.put(f"{API}/drills/{drill['id']}/debrief", json={"notes": "x", "version": 1}, headers=auth_headers)
    assert stale.status_code == 409 and "changed since it was read" in stale.text

    assert client.post(f"{API}/drills/{drill['id']}/abort", json={"reason": ""}, headers=bob).status_code == 422
    aborted = client.post(f"{API}/drills/{drill['id']}/abort", json={"reason": "real outage"}, headers=bob)
    assert aborted.status_code == 200 and aborted.json()["status"] == "aborted"
    assert client.post(f"{API}/drills/{drill['id']}/abort", json={"reason": "again"}, headers=bob).status_code == 409
    Worker(runtime).run_until_idle()
    assert [g["status"] for g in client.get("/api/v1/alert-groups", headers=auth_headers).json()] == ["resolved"]
    trends = client.get(f"{API}/trends", headers=auth_headers).json()
    assert [t["drill_id"] for t in trends["drills"]] == [drill["id"]]
    # alice runs the drill (game master): only responders are asked to practise the roles
    assert trends["never_practised"] == {"bob@example.com": ["commander", "communications", "scribe"]}


def test_a_chaos_journal_joins_the_timeline_once_and_a_bad_one_stores_nothing(
    client: TestClient, runtime: Runtime, clock: FixedClock, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = client.post(f"{API}/drills", json={"scenario": "checkout"}, headers=auth_headers).json()["id"]
    body = json.dumps(journal())
    first = client.post(f"{API}/drills/{drill_id}/chaos-journal", content=body, headers=auth_headers)
    assert first.status_code == 200 and first.json() == {"added": 5}
    again = client.post(f"{API}/drills/{drill_id}/chaos-journal", content=body, headers=auth_headers)
    assert again.json() == {"added": 0}
    timeline = client.get(f"{API}/drills/{drill_id}/timeline", headers=auth_headers).json()
    chaos = [e["text"] for e in timeline if e["kind"] == "chaos_activity"]
    assert chaos == [
        "chaos experiment started: Checkout survives a pod loss",
        "steady state before the method: met",
        "run action kill-checkout-pod: succeeded",
        "steady state after the method: not met",
        "chaos experiment completed (steady state deviated): Checkout survives a pod loss",
    ]
    broken = journal()
    broken["run"] = [{"activity": {"name": "x"}, "status": "succeeded", "start": "yesterday"}]
    bad = client.post(f"{API}/drills/{drill_id}/chaos-journal", content=json.dumps(broken), headers=auth_headers)
    assert bad.status_code == 400 and "run[0].start" in bad.text
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DrillEntry).where(DrillEntry.kind == "chaos_activity")) == 5


def test_errors_say_what_is_wrong(
    client: TestClient, runtime: Runtime, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    missing = client.post(f"{API}/drills", json={"scenario": "nope"}, headers=auth_headers)
    assert missing.status_code == 404 and "no GameDay scenario 'nope'" in missing.text
    naive = client.post(
        f"{API}/drills", json={"scenario": "checkout", "start_at": "2026-12-01T10:00:00"}, headers=auth_headers
    )
    assert naive.status_code == 400 and "offset" in naive.text
    later = (runtime.now() + timedelta(days=1)).isoformat()
    scheduled = client.post(
        f"{API}/drills", json={"scenario": "checkout", "start_at": later}, headers=auth_headers
    ).json()
    assert scheduled["status"] == "scheduled" and scheduled["injects"] == []
    reveal = client.post(f"{API}/drills/{scheduled['id']}/injects/hint/reveal", headers=auth_headers)
    assert reveal.status_code == 409 and "only a running drill" in reveal.text
    assert client.get(f"{API}/drills/none", headers=auth_headers).status_code == 404
    apply(runtime, tmp_path / "c", SCENARIO.replace("integration: drills", "integration: nowhere", 1))
    unknown = client.post(f"{API}/drills", json={"scenario": "checkout", "now": True}, headers=auth_headers)
    assert unknown.status_code == 422 and "spec.injects[0].alert.integration" in unknown.text
    assert "no Integration 'nowhere' is applied" in unknown.text
    assert (
        client.post(f"{API}/drills/{scheduled['id']}/abort", json={"reason": "moved"}, headers=auth_headers).json()[
            "status"
        ]
        == "aborted"
    )


def test_a_drill_is_scored_again_against_the_scenario_as_changed_since(
    client: TestClient, runtime: Runtime, clock: FixedClock, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = client.post(f"{API}/drills", json={"scenario": "checkout"}, headers=auth_headers).json()["id"]
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    (group,) = client.get("/api/v1/alert-groups", headers=auth_headers).json()
    clock.advance(minutes=7)  # 7 minutes after the page: late for "within 5m"
    assert client.post(f"/api/v1/alert-groups/{group['id']}/acknowledge", headers=auth_headers).status_code == 200
    Worker(runtime).run_until_idle()
    first = client.post(f"{API}/drills/{drill_id}/score", headers=auth_headers).json()
    assert {o["id"]: o["outcome"] for o in first["expectations"]}["ack"] == "late"
    apply(runtime, tmp_path / "c", SCENARIO.replace("acknowledge: {within: 5m}", "acknowledge: {within: 10m}"))
    recorded = client.post(f"{API}/drills/{drill_id}/score", headers=auth_headers).json()
    assert {o["id"]: o["outcome"] for o in recorded["expectations"]}["ack"] == "late"  # judged as it was run
    current = client.post(f"{API}/drills/{drill_id}/score?scenario=current", headers=auth_headers).json()
    assert {o["id"]: o["outcome"] for o in current["expectations"]}["ack"] == "met"
