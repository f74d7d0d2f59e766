"""Helpers for the web tests: a logged-in browser session on the TestClient."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mamori.core import auth
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from tests.web.demo_browser import chromium_browser, demo_page, demo_site  # noqa: F401  (fixtures of the browser tests)

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

Login = Callable[..., str]


def create_user(runtime: Runtime, email: str, role: str = "admin", password: str = PASSWORD) -> None:
    with runtime.sessions.begin() as session:
        auth.create_user(
            session,
            email=email,
            name=email.split("@", maxsplit=1)[0].title(),
            role=role,
            password=password,
            now=runtime.now(),
            actor=Actor.system("test"),
        )


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


LOGIN_CSRF_FIELD = re.compile(r'name="login_csrf" value="([^"]+)"')


def post_login(client: TestClient, *, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    """Log in as a browser does: fetch the form (its CSRF cookie and field), then post it."""
    match = LOGIN_CSRF_FIELD.search(client.get("/login").text)
    assert match, "the login form has no CSRF field"
    return client.post("/login", data={**data, "login_csrf": match.group(1)}, **kwargs)


@pytest.fixture
def login(client: TestClient, runtime: Runtime) -> Login:
    """Create a user with `role` and log the client in; returns the session's CSRF token."""

    def do(email: str = "ada@example.com", role: str = "admin") -> str:
        create_user(runtime, email, role)
        response = post_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return csrf_of(client.get("/services").text)

    return do


def demo_runtime(tmp_path: Path, *, secret_key: str, **settings: Any) -> Runtime:
    """A runtime on a fresh SQLite file in `tmp_path`, migrated, started and seeded with the demo organisation
    (as `make demo` serves it: unconfigured channels and trackers deliver into the demo's inbox)."""
    from mamori import demo
    from mamori.core import migrate
    from mamori.core.config import load_settings
    from mamori.core.db import make_engine
    from mamori.wiring import build_runtime, start

    url = f"sqlite:///{tmp_path / 'mamori.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    made = load_settings(
        env={}, data_dir=tmp_path, database_url=url, secret_key=secret_key, session_cookie_secure=False, **settings
    )
    runtime = build_runtime(made)
    demo.install_inbox(runtime)
    start(runtime)
    demo.seed(runtime)
    return runtime
