"""Browser login: argon2 passwords, the session cookie, CSRF, the login rate limit and logout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core import auth
from mamori.core.clock import FixedClock
from mamori.core.models import LoginAttempt
from mamori.core.runtime import Runtime
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory
from tests.web.conftest import PASSWORD, Login, create_user, csrf_of, post_login

HTML = {"accept": "text/html"}


def test_password_is_stored_as_an_argon2_hash(runtime: Runtime) -> None:
    create_user(runtime, "ada@example.com")
    with runtime.sessions() as session:
        stored = auth.get_user(session, "ada@example.com").password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_unauthenticated_browser_is_redirected_to_login(client: TestClient) -> None:
    for path in ("/services", "/services/jobs-api", "/timeline", "/audit", "/admin", "/admin/jobs"):
        response = client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"


def test_login_sets_a_secure_httponly_samesite_cookie(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(session_cookie_secure=True)
    create_user(runtime, "ada@example.com")
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        response = post_login(
            client, data={"email": "ada@example.com", "password": PASSWORD, "next": "/audit"}, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/audit"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("mamori_session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite", "path"} <= attributes
        assert "samesite=lax" in cookie.lower()
        assert client.get("/services").status_code == 200


def test_login_never_redirects_off_site(client: TestClient, runtime: Runtime) -> None:
    create_user(runtime, "ada@example.com")
    response = post_login(
        client,
        data={"email": "ada@example.com", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/services"


def test_wrong_password_is_refused_without_a_cookie(client: TestClient, runtime: Runtime) -> None:
    create_user(runtime, "ada@example.com")
    response = post_login(client, data={"email": "ada@example.com", "password": "wrong password"})
    assert response.status_code == 401
    assert "wrong email or password" in response.text
    assert "set-cookie" not in response.headers


def test_session_post_without_csrf_token_is_403_and_with_it_works(client: TestClient, login: Login) -> None:
    csrf = login()
    body = {"title": "deployed by hand", "kind": "note"}
    refused = client.post("/api/v1/timeline", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert client.post("/api/v1/timeline", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/v1/timeline", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # a form post carries it as a field
    assert client.post("/admin/tokens", data={"name": "x", "scopes": ["read"]}).status_code == 403
    assert client.post("/admin/tokens", data={"csrf_token": csrf, "name": "x", "scopes": ["read"]}).status_code == 200


def test_login_rate_limit_refuses_even_the_right_password(client: TestClient, runtime: Runtime) -> None:
    create_user(runtime, "ada@example.com")
    limit = runtime.settings.login_max_failures
    for _ in range(limit):
        assert post_login(client, data={"email": "ada@example.com", "password": "guess-guess"}).status_code == 401
    response = post_login(client, data={"email": "ada@example.com", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 429
    assert "too many failed logins" in response.text
    assert "set-cookie" not in response.headers


def test_login_rate_limit_ends_after_its_window(client: TestClient, runtime: Runtime, clock: FixedClock) -> None:
    create_user(runtime, "ada@example.com")
    for _ in range(runtime.settings.login_max_failures):
        post_login(client, data={"email": "ada@example.com", "password": "guess-guess"})
    clock.advance(seconds=runtime.settings.login_window_seconds + 1)
    response = post_login(client, data={"email": "ada@example.com", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303


def test_logout_ends_the_session(client: TestClient, login: Login) -> None:
    csrf = login()
    old_cookie = client.cookies.get("mamori_session")
    assert old_cookie
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/services", headers=HTML, follow_redirects=False).status_code == 303
    # the old cookie no longer works even if a client kept it
    client.cookies.set("mamori_session", old_cookie)
    assert client.get("/api/v1/me").status_code == 401


def test_logged_in_pages_carry_the_csrf_token_for_htmx(client: TestClient, login: Login) -> None:
    csrf = login()
    page = client.get("/timeline").text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf}"}}\'' in page
    assert csrf_of(page) == csrf


def test_the_per_account_limit_counts_every_spelling_of_the_account(runtime: Runtime) -> None:
    import pytest

    from mamori.core.errors import RateLimited, Unauthenticated

    create_user(runtime, "ada@example.com")
    with runtime.sessions.begin() as session:
        auth.get_user(session, "ada@example.com").handle = "ada"
    spellings = ["ada@example.com ", "ADA@example.com", " Ada@Example.COM", "ada", "ada@example.com"]
    settings = runtime.settings
    limits = {
        "max_failures": settings.login_max_failures,
        "window": timedelta(seconds=settings.login_window_seconds),
        "lifetime": timedelta(hours=1),
    }
    assert len(spellings) >= settings.login_max_failures
    for n, name in enumerate(spellings[: settings.login_max_failures]):
        with runtime.sessions.begin() as session, pytest.raises(Unauthenticated):
            auth.login(session, email=name, password="guess-guess", ip=f"10.0.0.{n}", now=runtime.now(), **limits)
    with runtime.sessions.begin() as session, pytest.raises(RateLimited):
        auth.login(session, email="ada@example.com", password=PASSWORD, ip="10.9.9.9", now=runtime.now(), **limits)


def test_a_login_post_without_the_forms_csrf_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    """Login CSRF: another site's form cannot log the victim's browser into the attacker's account."""
    create_user(runtime, "ada@example.com")
    forged = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD}, follow_redirects=False)
    assert forged.status_code == 403 and "sent from another site" in forged.text
    assert "mamori_session" not in forged.headers.get("set-cookie", "")
    client.get("/login")  # the browser has a login cookie now, but the attacker does not know its value
    guessed = client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "login_csrf": "guess"}, follow_redirects=False
    )
    assert guessed.status_code == 403
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0, "refused before the password"
    assert (
        post_login(client, data={"email": "ada@example.com", "password": PASSWORD}, follow_redirects=False).status_code
        == 303
    )


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x", "/\tevil", "https://evil.example/"])
def test_after_login_the_redirect_stays_on_mamori(client: TestClient, runtime: Runtime, target: str) -> None:
    create_user(runtime, "ada@example.com")
    response = post_login(
        client, data={"email": "ada@example.com", "password": PASSWORD, "next": target}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/services")
