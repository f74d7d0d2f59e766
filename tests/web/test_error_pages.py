"""A browser never gets raw JSON or a bare 500 from a page route: every error is the styled error page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from mamori.web import pages

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _is_error_page(response: object, status: int) -> str:
    assert getattr(response, "status_code") == status  # noqa: B009
    headers = getattr(response, "headers")  # noqa: B009
    assert headers["content-type"].startswith("text/html"), headers["content-type"]
    text: str = getattr(response, "text")  # noqa: B009
    assert f"<h1>{status}</h1>" in text and 'href="/services"' in text
    return text


def test_an_unknown_page_is_a_styled_404(client: TestClient) -> None:
    text = _is_error_page(client.get("/no-such-page", headers=BROWSER), 404)
    assert "There is no such page" in text
    api = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")


def test_a_malformed_form_is_a_styled_400_naming_the_field(client: TestClient) -> None:
    text = _is_error_page(client.post("/login", data={"password": "x"}, headers=BROWSER), 400)
    assert "email" in text


def test_an_unexpected_error_is_a_styled_500(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "_login_page", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    text = _is_error_page(quiet.get("/login", headers=BROWSER), 500)
    assert "boom" not in text, "internals stay in the log"


def test_a_database_outage_is_a_styled_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(pages, "_login_page", gone)
    response = client.get("/login", headers=BROWSER)
    _is_error_page(response, 503)
    assert response.headers["retry-after"] == "5"
