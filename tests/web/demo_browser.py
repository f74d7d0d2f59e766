"""A seeded demo served for real (with its job worker, as `make demo` runs it) and Debian's chromium driving it,
shared by the journey and overflow tests: seeding takes seconds, so one server serves the whole session."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mamori import demo
from mamori.core.runtime import Runtime
from mamori.web.app import create_app
from tests.support import free_port, require_binary, serving

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE, PHONE = 1400, 400
SHOTS = Path(os.environ.get("MAMORI_SCREENSHOTS") or Path(tempfile.gettempdir()) / "mamori-screenshots")
"""Where the screenshots go (never into the repository)."""


@dataclass
class Demo:
    base: str
    runtime: Runtime


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    """One Playwright and one Debian chromium per test module. Playwright's sync API refuses a second
    `sync_playwright()` while one runs, and while it runs it holds an asyncio loop on the main thread (so
    `asyncio.run` in a later test would fail): the module scope stops it before the next module's tests."""
    chromium = require_binary("chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from tests.web.conftest import demo_runtime  # conftest imports this module for its fixtures

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = demo_runtime(tmp_path_factory.mktemp("demo"), secret_key="journey-test-secret-0123456789", base_url=base)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serving(create_app(runtime, run_worker=True), port=port):
        yield Demo(base, runtime)
    runtime.engine.dispose()


@pytest.fixture
def demo_page(demo_site: Demo, chromium_browser: Browser) -> Iterator[Page]:
    """A fresh browser context, logged in as the demo admin through the login form."""
    context = chromium_browser.new_context(viewport={"width": WIDE, "height": 900}, base_url=demo_site.base)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.goto("/services")
    tab.fill("input[name=email]", demo.DEMO_EMAIL)
    tab.fill("input[name=password]", demo.DEMO_PASSWORD)
    tab.click("button[type=submit]")
    expect(tab).to_have_url(re.compile(r"/services$"))
    try:
        yield tab
    finally:
        context.close()


OVERFLOW_JS = """() => {
  const vw = window.innerWidth;
  const scrolls = (s) => s.overflowX === "auto" || s.overflowX === "scroll" || s.overflowX === "hidden";
  const bad = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= vw + 1) continue;
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(getComputedStyle(p)) && p.getBoundingClientRect().right <= vw + 1) { clipped = true; break; }
    }
    if (!clipped) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      bad.push(name + " right=" + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, bad: bad.slice(0, 8)};
}"""


def overflow(page: Page) -> dict[str, Any]:
    """Whether the page is wider than the window: the document's scroll width, and the elements whose right
    edge passes the viewport (those inside a box that scrolls or clips horizontally and itself fits are fine:
    a wide table scrolls in its own box)."""
    result: dict[str, Any] = page.evaluate(OVERFLOW_JS)
    return result


def shoot(page: Page, name: str, *, widths: tuple[int, ...] = (WIDE,)) -> None:
    """Screenshot the page at each width into SHOTS and fail when it overflows horizontally there."""
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        found = overflow(page)
        assert found["scrollWidth"] <= found["innerWidth"] and not found["bad"], (
            f"{name} at {width} px overflows horizontally: {found}"
        )
    page.set_viewport_size({"width": WIDE, "height": 900})
