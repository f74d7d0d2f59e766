"""On-call load per person (pages per week, out of hours in their time zone) and incident trends."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.incidents.response import metrics
from mamori.incidents.response import service as response
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import fire, step


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_out_of_hours_is_judged_in_the_persons_own_time_zone_across_dst() -> None:
    ny = "America/New_York"
    assert not metrics.out_of_hours(z("2026-11-24T14:00:00Z"), ny)  # Tue 09:00 EST
    assert metrics.out_of_hours(z("2026-11-24T13:59:00Z"), ny)  # Tue 08:59 EST
    assert not metrics.out_of_hours(z("2026-07-07T13:00:00Z"), ny)  # Tue 09:00 EDT
    assert metrics.out_of_hours(z("2026-07-07T12:59:00Z"), ny)
    assert metrics.out_of_hours(z("2026-07-07T22:00:00Z"), ny)  # 18:00 EDT: evening
    assert metrics.out_of_hours(z("2026-11-28T15:00:00Z"), ny)  # Saturday
    assert not metrics.out_of_hours(z("2026-11-24T13:59:00Z"), "Europe/Berlin")  # 14:59 in Berlin


def test_load_counts_pages_per_week_and_out_of_hours_busiest_first() -> None:
    since, until = z("2026-11-14T00:00:00Z"), z("2026-11-28T00:00:00Z")  # two weeks
    pages = [
        ("a@x.io", z("2026-11-16T10:00:00Z")),  # Mon in hours (UTC)
        ("a@x.io", z("2026-11-22T03:00:00Z")),  # Sunday night
        ("a@x.io", z("2026-11-24T23:00:00Z")),  # Tue evening
        ("b@x.io", z("2026-11-24T23:00:00Z")),  # Wed 08:00 in Tokyo: still before 09:00
        ("b@x.io", z("2026-11-29T01:00:00Z")),  # outside the window
    ]
    a, b = metrics.load(pages, {"b@x.io": "Asia/Tokyo"}, since=since, until=until)
    assert (a.user, a.pages, a.pages_per_week, a.out_of_hours, a.time_zone) == ("a@x.io", 3, 1.5, 2, "UTC")
    assert a.by_week == {"2026-11-16": 2, "2026-11-23": 1}
    assert (b.user, b.pages, b.out_of_hours, b.time_zone) == ("b@x.io", 1, 1, "Asia/Tokyo")


def test_health_api_and_page_show_load_and_incident_trends(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    fire(runtime)  # Saturday 12:00Z: bob is paged by email and webhook — one page
    step(runtime, clock, minutes=5)  # carol
    with runtime.sessions.begin() as s:
        for title, severity, svc in [("a", "SEV1", "jobs-web"), ("b", "SEV3", "jobs-web"), ("c", "SEV3", None)]:
            response.declare(
                s, runtime, title=title, severity=severity, service=svc, actor=Actor("t", "api"), now=runtime.now()
            )
        response.declare(
            s, runtime, title="old", severity="SEV2", actor=Actor("t", "api"), now=runtime.now() - timedelta(days=8)
        )
    clock.advance(minutes=1)  # windows end now, exclusive
    load = client.get("/api/v1/metrics/oncall?days=7", headers=auth_headers).json()
    people = {p["user"]: p for p in load["people"]}
    assert set(people) == {"bob@example.com", "carol@example.com"}
    assert people["bob@example.com"]["pages"] == 1 and people["bob@example.com"]["out_of_hours"] == 1
    assert people["bob@example.com"]["pages_per_week"] == 1.0
    trends = client.get("/api/v1/metrics/incidents?days=14", headers=auth_headers).json()
    assert trends["incidents"] == 4 and trends["alert_groups"] == 1
    weeks = {w["week"]: w for w in trends["trends"]["weeks"]}
    assert weeks["2026-11-23"]["by_severity"] == {"SEV1": 1, "SEV3": 2}
    assert weeks["2026-11-23"]["by_service"] == {"(none)": 1, "jobs-web": 2}
    assert weeks["2026-11-16"]["total"] == 1
    assert trends["trends"]["by_severity"] == {"SEV1": 1, "SEV2": 1, "SEV3": 2}
    page = client.get("/oncall/health", headers=auth_headers)
    assert page.status_code == 200 and "bob@example.com" in page.text and "SEV1: 1" in page.text
    assert client.get("/api/v1/metrics/oncall?days=0", headers=auth_headers).status_code == 422
