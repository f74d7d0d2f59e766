"""Every link the seeded demo renders resolves: a logged-in crawl from /services, and every page route probed
with unknown ids and bad query values, never answers 5xx (nor 404 for a link Mamori drew, nor JSON for a page)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori import demo
from mamori.core.runtime import Runtime
from mamori.incidents.models import AlertGroup
from mamori.incidents.oncall import service as paging
from mamori.web import admin_pages, pages
from mamori.web.app import create_app
from tests.web.conftest import demo_runtime, post_login

BASE = "https://testserver"
MAX_PAGES = 600
MAX_PER_PATH = 12  # a calendar's "next week" link leads on forever: a dozen variants of each path are enough
SKIP = ("/logout",)
BAD_IDS = ("nope-unknown", "999999", "%2e%2e", "x" * 300)
BAD_VALUES = ("nope", "-1", "0", "99999999999999999999", "2026-13-45", "all", "", "x" * 500, "null")


class Links(HTMLParser):
    """The same-site targets a browser would GET from a page: links, and each GET form submitted as it stands
    and once with each option of each of its selects chosen (as a person trying every filter would)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._form: dict[str, str] | None = None  # the open GET form: its action and the fields' values
        self._action = ""
        self._select: str | None = None
        self._options: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and values.get("href"):
            self.found.append(values["href"])
        elif tag == "form" and values.get("method", "get").lower() == "get":
            self._form, self._action, self._options = {}, values.get("action", ""), {}
        elif self._form is None or (not values.get("name") and tag != "option"):
            return
        elif tag == "input" and values.get("type", "text") not in ("submit", "button", "checkbox", "radio"):
            self._form[values["name"]] = values.get("value", "")
        elif tag == "select":
            self._select = values["name"]
            self._options[self._select] = []
        elif tag == "option" and self._select is not None:
            option = values.get("value", "")
            self._options[self._select].append(option)
            if "selected" in values or self._select not in self._form:
                self._form[self._select] = option

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            fields = self._form
            self.found.append(f"{self._action}?{urlencode(fields)}")
            for name, options in self._options.items():
                self.found.extend(f"{self._action}?{urlencode({**fields, name: o})}" for o in options)
            self._form = None


def same_site(page: str, href: str) -> str | None:
    """The path?query `href` leads to when it stays on Mamori (no fragment), else None."""
    if href.startswith(("mailto:", "tel:", "javascript:", "#")):
        return None
    target = urlsplit(urljoin(BASE + page, href))
    if f"{target.scheme}://{target.netloc}" != BASE:
        return None
    return target.path + (f"?{target.query}" if target.query else "")


@pytest.fixture
def demo_client(tmp_path: Path) -> Iterator[TestClient]:
    runtime = demo_runtime(tmp_path, secret_key="crawl-test-secret-0123456789", base_url=BASE)
    with TestClient(create_app(runtime), base_url=BASE, raise_server_exceptions=False) as client:
        answer = post_login(
            client, data={"email": demo.DEMO_EMAIL, "password": demo.DEMO_PASSWORD}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
        client.headers["Accept"] = "text/html,application/xhtml+xml"  # as a browser asks: error pages are HTML
        yield client
    runtime.engine.dispose()


def page_routes(client: TestClient) -> list[APIRoute]:
    """The dashboard's HTML GET routes: the domains' page routers and the web's own pages."""
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    routers = [r for plugin in runtime.plugins for r in plugin.page_routers] + [pages.router, admin_pages.router]
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    return [r for r in routes if "GET" in r.methods]


def page_links(client: TestClient) -> list[str]:
    """The links an email, Slack message or webhook page of each demo alert carries (details, ack, resolve)."""
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    links = []
    with runtime.sessions() as session:
        for group in session.scalars(select(AlertGroup)):
            page = paging.page_for(runtime, group, demo.DEMO_EMAIL, now=runtime.now())
            links += [same_site("/", url) for url in (page.details_url, page.ack_url, page.resolve_url)]
    assert links and None not in links, f"page links should point at Mamori's base URL: {links}"
    return [link for link in links if link is not None]


def crawl(client: TestClient) -> tuple[dict[str, int], list[str]]:
    """Breadth first from /services: every page reached and its status, and what was wrong on the way."""
    seen: dict[str, int] = {}
    per_path: dict[str, int] = {}
    problems: list[str] = []
    queue: deque[tuple[str, str]] = deque([("/services", "(start)")])
    queued = {"/services"}
    while queue and len(seen) < MAX_PAGES:
        target, source = queue.popleft()
        answer = client.get(target, follow_redirects=True)
        seen[target] = answer.status_code
        kind = answer.headers.get("content-type", "")
        if answer.status_code >= 500:
            problems.append(f"{answer.status_code} {target} (linked from {source})")
        elif answer.status_code in (404, 405):
            problems.append(f"{answer.status_code} {target}: a broken link on {source}")
        if "json" in kind and not target.startswith("/api/"):
            problems.append(f"JSON body on a page: {target} (linked from {source}): {answer.text[:200]}")
        if "html" not in kind:
            continue
        parser = Links()
        parser.feed(answer.text)
        for href in parser.found:
            link = same_site(target, href)
            if link is None or link in queued or link.startswith(SKIP):
                continue
            path = urlsplit(link).path
            if per_path.get(path, 0) >= MAX_PER_PATH:
                continue
            per_path[path] = per_path.get(path, 0) + 1
            queued.add(link)
            queue.append((link, target))
    return seen, problems


def test_every_link_reachable_from_the_demo_resolves_and_no_page_route_answers_5xx(demo_client: TestClient) -> None:
    seen, problems = crawl(demo_client)
    assert not problems, "\n".join(problems)
    reached = {urlsplit(p).path for p in seen}
    for must in ("/alerts", "/incidents", "/oncall", "/timeline"):
        assert must in reached, f"the crawl never reached {must}: {sorted(reached)[:40]}"
    assert any(re.fullmatch(r"/alerts/[0-9a-f]{32}", p) for p in reached), "no alert page was linked"
    assert any(re.fullmatch(r"/incidents/[0-9a-f]{32}", p) for p in reached), "no incident page was linked"
    for link in page_links(demo_client):
        answer = demo_client.get(link)
        assert answer.status_code == 200 and "html" in answer.headers["content-type"], (link, answer.status_code)
    routes = page_routes(demo_client)
    assert len(routes) >= 20 and any(r.path == "/alerts/{group_id}" for r in routes), [r.path for r in routes]

    for route in routes:
        params = re.findall(r"{([^}:]+)(?::path)?}", route.path)
        queries = [q.name for q in route.dependant.query_params]
        probes = []
        for bad in BAD_IDS if params else ("",):
            path = route.path
            for name in params:
                path = re.sub(r"{" + name + r"(:path)?}", bad, path)
            probes.append(path)
        # the routes' real pages (as crawled) with each query value made bad, one parameter at a time
        real = [p for p in seen if route.path_regex.fullmatch(urlsplit(p).path)][:2]
        for base in [*probes[:1], *(urlsplit(p).path for p in real)]:
            for name in queries:
                probes.extend(f"{base}?{urlencode({name: value})}" for value in BAD_VALUES)
        for target in probes:
            answer = demo_client.get(target, follow_redirects=True)
            if answer.status_code >= 500:
                problems.append(f"{answer.status_code} {target} (probe of {route.path}): {answer.text[:200]}")
            elif "json" in answer.headers.get("content-type", ""):
                problems.append(f"JSON body on a page: {target} (probe of {route.path}): {answer.text[:200]}")
    assert not problems, "\n".join(problems)


def test_same_site_keeps_mamori_paths_and_drops_other_sites() -> None:
    assert same_site("/alerts", "/alerts/abc#top") == "/alerts/abc"
    assert same_site("/incidents/1", "postmortem?x=1") == "/incidents/postmortem?x=1"
    assert same_site("/alerts", "https://runbooks.example.com/x") is None
    assert same_site("/alerts", "//evil.example/x") is None
    assert same_site("/alerts", "mailto:a@b") is None
    form = Links()
    form.feed(
        '<form method="get" action="/t"><input name="q" value="x"><select name="k"><option value="">any</option>'
        '<option value="a" selected>a</option><option value="b">b</option></select><button>Go</button></form>'
        '<form method="post" action="/p"><input name="z"></form><a href="/l">l</a>'
    )
    assert form.found == ["/t?q=x&k=a", "/t?q=x&k=", "/t?q=x&k=a", "/t?q=x&k=b", "/l"]
    assert dict(parse_qsl(urlsplit(same_site("/t", "/timeline?service=a%20b") or "").query)) == {"service": "a b"}
