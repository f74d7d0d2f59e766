"""The demo's inbox page, and the forms added for the journeys (new flag, lockfile upload, action items) when
given bad input: a clear error on the page, nothing stored."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori import demo
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.incidents.models import ActionItem
from mamori.incidents.response import service as response
from mamori.integrations.notify import Message, Notifiers
from mamori.integrations.tickets import TicketRequest, Trackers, file_once
from mamori.vulns.models import VulnComponent
from tests.vulns.helpers import seed_services
from tests.web.conftest import Login


def test_the_demo_inbox_shows_the_pages_and_tickets_mamori_sent(
    runtime: Runtime, client: TestClient, login: Login
) -> None:
    login()
    assert client.get("/inbox").status_code == 404  # only the demo has an inbox
    assert 'href="/inbox"' not in client.get("/services").text
    demo.install_inbox(runtime)
    assert 'href="/inbox"' in client.get("/services").text

    page = Message(
        kind="mamori.page",
        title="Disk <full> on db-1",
        severity="SEV2",
        lines=("service: db · status: triggered",),
        links=(("Details", "https://mamori.example/alerts/1"), ("Sneaky", "javascript:alert(1)")),
    )
    receipt = runtime.state(Notifiers).get("email").send(page, "alice@jobs.example")
    assert receipt.startswith("inbox:email:")
    tracker = runtime.state(Trackers).get("jira")
    ask = TicketRequest(
        marker="m-1", title="Fix the disk alert", body="From the postmortem.", facts=(("Owner", "dave"),)
    )
    first, again = file_once(tracker, "OPS", ask), file_once(tracker, "OPS", ask)
    assert first.key == again.key == "OPS-1" and again.existing  # filed once

    inbox = client.get("/inbox")
    assert inbox.status_code == 200
    assert "Disk &lt;full&gt; on db-1" in inbox.text and 'class="sev sev-sev2"' in inbox.text
    assert 'href="https://mamori.example/alerts/1"' in inbox.text
    assert "javascript:" not in inbox.text  # links are made safe
    assert inbox.text.count("OPS-1 Fix the disk alert") == 1 and "Owner: dave" in inbox.text
    assert f'href="{first.url}"' not in inbox.text and first.url.startswith("/inbox#message-")
    only_slack = client.get("/inbox?channel=slack")
    assert "Disk &lt;full&gt;" not in only_slack.text and "Nothing received yet on slack" in only_slack.text


def test_a_new_flag_with_a_bad_or_taken_key_is_refused_on_the_page(client: TestClient, login: Login) -> None:
    from tests.flags.conftest import apply_config, write_config

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    apply_config(runtime, write_config(runtime.settings.data_dir / "flags"))
    csrf = login()
    bad = client.post("/flags/staging/new", data={"csrf_token": csrf, "key": "9 lives"})
    assert bad.status_code == 422 and "flag key: 1-100 letters" in bad.text
    taken = client.post("/flags/staging/new", data={"csrf_token": csrf, "key": "page-size"})
    assert taken.status_code == 422 and "flag &#39;page-size&#39; exists already in staging" in taken.text
    made = client.post("/flags/staging/new", data={"csrf_token": csrf, "key": "fresh"}, follow_redirects=False)
    assert made.status_code == 303
    assert 'id="flag-fresh"' in client.get("/flags/staging").text


def test_a_lockfile_upload_that_cannot_be_read_says_why_and_stores_nothing(
    runtime: Runtime, client: TestClient, login: Login
) -> None:
    seed_services(runtime)
    csrf = login()

    def send(service: str, name: str, body: bytes) -> str:
        answer = client.post(
            "/vulns/scan", data={"csrf_token": csrf, "service": service}, files={"lockfile": (name, body)}
        )
        assert answer.status_code == 422, answer.text
        return answer.text

    assert "lockfile notes.md: not read: not a lockfile" in send("jobs-api", "notes.md", b"# hello")
    assert "service: no service &#39;nope&#39; in the catalog" in send("nope", "requirements.txt", b"a==1\n")
    assert "lockfile package-lock.json:" in send("jobs-api", "package-lock.json", b"{not json")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(VulnComponent)) == 0
    good = client.post(
        "/vulns/scan",
        data={"csrf_token": csrf, "service": "jobs-api"},
        files={"lockfile": ("requirements.txt", b"requests==2.31.0\n")},
        follow_redirects=False,
    )
    assert good.status_code == 303 and "Scanned+uploaded%2Frequirements.txt%3A+1+packages" in good.headers["location"]


def test_an_action_item_needs_a_title_and_a_configured_tracker(
    runtime: Runtime, client: TestClient, login: Login
) -> None:
    csrf = login()
    with runtime.sessions.begin() as session:
        incident = response.declare(
            session, runtime, title="Checkout down", severity="SEV2", actor=Actor.system("test"), now=runtime.now()
        )
        ref = incident.id
    untitled = client.post(f"/incidents/{ref}/action-items", data={"csrf_token": csrf, "title": " "})
    assert untitled.status_code == 422 and "action item: a title is needed" in untitled.text
    undated = client.post(f"/incidents/{ref}/action-items", data={"csrf_token": csrf, "title": "x", "due": "soon"})
    assert undated.status_code == 422 and "not a date: &#39;soon&#39;" in undated.text
    added = client.post(
        f"/incidents/{ref}/action-items",
        data={"csrf_token": csrf, "title": "Add a checkout canary", "owner": "dave@jobs.example", "due": "2030-01-31"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    with runtime.sessions() as session:
        item = session.scalars(select(ActionItem)).one()
        assert (item.title, item.owner, item.due_at.date().isoformat()) == (  # type: ignore[union-attr]
            "Add a checkout canary",
            "dave@jobs.example",
            "2030-01-31",
        )
    unfiled = client.post(
        f"/incidents/{ref}/action-items/{item.id}/file", data={"csrf_token": csrf, "tracker": "jira", "target": "OPS"}
    )
    assert unfiled.status_code == 422 and "Jira is not configured" in unfiled.text  # no demo inbox here
    with runtime.sessions() as session:
        assert session.get(ActionItem, item.id).filing_status is None  # type: ignore[union-attr]
    page = client.get(f"/incidents/{ref}/postmortem")
    assert "Add a checkout canary" in page.text and 'action="/incidents/' in page.text
