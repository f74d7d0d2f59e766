"""The journeys of the seeded demo, walked in Debian's chromium as a person would: links clicked, forms filled
and sent (issue #11, "Done means"). Only what is not a person's doing comes from elsewhere: jobs-api's own
request events (sent with the ingest token the user made in the dashboard), and the worker's minute tick of
SLO evaluation, asked for now instead of waited for. Every page reached is screenshot (demo_browser.SHOTS) and
checked for horizontal overflow at the desktop width; test_overflow checks them at the phone's."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.sync_api import Locator, Page, expect

from mamori.core import jobs
from mamori.slo import jobs as slo_jobs
from tests.web.demo_browser import Demo, shoot

pytestmark = pytest.mark.slow


def until(page: Page, found: Callable[[], Locator], *, timeout: float = 20.0) -> Locator:
    """Reload the page until `found()` is there (the worker acts in the background, as in `make demo`)."""
    deadline = time.monotonic() + timeout
    while True:
        locator = found()
        if locator.count() > 0:
            return locator
        assert time.monotonic() < deadline, f"not there after {timeout} s on {page.url}"
        page.wait_for_timeout(400)
        page.reload()


def nav(page: Page, title: str) -> None:
    """Follow an entry of the navigation (the journeys run at the desktop width, where it is unfolded)."""
    page.locator("header nav").get_by_role("link", name=title, exact=True).click()


def _failing_applications(demo: Demo, token: str, *, bad: int) -> None:
    """jobs-api reports `bad` failed applications of the last minutes (the instrumented service, not the user)."""
    now = demo.runtime.now()
    lines = [
        {
            "ts": (now - timedelta(minutes=2 + i % 3)).isoformat().replace("+00:00", "Z"),
            "service": "jobs-api",
            "route": "/api/applications",
            "method": "POST",
            "status": 503,
        }
        for i in range(bad)
    ]
    body = b"\n".join(orjson.dumps(line) for line in lines)
    answer = httpx.post(
        f"{demo.base}/api/v1/ingest/events", content=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text


def _evaluation_tick(demo: Demo) -> None:
    """The worker's periodic SLO evaluation, due now rather than at the next minute."""
    with demo.runtime.sessions.begin() as session:
        jobs.enqueue(session, kind=slo_jobs.EVALUATE_JOB, now=demo.runtime.now(), dedupe_key="journey:evaluate")


def test_slo_burn_files_a_ticket_and_freezes_releases(demo_page: Page, demo_site: Demo) -> None:
    page = demo_page
    nav(page, "Admin")
    page.fill("#tokens input[name=name]", "jobs-api-events")
    page.check("#tokens input[name=scopes][value=ingest]")
    page.click("#tokens button:has-text('Create token')")
    secret = page.locator("#token-secret").inner_text().strip()

    _failing_applications(demo_site, secret, bad=1500)
    _evaluation_tick(demo_site)

    nav(page, "SLOs")
    shoot(page, "journey-slo-list")
    page.locator("table").get_by_role("link", name="Apply for a job").click()
    expect(page.locator("h1")).to_have_text("apply-for-job")
    policy = page.locator("section.card", has=page.locator("h2", has_text="Error-budget policy actions"))
    ticket = until(
        page, lambda: policy.locator("tr", has_text="jira").get_by_role("link", name=re.compile(r"^OPS-\d+$"))
    )
    until(page, lambda: policy.locator("tr", has_text="freeze").locator("td", has_text="done"))
    expect(page.locator(".budget-state.exhausted, .budget-state.low").first).to_be_visible()
    shoot(page, "journey-slo-detail")

    ticket.first.click()
    expect(page).to_have_url(re.compile(r"/inbox#message-\d+$"))
    filed = page.locator("article.message:target")
    expect(filed).to_contain_text("[SLO] apply-for-job")
    expect(filed).to_contain_text("budget remaining")
    assert not re.search(r"\d\.\d{5,}", filed.inner_text()), filed.inner_text()  # numbers are rounded
    shoot(page, "journey-inbox-ticket")

    gate = httpx.get(
        f"{demo_site.base}/api/v1/gates/deploy?service=jobs-api", headers={"Authorization": f"Bearer {secret}"}
    )
    assert gate.status_code == 423, gate.text  # what a deploy pipeline sees: releases are frozen

    # the freeze, with its cause, on the SLO's page: a person bypasses it for one deploy, with a reason
    page.go_back()
    page.reload()
    notice = page.locator("section.freeze-notice").first
    expect(notice).to_contain_text("Releases of jobs-api are frozen")
    bypass = notice.locator("form[action$='/bypass']")
    bypass.locator("input[name=reason]").fill("hotfix for the failing applications")
    bypass.locator("select[name=expires_in]").select_option("1h")
    bypass.locator("input[name=max_deploys]").fill("1")
    bypass.get_by_role("button", name="Bypass").click()
    expect(page.locator("section.freeze-notice p.bypass").first).to_contain_text("hotfix for the failing applications")
    shoot(page, "journey-slo-bypass")
    gate_url = f"{demo_site.base}/api/v1/gates/deploy?service=jobs-api"
    auth = {"Authorization": f"Bearer {secret}"}
    first = httpx.get(gate_url, headers=auth)
    assert first.status_code == 200 and "bypass" in first.text, first.text  # the one deploy it lets through
    assert httpx.get(gate_url, headers=auth).status_code == 423  # and only that one


def test_alert_page_ack_incident_postmortem_and_filed_action_item(demo_page: Page, demo_site: Demo) -> None:
    page = demo_page
    nav(page, "Inbox")
    page_sent = until(
        page, lambda: page.locator("article.message.channel-email", has_text="jobs-api p99 latency above 1.5s")
    ).first
    shoot(page, "journey-inbox")
    page_sent.get_by_role("link", name="Acknowledge").click()
    expect(page.locator("h1")).to_contain_text("jobs-api p99 latency above 1.5s")  # the confirm page names it
    shoot(page, "journey-one-click-confirm")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("main")).to_contain_text("acknowledged")
    shoot(page, "journey-one-click-done")

    page.get_by_role("link", name="Open the alert").click()
    expect(page.locator("dl.facts").first).to_contain_text("alice@jobs.example")
    declare = page.locator("form[action$='/declare']")
    declare.locator("input[name=commander]").fill("alice@jobs.example")
    declare.get_by_role("button", name="Declare incident").click()
    expect(page.locator("h1")).to_contain_text("jobs-api p99 latency above 1.5s")
    expect(page.locator("ul.roles")).to_contain_text("Incident Commander: alice@jobs.example")

    roles = page.locator("form[action$='/roles']")
    roles.locator("select[name=role]").select_option("scribe")
    roles.locator("input[name=user]").fill("bob@jobs.example")
    roles.get_by_role("button", name="Assign role").click()
    expect(page.locator("ul.roles")).to_contain_text("Scribe: bob@jobs.example")

    update = page.locator("form[action$='/updates']")
    update.locator("textarea[name=text]").fill("Rolled back jobs-api to v2.13; latency recovering")
    update.locator("select[name=status]").select_option("monitoring")
    update.locator("input[name=audience][value=external]").check()
    update.get_by_role("button", name="Post update").click()
    expect(page.locator("ul.updates")).to_contain_text("Rolled back jobs-api to v2.13")
    expect(page.locator("ul.updates")).to_contain_text("Customer-facing")
    shoot(page, "journey-incident")

    resolve = page.locator("form[action$='/resolve']")
    resolve.locator("input[name=text]").fill("p99 back under 300 ms")
    resolve.get_by_role("button", name="Resolve incident").click()
    expect(page.locator("p .badge", has_text="resolved")).to_be_visible()

    page.get_by_role("link", name="Postmortem", exact=True).click()
    items = page.locator("#action-items")
    page.fill("#pm-body", "## What we learned\n\n- alert on the **p99** before rollout")
    expect(page.locator("#pm-preview h2").first).to_have_text("What we learned")  # the live preview follows the typing
    expect(page.locator("#pm-preview strong").first).to_have_text("p99")
    add = items.locator("form.add-item")
    add.locator("input[name=title]").fill("Alert on p99 of the application form before rollout")
    add.locator("input[name=owner]").fill("dave@jobs.example")
    add.locator("input[name=due]").fill((date.today() + timedelta(days=14)).isoformat())
    add.get_by_role("button", name="Add action item").click()
    row = items.locator("tr.action-item", has_text="Alert on p99 of the application form")
    expect(row).to_contain_text("dave@jobs.example")
    row.locator("select[name=tracker]").select_option("jira")
    row.locator("input[name=target]").fill("OPS")
    row.get_by_role("button", name="File").click()
    filed = until(
        page,
        lambda: page.locator("tr.action-item", has_text="Alert on p99").get_by_role(
            "link", name=re.compile(r"^OPS-\d+$")
        ),
    )
    shoot(page, "journey-postmortem")
    filed.click()
    ticket = page.locator("article.message:target")
    expect(ticket).to_contain_text("Alert on p99 of the application form before rollout")
    expect(ticket).to_contain_text("Owner: dave@jobs.example")


def test_flag_created_rolled_out_to_a_percentage_then_killed(demo_page: Page) -> None:
    page = demo_page
    nav(page, "Flags")
    page.locator(".page-head").get_by_role("link", name="staging", exact=True).click()
    create = page.locator("form.new-flag")
    create.locator("input[name=key]").fill("one-click-apply")
    create.locator("input[name=reason]").fill("try one-click apply on staging")
    create.get_by_role("button", name="Create flag").click()
    expect(page.locator("p.notice")).to_have_text("Saved.")
    row = page.locator("tr#flag-one-click-apply")
    expect(row.locator(".badge").first).to_have_text("ENABLED")

    row.locator("input[name=percent]").fill("30")
    row.locator("form[action$='/rollout'] button").click()
    row = page.locator("tr#flag-one-click-apply")
    expect(row.locator("input[name=percent]")).to_have_value("30")
    expect(row).to_contain_text("fractional")
    shoot(page, "journey-flags")

    row.get_by_role("button", name="Turn off").click()
    row = page.locator("tr#flag-one-click-apply")
    expect(row.locator(".badge").first).to_have_text("DISABLED")
    expect(row.get_by_role("button", name="Turn on")).to_be_visible()


def test_lockfile_scanned_finding_triaged_and_exported_as_vex(demo_page: Page, tmp_path: Path) -> None:
    page = demo_page
    lockfile = tmp_path / "requirements.txt"
    lockfile.write_text("PyYAML==5.3.1\nurllib3==2.2.2\n")
    nav(page, "Vulnerabilities")
    page.get_by_role("link", name="Triage queue").click()
    page.locator("details.scan-upload summary").click()
    upload = page.locator("details.scan-upload form")
    upload.locator("select[name=service]").select_option("matching-worker")
    upload.locator("input[name=lockfile]").set_input_files(str(lockfile))
    upload.get_by_role("button", name="Scan").click()
    expect(page.locator("p.notice")).to_contain_text("Scanned uploaded/requirements.txt: 2 packages")
    shoot(page, "journey-vulns-queue")

    page.locator("table.queue").get_by_role("link", name=re.compile("PyYAML", re.I)).first.click()
    expect(page.locator("dl.facts")).to_contain_text("uploaded/requirements.txt")
    triage = page.locator("form.triage")
    triage.locator("select[name=state]").select_option("not_affected")
    triage.locator("select[name=justification]").select_option("vulnerable_code_not_in_execute_path")
    triage.locator("textarea[name=comment]").fill("matching-worker only calls yaml.safe_load")
    triage.get_by_role("button", name="Save").click()
    expect(page.locator("[data-state]")).to_have_text("not_affected")
    shoot(page, "journey-vulns-finding")

    page.get_by_role("link", name="Triage queue").click()
    page.locator("form.filters input[name=service]").fill("matching-worker")
    page.locator("form.filters select[name=state]").select_option("not_affected")
    page.locator("form.filters").get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="OpenVEX").click()
    document = json.loads(page.locator("body").inner_text())
    statements = [s for s in document["statements"] if s["status"] == "not_affected"]
    assert any(
        s["justification"] == "vulnerable_code_not_in_execute_path"
        and any("pyyaml" in p["@id"].lower() for p in s["products"])
        for s in statements
    ), document
