"""Every page of the seeded demo at a desktop's 1400 px and a phone's 400 px, in Debian's chromium: no page is
wider than the window (document.scrollWidth, and any element whose right edge passes the viewport outside a box
that scrolls on its own), the navigation folds behind a Menu button on the phone, and wide tables scroll in
their own box. Screenshots go to demo_browser.SHOTS (a temporary folder), one per page and width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.demo_browser import PHONE, WIDE, overflow, shoot

pytestmark = pytest.mark.slow

DETAILS = [
    # (list page, link pattern): the first such link on the list page leads to a detail page to check
    ("/services", r"^/services/[^/?#]+$"),
    ("/alerts", r"^/alerts/[0-9a-f]+$"),
    ("/incidents", r"^/incidents/[0-9a-f]+$"),
    ("/slos", r"^/slos/(?!review)[^/?#]+$"),
    ("/vulns/findings?state=&kind=advisory", r"^/vulns/findings/[^/?#]+$"),
    ("/escalation-policies", r"^/escalation-policies/[^/?#]+$"),
    ("/oncall", r"^/oncall/schedules/[^/?#]+$"),
]
EXTRA = ["/slos/review", "/vulns/vendors", "/admin/jobs", "/admin/deliveries", "/incidents/severities"]


def _hrefs(page: Page) -> list[str]:
    found: list[str] = page.eval_on_selector_all("main a[href^='/']", "links => links.map(a => a.getAttribute('href'))")
    return found


def _pages(page: Page) -> list[str]:
    """Every navigation entry, a detail page of each kind, and the postmortem and advisory pages they link to."""
    page.goto("/services")
    paths: list[str] = page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))")
    for listing, pattern in DETAILS:
        page.goto(listing)
        detail = next((h for h in _hrefs(page) if re.match(pattern, h)), None)
        assert detail is not None, f"no link like {pattern} on {listing}"
        paths.append(detail)
        if listing == "/incidents":
            paths.append(f"{detail}/postmortem")
        if listing.startswith("/vulns/findings"):
            page.goto(detail)
            paths += [h for h in _hrefs(page) if h.startswith("/vulns/advisories/")][:1]
    page.goto("/inbox")  # the one-click confirm page a page's Acknowledge link opens (a GET changes nothing)
    ack = page.locator("article.message a.button-link", has_text="Acknowledge").first
    expect(ack).to_be_visible(timeout=20_000)
    paths.append(str(ack.get_attribute("href")))
    for extra in EXTRA:
        if page.goto(extra).status == 200:  # type: ignore[union-attr]
            paths.append(extra)
    return list(dict.fromkeys(paths))


@pytest.mark.parametrize("width", [WIDE, PHONE], ids=["desktop", "phone"])
def test_no_page_is_wider_than_the_window(demo_page: Page, width: int) -> None:
    page = demo_page
    paths = _pages(page)
    assert len(paths) >= 20, paths
    for path in paths:
        page.goto(path)
        name = re.sub(r"[^a-z0-9]+", "-", path.lower().split("//")[-1].split("/", 1)[-1]).strip("-")[:80] or "home"
        shoot(page, name, widths=(width,))


def test_the_navigation_folds_behind_a_menu_on_a_phone(demo_page: Page) -> None:
    page = demo_page
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/services")
    menu = page.get_by_role("button", name="Menu")
    link = page.locator("header nav").get_by_role("link", name="Incidents", exact=True)
    expect(link).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(link).to_be_visible()
    found = overflow(page)
    assert found["scrollWidth"] <= found["innerWidth"] and not found["bad"], found
    link.click()
    expect(page.locator("h1").first).to_have_text("Incidents")
    expect(page.locator("header nav").get_by_role("link", name="Incidents", exact=True)).to_be_hidden()

    page.set_viewport_size({"width": WIDE, "height": 800})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.locator("header nav").get_by_role("link", name="Alerts", exact=True)).to_be_visible()


def test_a_wide_table_scrolls_in_its_own_box_on_a_phone(demo_page: Page) -> None:
    page = demo_page
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/services")
    box = page.locator("main table").first.evaluate(
        "t => { const s = t.closest('.table-scroll') || t; const c = getComputedStyle(s);"
        " return {overflow: c.overflowX, scroll: s.scrollWidth, client: s.clientWidth,"
        " right: s.getBoundingClientRect().right}; }"
    )
    assert box["overflow"] in ("auto", "scroll"), box
    assert box["scroll"] > box["client"], box  # the catalog is wider than a phone: it scrolls inside its box
    assert box["right"] <= PHONE, box


def test_the_overflow_check_sees_a_page_wider_than_the_window(demo_page: Page) -> None:
    """The check itself can fail: an element pushed past the right edge is named, one in a scroll box is not."""
    page = demo_page
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/services")
    page.evaluate(
        "() => { const wide = document.createElement('div'); wide.id = 'too-wide';"
        " wide.style.width = '900px'; wide.style.maxWidth = 'none';"
        " wide.textContent = 'x'; document.querySelector('main').appendChild(wide); }"
    )
    found = overflow(page)
    assert found["scrollWidth"] > PHONE and any(b.startswith("div#too-wide") for b in found["bad"]), found
    page.evaluate(
        "() => { const box = document.createElement('div'); box.className = 'table-scroll';"
        " box.appendChild(document.getElementById('too-wide')); document.querySelector('main').appendChild(box); }"
    )
    found = overflow(page)
    assert found["scrollWidth"] <= PHONE and not found["bad"], found


def test_a_sortable_table_sorts_by_a_click_on_its_header(demo_page: Page) -> None:
    page = demo_page
    page.goto("/vulns/findings?state=")
    table = page.locator("table.queue.sortable")
    served = page.request.get("/vulns/findings?state=").text()
    assert "<th>Priority</th>" in served  # without script: plain headers, the page works as served

    def column(index: int) -> list[str]:
        cells: list[str] = table.locator(f"tbody tr td:nth-child({index})").all_inner_texts()
        return [c.strip() for c in cells]

    assert len(column(1)) >= 3
    table.get_by_role("button", name="Finding").click()
    titles = column(2)
    assert titles == sorted(titles, key=str.lower) and table.locator("th[aria-sort=ascending]").count() == 1
    table.get_by_role("button", name="Finding").click()
    assert column(2) == sorted(titles, key=str.lower, reverse=True)
    assert table.locator("th[aria-sort=descending]").count() == 1
