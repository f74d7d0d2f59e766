"""The incident console in the dashboard: the alert page and its actions, and running an incident from forms."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.models import AuditEntry
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import service
from mamori.incidents.models import AlertGroup, Incident, IncidentEntry, Silence
from tests.incidents.fakes import am_payload, apply_config, install_fakes
from tests.web.conftest import PASSWORD, create_user, csrf_of, post_login

LABELS = {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical"}
ANNOTATIONS = {
    "summary": "jobs-api p99 above 1.5s",
    "runbook_url": "https://runbooks.example.com/high-latency",
    "dashboard": "javascript:alert(1)",
}


def fire_annotated(runtime: Runtime) -> str:
    with runtime.sessions.begin() as s:
        body = am_payload({"labels": LABELS, "annotations": ANNOTATIONS})
        service.accept(
            s,
            integration="prod-am",
            source="alertmanager",
            body=json.dumps(body).encode(),
            content_type="application/json",
            now=runtime.now(),
        )
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        return str(s.scalars(select(AlertGroup.id)).one())


def log_in(client: TestClient, runtime: Runtime, email: str = "ada@example.com") -> str:
    create_user(runtime, email, role="admin")
    assert post_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303
    return csrf_of(client.get("/services").text)


def test_alert_page_shows_labels_annotations_pages_and_only_http_links(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    fakes["webhook"].failures_left = 99  # every webhook page fails; email ones go through
    group_id = fire_annotated(runtime)
    log_in(client, runtime)

    listing = client.get("/alerts")
    assert f'href="/alerts/{group_id}"' in listing.text

    page = client.get(f"/alerts/{group_id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "HighLatency" in html and "jobs-api p99 above 1.5s" in html  # labels and annotations
    assert 'href="https://runbooks.example.com/high-latency"' in html
    assert 'href="javascript:' not in html
    assert 'step 1, round 1 <span class="muted small">(schedule backend-primary)</span>' in html
    assert "delivered" in html and "failed" in html  # the email page went out, the webhook one did not
    assert "hooks.example.com" in html
    assert f'action="/alerts/{group_id}/ack"' in html and f'action="/alerts/{group_id}/declare"' in html
    assert f'action="/alerts/{group_id}/silence"' in html and 'name="csrf_token"' in html


def test_alert_page_forms_ack_then_declare_then_silence(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    group_id = fire_annotated(runtime)
    csrf = log_in(client, runtime)

    acked = client.post(f"/alerts/{group_id}/ack", data={"csrf_token": csrf, "back": "page"}, follow_redirects=False)
    assert acked.status_code == 303 and acked.headers["location"] == f"/alerts/{group_id}"
    page = client.get(f"/alerts/{group_id}").text
    assert "by ada@example.com" in page and f'action="/alerts/{group_id}/ack"' not in page

    declared = client.post(
        f"/alerts/{group_id}/declare",
        data={"csrf_token": csrf, "title": "Slow job search", "severity": "SEV2"},
        follow_redirects=False,
    )
    assert declared.status_code == 303
    with runtime.sessions() as s:
        incident = s.scalars(select(Incident)).one()
        assert incident.group_id == group_id and incident.severity == "SEV2" and incident.title == "Slow job search"
        assert s.get(AlertGroup, group_id).incident_id == incident.id  # type: ignore[union-attr]
    assert declared.headers["location"] == f"/incidents/{incident.id}"
    assert f'href="/incidents/{incident.id}"' in client.get(f"/alerts/{group_id}").text

    silenced = client.post(
        f"/alerts/{group_id}/silence",
        data={"csrf_token": csrf, "matchers": 'alertname="HighLatency"\nservice="jobs-api"', "hours": "4"},
        follow_redirects=False,
    )
    assert silenced.status_code == 303
    with runtime.sessions() as s:
        silence = s.scalars(select(Silence)).one()
        assert silence.matchers == ['alertname="HighLatency"', 'service="jobs-api"']
        assert (silence.ends_at - silence.starts_at).total_seconds() == 4 * 3600
        assert silence.created_by == "ada@example.com"


def test_alert_page_forms_need_the_csrf_token_and_unknown_groups_are_404(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    group_id = fire_annotated(runtime)
    log_in(client, runtime)
    refused = client.post(f"/alerts/{group_id}/declare", data={"title": "x"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/alerts/no-such-group").status_code == 404
    bad = client.post(
        f"/alerts/{group_id}/silence",
        data={"csrf_token": csrf_of(client.get("/services").text), "matchers": "x=1", "hours": "soon"},
    )
    assert bad.status_code == 400
    with runtime.sessions() as s:
        assert s.scalars(select(Incident)).first() is None and s.scalars(select(Silence)).first() is None


def _entries(runtime: Runtime, incident_id: str) -> list[tuple[str, str, str | None]]:
    with runtime.sessions() as s:
        rows = s.scalars(
            select(IncidentEntry).where(IncidentEntry.incident_id == incident_id).order_by(IncidentEntry.id)
        )
        return [(e.kind, e.text, e.audience) for e in rows]


def _audited(runtime: Runtime, action: str) -> bool:
    with runtime.sessions() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action)).first() is not None


def test_incident_is_declared_and_run_from_the_console_forms(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    csrf = log_in(client, runtime)
    listing = client.get("/incidents").text
    assert 'action="/incidents"' in listing
    assert "Critical issue that warrants public notification" in listing  # SEV1's definition beside the picker

    made = client.post(
        "/incidents",
        data={"csrf_token": csrf, "title": "Checkout errors", "severity": "SEV3", "summary": "5xx on pay"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    with runtime.sessions() as s:
        incident = s.scalars(select(Incident)).one()
        ref = incident.id
        assert (incident.title, incident.severity, incident.declared_by) == (
            "Checkout errors",
            "SEV3",
            "ada@example.com",
        )
    assert made.headers["location"] == f"/incidents/{ref}"

    def post(path: str, **data: str) -> None:
        answer = client.post(f"/incidents/{ref}/{path}", data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/incidents/{ref}", answer.text

    post("severity", severity="SEV2")
    post("roles", role="commander", user="alice@example.com")
    post("roles", role="scribe", user="bob@example.com")
    post("roles", role="communications", user="carol@example.com")
    post("roles", role="sme", user="dave@example.com")
    post("updates", text="Payments provider is failing", status="identified", audience="internal")
    post("updates", text="Some payments fail; we are on it", audience="external")
    post("notes", text="provider status page is green")
    post("resolve", text="Provider fixed their TLS")

    with runtime.sessions() as s:
        done = s.get(Incident, ref)
        assert done is not None and done.status == "resolved" and done.severity == "SEV2"
        assert done.roles == {
            "commander": "alice@example.com",
            "scribe": "bob@example.com",
            "communications": "carol@example.com",
            "sme": ["dave@example.com"],
        }
    entries = _entries(runtime, ref)
    assert ("severity", "SEV3 -> SEV2", None) in entries
    assert ("update", "Payments provider is failing", "internal") in entries
    assert ("update", "Some payments fail; we are on it", "external") in entries
    assert ("note", "provider status page is green", None) in entries
    assert ("status", "monitoring -> resolved", None) not in entries and (
        "status",
        "identified -> resolved",
        None,
    ) in entries
    assert _audited(runtime, "declare") and _audited(runtime, "severity") and _audited(runtime, "status")

    page = client.get(f"/incidents/{ref}").text
    assert "Incident Commander: alice@example.com" in page and "Subject-matter expert: dave@example.com" in page
    assert "Customer-facing" in page and "Some payments fail; we are on it" in page
    assert f'href="/incidents/{ref}/postmortem"' in page and f'action="/incidents/{ref}/updates"' not in page


def test_console_forms_refuse_bad_input_without_changing_the_incident(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    csrf = log_in(client, runtime)
    made = client.post(
        "/incidents", data={"csrf_token": csrf, "title": "x", "severity": "SEV3"}, follow_redirects=False
    )
    ref = made.headers["location"].rsplit("/", 1)[1]
    refusals = {
        "severity": {"severity": "SEV9"},
        "roles": {"role": "janitor", "user": "bob@example.com"},
        "updates": {"text": "", "audience": "internal"},
        "notes": {"text": "  "},
    }
    for path, data in refusals.items():
        answer = client.post(f"/incidents/{ref}/{path}", data={"csrf_token": csrf, **data})
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    assert client.post(f"/incidents/{ref}/notes", data={"text": "no token"}).status_code == 403
    unknown = client.post("/incidents", data={"csrf_token": csrf, "title": "y", "severity": "SEV3", "service": "nope"})
    assert unknown.status_code == 400
    assert [kind for kind, _, _ in _entries(runtime, ref)] == ["declared"]


def test_postmortem_editor_previews_the_markdown_live_and_without_script(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    csrf = log_in(client, runtime)
    made = client.post(
        "/incidents",
        data={"csrf_token": csrf, "title": "Checkout errors", "severity": "SEV2", "summary": "5xx"},
        follow_redirects=False,
    )
    ref = made.headers["location"].rsplit("/", 1)[1]
    editor = client.get(f"/incidents/{ref}/postmortem").text
    assert 'id="pm-preview"' in editor and "<h2>" in editor.split('id="pm-preview"', 1)[1]  # the template, rendered
    text = "## What happened\n\n<b>bold?</b> [x](javascript:alert(1)) [log](https://logs.example.com/q)"

    fragment = client.post(
        f"/incidents/{ref}/postmortem/preview",
        data={"csrf_token": csrf, "body": text},
        headers={"X-Preview": "fragment"},
    )
    assert fragment.status_code == 200
    assert fragment.text.startswith("<h2>What happened</h2>") and "<html" not in fragment.text
    assert "&lt;b&gt;bold?&lt;/b&gt;" in fragment.text and "javascript:" not in fragment.text.split("href", 1)[-1]
    assert '<a href="https://logs.example.com/q">log</a>' in fragment.text

    page = client.post(f"/incidents/{ref}/postmortem/preview", data={"csrf_token": csrf, "body": text})
    assert page.status_code == 200 and "<h2>What happened</h2>" in page.text  # the Preview button, without script
    assert "## What happened" in page.text  # the text stays in the editor
    with runtime.sessions() as s:
        incident = s.get(Incident, ref)
        assert incident is not None
        from mamori.incidents.response import service as response

        pm = response.postmortem_of(s, incident)
        assert pm is None or "What happened" not in pm.body  # a preview saves nothing


def test_severity_levels_have_a_page_of_their_own_with_what_each_sets_in_motion(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    log_in(client, runtime)
    page = client.get("/incidents/severities", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert 'id="sev-SEV1"' in page.text and "Critical issue that warrants public notification" in page.text
    assert "postmortem" in page.text.lower() and "every " in page.text  # cadence and postmortem rule shown
    assert 'href="/incidents/severities"' in client.get("/incidents").text  # linked beside the picker


def test_a_signed_in_browser_gets_a_styled_404_not_a_500_after_the_route_raised(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    """The session is closed before the error handler renders the page; the user it loaded must stay readable
    (a rollback there expired it, and error.html's user name raised DetachedInstanceError: a 500)."""
    apply_config(runtime, tmp_path / "c")
    log_in(client, runtime)
    for path in ("/incidents/nope-unknown", "/alerts/0123456789abcdef0123456789abcdef", "/slos/nope"):
        answer = client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
        assert "text/html" in answer.headers["content-type"]
        assert 'action="/logout"' in answer.text  # the page's header, with the signed-in user, rendered
