"""Postmortem editor (CSRF, export), escalation policy pages, schedule week calendar, maintenance windows API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.audit import Actor
from mamori.core.models import AuditEntry
from mamori.core.runtime import Runtime
from mamori.incidents.response import service as response
from tests.incidents.fakes import apply_config
from tests.web.conftest import Login, csrf_of
from tests.web.conftest import login as login  # noqa: PLC0414  (the fixture, re-exported for pytest)


def declare(runtime: Runtime) -> str:
    with runtime.sessions.begin() as s:
        return response.declare(
            s,
            runtime,
            title="Search empty",
            severity="SEV2",
            service="jobs-web",
            actor=Actor("t", "api"),
            now=runtime.now(),
        ).id


def test_postmortem_editor_saves_with_csrf_and_exports_markdown(
    runtime: Runtime, client: TestClient, login: Login
) -> None:
    ref = declare(runtime)
    csrf = login(email="ed@example.com", role="editor")
    page = client.get(f"/incidents/{ref}/postmortem")
    assert page.status_code == 200 and "<textarea" in page.text and "Postmortem: #1 Search empty" in page.text
    assert csrf_of(page.text) == csrf
    assert client.get(f"/incidents/{ref}/postmortem.md").status_code == 404, "nothing saved yet"
    text = "# Postmortem\n\n## Summary\n\nThe index <swap> & rollback.\n"
    no_csrf = client.post(f"/incidents/{ref}/postmortem", data={"body": text, "status": "draft"})
    assert no_csrf.status_code == 403
    saved = client.post(
        f"/incidents/{ref}/postmortem",
        data={"csrf_token": csrf, "body": text.replace("\n", "\r\n"), "status": "in_review"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = client.get(f"/incidents/{ref}/postmortem").text
    assert "The index &lt;swap&gt; &amp; rollback." in shown and '<option value="in_review" selected>' in shown
    exported = client.get(f"/incidents/{ref}/postmortem.md")
    assert exported.status_code == 200 and exported.text == text
    assert exported.headers["content-type"].startswith("text/markdown")
    assert 'filename="postmortem-1.md"' in exported.headers["content-disposition"]
    empty = client.post(f"/incidents/{ref}/postmortem", data={"csrf_token": csrf, "body": "  ", "status": "draft"})
    assert empty.status_code == 422 and "postmortem is empty" in empty.text
    assert client.get(f"/incidents/{ref}/postmortem.md").text == text, "a refused save changes nothing"
    with runtime.sessions() as s:
        edits = s.scalars(select(AuditEntry).where(AuditEntry.object_type == "Postmortem")).all()
        assert [(e.action, e.actor) for e in edits] == [("edit", "ed@example.com")]


def test_oncall_page_offers_a_logged_in_user_their_personal_ical_feed(
    runtime: Runtime, client: TestClient, login: Login, tmp_path: Path
) -> None:
    from mamori.incidents.oncall import ical

    apply_config(runtime, tmp_path / "c")
    login(email="viewer@example.com", role="viewer")
    page = client.get("/oncall").text
    start = page.index("/hooks/oncall/ical/")
    feed = client.get(page[start : page.index('"', start)])
    assert feed.status_code == 200 and ical.parse_events(feed.text) == [], "viewer@ is on no schedule"
    assert "X-WR-CALNAME:On call: viewer@example.com" in feed.text


def test_postmortem_api_put_replaces_markdown(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    ref = declare(runtime)
    put = client.put(f"/api/v1/incidents/{ref}/postmortem", json={"markdown": "# PM\n"}, headers=auth_headers)
    assert put.status_code == 200 and put.json()["status"] == "draft"
    bad = client.put(
        f"/api/v1/incidents/{ref}/postmortem", json={"markdown": "x", "status": "done"}, headers=auth_headers
    )
    assert bad.status_code == 422 and "draft, in_review, published" in bad.text
    assert client.get(f"/api/v1/incidents/{ref}/postmortem", headers=auth_headers).json()["markdown"] == "# PM\n"


def test_escalation_policy_pages_show_steps_and_the_routes_using_them(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    listing = client.get("/escalation-policies", headers=auth_headers)
    assert listing.status_code == 200 and 'href="/escalation-policies/backend"' in listing.text
    assert "production route 0, production route 1, production default" in listing.text
    detail = client.get("/escalation-policies/backend", headers=auth_headers)
    assert "Notify on call in schedule backend-primary; escalate after 5m" in detail.text
    assert "Notify carol@example.com; escalate after 10m" in detail.text and "1 more time." in detail.text
    assert client.get("/escalation-policies/nope", headers=auth_headers).status_code == 404


def test_schedule_calendar_shows_a_week_grid_with_overrides_highlighted(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    page = client.get("/oncall/schedules/backend-primary?week=2026-03-25", headers=auth_headers)
    assert page.status_code == 200 and "Week of 2026-03-23" in page.text and "Europe/Berlin" in page.text
    # frank's override from Sat 20:00 local runs past the end of this week (Sun 24:00): 4 + 24 hourly cells
    assert page.text.count('<td class="override"') == 28
    assert page.text.count("frank</td>") == 28
    assert "dave</td>" in page.text and "erin</td>" in page.text
    assert "?week=2026-03-30" in page.text and "/hooks/oncall/ical/" in page.text
    after = client.get("/oncall/schedules/backend-primary?week=2026-03-30", headers=auth_headers).text
    assert after.count('<td class="override"') == 9, "until Monday 09:00 local (CEST now)"
    assert "2026-03-30 07:00 UTC" in after
    assert client.get("/oncall/schedules/backend-primary?week=monday", headers=auth_headers).status_code == 400
    assert client.get("/oncall", headers=auth_headers).text.count('href="/oncall/schedules/backend-primary"') == 1


def test_maintenance_windows_are_created_listed_and_deleted_with_audit(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    made = client.post(
        "/api/v1/maintenance-windows",
        json={"services": ["jobs-api", " jobs-api"], "ends_at": "2026-11-28T14:00:00Z", "reason": "DB upgrade"},
        headers=auth_headers,
    )
    assert made.status_code == 201 and made.json()["services"] == ["jobs-api"]
    window_id = made.json()["id"]
    listed = client.get("/api/v1/maintenance-windows", headers=auth_headers).json()
    assert [w["id"] for w in listed] == [window_id] and listed[0]["reason"] == "DB upgrade"
    backwards = client.post(
        "/api/v1/maintenance-windows",
        json={"services": ["jobs-api"], "starts_at": "2026-11-28T15:00:00Z", "ends_at": "2026-11-28T14:00:00Z"},
        headers=auth_headers,
    )
    assert backwards.status_code == 422 and "end after it starts" in backwards.text
    none = client.post(
        "/api/v1/maintenance-windows", json={"services": [], "ends_at": "2026-11-29T00:00:00Z"}, headers=auth_headers
    )
    assert none.status_code == 422 and "at least one service" in none.text
    assert client.delete(f"/api/v1/maintenance-windows/{window_id}", headers=auth_headers).status_code == 204
    assert client.delete(f"/api/v1/maintenance-windows/{window_id}", headers=auth_headers).status_code == 404
    assert client.get("/api/v1/maintenance-windows", headers=auth_headers).json() == []
    with runtime.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.object_type == "MaintenanceWindow"))]
    assert sorted(actions) == ["create", "delete"]
