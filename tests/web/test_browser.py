"""End to end in Debian's chromium: log in to the seeded demo, browse, create a token, log out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from mamori import demo
from mamori.web.app import create_app
from tests.support import serving
from tests.web.conftest import demo_runtime

SCREENSHOT = Path("/tmp/mamori-catalog.png")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    runtime = demo_runtime(tmp_path, secret_key="browser-test-secret-0123456789")
    with serving(create_app(runtime)) as base:
        yield base
    runtime.engine.dispose()


@pytest.mark.slow
def test_demo_admin_browses_the_dashboard_and_creates_a_token(demo_server: str, chromium_browser: Browser) -> None:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})  # the process's one browser
    try:
        page = context.new_page()
        blocked: list[str] = []  # the Content-Security-Policy must not have to block anything Mamori serves
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{demo_server}/services")
        expect(page).to_have_url(re.compile(r"/login\?next=/services$"))
        page.fill("input[name=email]", demo.DEMO_EMAIL)
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("button[type=submit]")

        expect(page).to_have_url(f"{demo_server}/services")
        catalog = page.locator("table.catalog")
        for name in ("jobs-web", "jobs-api", "matching-worker"):
            expect(catalog.get_by_role("link", name=name, exact=True)).to_be_visible()
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.click("header nav >> text=Timeline")
        expect(page.locator("h1")).to_have_text("Timeline")
        page.select_option("select[name=service]", "jobs-api")  # htmx swaps the list in place
        expect(page).to_have_url(re.compile(r"/timeline\?service=jobs-api"))
        expect(page.locator("#timeline-rows")).to_be_visible()

        page.click("header nav >> text=Audit log")
        expect(page.locator("h1")).to_have_text("Audit log")
        expect(page.locator("tr.entry").first).to_be_visible()

        page.click("header nav >> text=Admin")
        page.fill("#tokens input[name=name]", "browser-token")
        page.check("#tokens input[name=scopes][value=ingest]")
        page.click("#tokens button:has-text('Create token')")
        expect(page.locator("h1")).to_have_text("Token created")
        secret = page.locator("#token-secret").inner_text().strip()
        assert secret.startswith("mmr_")

        page.goto(f"{demo_server}/admin")
        expect(page.locator("tr.token", has_text="browser-token")).to_be_visible()
        assert secret not in page.content()
        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.locator("tr.token", has_text="browser-token").locator("button:has-text('Revoke')").click()
        row = page.locator("tr.token", has_text="browser-token")
        expect(row.locator(".ok")).to_have_text("active")  # dismissed: not revoked
        assert asked == ["Revoke this token? Clients using it stop working at once."]  # mamori.js, not inline
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button:has-text('Revoke')").click()
        expect(page.locator("tr.token", has_text="browser-token").locator(".bad")).to_have_text("revoked")
        assert blocked == [], blocked

        page.click("form.logout button")
        expect(page).to_have_url(f"{demo_server}/login")
        page.goto(f"{demo_server}/admin")
        expect(page).to_have_url(re.compile(r"/login\?next=/admin$"))
    finally:
        context.close()
