"""Dashboard pages: catalog with every domain's slots and nav, timeline, audit log and admin."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from mamori.core import auth, jobs, timeline
from mamori.core.clock import FixedClock
from mamori.core.models import Job, Service, Team, TeamMembership
from mamori.core.runtime import CatalogSlot, NavEntry, Plugin, Runtime
from mamori.core.worker import Worker
from tests.web.conftest import Login, create_user


def _org(runtime: Runtime) -> None:
    create_user(runtime, "bo@example.com", role="responder")
    with runtime.sessions.begin() as session:
        team = Team(name="backend", display_name="Backend", created_at=runtime.now())
        session.add(team)
        session.flush()
        team.memberships.append(TeamMembership(user_id=auth.get_user(session, "bo@example.com").id, role="editor"))
        session.add_all(
            [
                Service(
                    name="jobs-api",
                    owner_team_id=team.id,
                    tier=1,
                    repository="github.com/jobly/api",
                    links=[{"title": "Runbook", "url": "https://wiki.example/api"}],
                    created_at=runtime.now(),
                ),
                Service(name="jobs-web", tier=2, links=[], created_at=runtime.now()),
            ]
        )
        for minutes, kind, service in [(0, "deploy", "jobs-api"), (5, "alert", "jobs-api"), (9, "deploy", "jobs-web")]:
            timeline.record(
                session,
                at=runtime.now() + timedelta(minutes=minutes),
                kind=kind,
                source="test",
                title=f"{kind} of {service}",
                service=service,
                team="backend",
            )


def _rows(html: str, css_class: str) -> int:
    return len(re.findall(rf'<tr class="{css_class}', html))


def test_catalog_shows_owner_tier_repository_links_and_every_plugins_slots(
    client: TestClient,
    runtime: Runtime,
    login: Login,
) -> None:
    _org(runtime)
    runtime.install(
        Plugin(
            name="fake",
            nav=[NavEntry("Fake things", "/fake", 50)],
            slots=[
                CatalogSlot("oncall", "On call now", render=lambda _s, names, _now: {n: f"pager-{n}" for n in names})
            ],
        )
    )
    login()
    page = client.get("/services").text
    assert '<th data-slot="oncall">On call now</th>' in page
    assert "pager-jobs-api" in page and "pager-jobs-web" in page
    assert "github.com/jobly/api" in page and 'href="https://wiki.example/api"' in page
    assert page.index("jobs-api") < page.index("jobs-web")  # tier 1 first
    assert "T1" in page and ">backend<" in page
    for title, path in [
        ("Services", "/services"),
        ("Timeline", "/timeline"),
        ("Audit log", "/audit"),
        ("Admin", "/admin"),
        ("Fake things", "/fake"),
    ]:
        assert f'href="{path}"' in page and title in page


def test_service_page_shows_its_recent_timeline(client: TestClient, runtime: Runtime, login: Login) -> None:
    _org(runtime)
    login()
    page = client.get("/services/jobs-api").text
    assert "Runbook" in page
    assert "alert of jobs-api" in page and "deploy of jobs-api" in page
    assert "jobs-web" not in page.split("Recent timeline")[1]
    missing = client.get("/services/ghost")
    assert missing.status_code == 404
    assert "no service" in missing.text


def test_timeline_page_filters_and_htmx_gets_only_the_list(client: TestClient, runtime: Runtime, login: Login) -> None:
    _org(runtime)
    login()
    full = client.get("/timeline")
    assert _rows(full.text, "event") == 3
    assert 'hx-get="/timeline"' in full.text and "/static/htmx.min.js" in full.text
    filtered = client.get("/timeline?service=jobs-api&kind=deploy&since=&until=")
    assert _rows(filtered.text, "event") == 1 and "deploy of jobs-api" in filtered.text
    windowed = client.get("/timeline?since=2026-11-28T12:04&until=2026-11-28T12:09")
    assert _rows(windowed.text, "event") == 1 and "alert of jobs-api" in windowed.text
    partial = client.get("/timeline?kind=alert", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="timeline-rows">')
    assert "<html" not in partial.text and _rows(partial.text, "event") == 1
    bad = client.get("/timeline?since=last-tuesday")
    assert bad.status_code == 200 and "since: &#39;last-tuesday&#39; is not a date and time" in bad.text


def test_admin_creates_a_user_with_a_role_audited_as_ui(client: TestClient, runtime: Runtime, login: Login) -> None:
    csrf = login()
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "email": "cy@example.com",
            "name": "Cy",
            "role": "responder",
            "password": "a-long-password",
        },
    )
    assert response.status_code == 200 and "User created." in response.text
    assert "cy@example.com" in response.text
    audit_page = client.get("/audit?object_type=User&source=ui").text
    assert _rows(audit_page, "entry") == 1
    assert "ada@example.com" in audit_page and "cy@example.com" in audit_page
    assert "responder" in audit_page  # the after side of the diff
    again = client.post("/admin/users", data={"csrf_token": csrf, "email": "cy@example.com", "name": "Cy"})
    assert again.status_code == 409 and "exists already" in again.text
    bad_zone = client.post(
        "/admin/users", data={"csrf_token": csrf, "email": "d@example.com", "name": "D", "time_zone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422 and "unknown IANA time zone" in bad_zone.text


def test_admin_lists_teams_with_members_and_roles(client: TestClient, runtime: Runtime, login: Login) -> None:
    _org(runtime)
    login()
    page = client.get("/admin").text
    teams = page.split('id="teams"')[1].split("</section>")[0]
    assert "backend" in teams and "Bo" in teams and "editor" in teams


def test_admin_token_is_shown_once_then_listed_and_revocable(client: TestClient, login: Login) -> None:
    csrf = login()
    created = client.post(
        "/admin/tokens",
        data={"csrf_token": csrf, "name": "ci-deploys", "scopes": ["read", "ingest"], "expires_in_days": "7"},
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    secret = re.search(r'<pre class="secret" id="token-secret">([^<]+)</pre>', created.text)
    assert secret
    token = secret.group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/timeline", headers=headers).status_code == 200
    admin = client.get("/admin").text
    assert "ci-deploys" in admin and token not in admin and "2026-12-05 12:00 UTC" in admin
    token_id = re.search(r'action="/admin/tokens/([^/]+)/revoke"', admin)
    assert token_id
    revoked = client.post(f"/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 200 and "Token revoked." in revoked.text
    assert client.get("/api/v1/timeline", headers=headers).status_code == 401
    assert "source-ui" in client.get("/audit?object_type=ApiToken").text


def test_admin_token_form_rejects_bad_input(client: TestClient, login: Login) -> None:
    csrf = login()
    no_scope = client.post("/admin/tokens", data={"csrf_token": csrf, "name": "x"})
    assert no_scope.status_code == 422 and "scope" in no_scope.text
    bad_expiry = client.post("/admin/tokens", data={"csrf_token": csrf, "scopes": ["read"], "expires_in_days": "-3"})
    assert bad_expiry.status_code == 422 and "between 1 and 3650" in bad_expiry.text


def test_admin_pages_need_the_admin_role(client: TestClient, login: Login) -> None:
    csrf = login("viewer@example.com", role="viewer")
    assert client.get("/services").status_code == 200
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/jobs").status_code == 403
    refused = client.post("/admin/tokens", data={"csrf_token": csrf, "scopes": ["admin"]})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    page = client.get("/admin", headers={"accept": "text/html"})
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "lacks the &#39;admin&#39; permission" in page.text


def test_jobs_page_shows_failed_and_stuck_jobs_and_retries(
    client: TestClient,
    runtime: Runtime,
    clock: FixedClock,
    login: Login,
) -> None:
    with runtime.sessions.begin() as session:
        failing = jobs.enqueue(session, kind="test.no_such_handler", now=clock.now()).id
    Worker(runtime).run_until_idle()
    with runtime.sessions.begin() as session:
        stuck = jobs.enqueue(session, kind="test.waiting", now=clock.now() - timedelta(minutes=20)).id
    csrf = login()
    page = client.get("/admin/jobs").text
    failed_section = page.split('id="failed"')[1].split("</section>")[0]
    stuck_section = page.split('id="stuck"')[1].split("</section>")[0]
    assert "test.no_such_handler" in failed_section and "no handler registered" in failed_section
    assert f'action="/admin/jobs/{failing}/retry"' in failed_section
    assert "test.waiting" in stuck_section and f"<td>{stuck}</td>" in stuck_section
    retried = client.post(f"/admin/jobs/{failing}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 200 and "Job put back in the queue." in retried.text
    with runtime.sessions() as session:
        job = session.get(Job, failing)
        assert job is not None and job.status == "queued"
    assert client.post(f"/admin/jobs/{failing}/retry", data={"csrf_token": csrf}).status_code == 404
    entries = client.get("/api/v1/audit?object_type=Job", headers={"X-CSRF-Token": csrf}).json()
    assert [(e["action"], e["source"], e["object_id"]) for e in entries] == [("retry", "ui", str(failing))]


def test_a_stored_javascript_link_is_never_rendered_as_a_link(
    client: TestClient, runtime: Runtime, login: Login
) -> None:
    with runtime.sessions.begin() as session:
        session.add(
            Service(
                name="evil",
                tier=3,
                repository="https://github.com/jobly/evil",
                links=[
                    {"title": "Runbook", "url": "javascript:fetch('/api/v1/tokens',{method:'POST'})"},
                    {"title": "Tab", "url": "java\tscript:alert(1)"},
                    {"title": "Wiki", "url": "https://wiki.example/evil"},
                ],
                created_at=runtime.now(),
            )
        )
    login()
    for page in (client.get("/services").text, client.get("/services/evil").text):
        assert "javascript:" not in page and "script:alert" not in page
        assert 'href="#unsafe-link"' in page and 'href="https://wiki.example/evil"' in page


def test_a_service_link_that_is_not_http_is_refused_at_validate(runtime: Runtime, tmp_path: object) -> None:
    from pathlib import Path

    import pytest

    from mamori.core import manifest
    from mamori.core.errors import ValidationFailed

    root = Path(str(tmp_path))
    (root / "svc.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: Service\nmetadata: {name: evil}\n"
        "spec: {links: [{title: Runbook, url: 'javascript:alert(1)'}]}\n"
    )
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(root, runtime.kinds)
    rendered = [p.render() for p in exc.value.problems]
    assert any("spec.links[0].url" in r and "http(s) URL" in r for r in rendered), rendered
