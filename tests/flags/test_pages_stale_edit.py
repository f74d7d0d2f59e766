"""The targeting form carries the flag's ETag: saving over a change made since the page was shown is refused."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.flags import service
from tests.flags.conftest import apply_config, write_config
from tests.web.conftest import PASSWORD, create_user, csrf_of, post_login

FORM = re.compile(r'action="/flags/staging/page-size/targeting">.*?name="etag" value="([^"]*)"', re.S)


def _form_etag(page: str) -> str:
    found = FORM.search(page)
    assert found is not None, "the targeting form carries no etag"
    return html.unescape(found.group(1))


def test_saving_targeting_over_a_newer_change_is_refused_and_keeps_that_change(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, write_config(tmp_path / "config"))
    create_user(runtime, "alice@jobs.example")
    assert post_login(client, data={"email": "alice@jobs.example", "password": PASSWORD}).status_code == 200
    page = client.get("/flags/staging").text
    csrf, shown = csrf_of(page), _form_etag(page)
    with runtime.sessions.begin() as session:  # someone else changes the flag meanwhile
        service.toggle(
            session, environment="staging", key="page-size", enabled=False, actor=Actor.system("bob"), reason=None,
            now=runtime.now(),
        )  # fmt: skip
    rule = '{"if": [{"==": [{"var": "plan"}, "pro"]}, "big", null]}'
    stale = client.post(
        "/flags/staging/page-size/targeting", data={"csrf_token": csrf, "etag": shown, "targeting": rule}
    )
    assert stale.status_code == 412
    assert "changed since this page showed it" in html.unescape(stale.text)
    with runtime.sessions() as session:
        flag = service.get_flag(session, environment="staging", key="page-size")
    assert flag["state"] == "DISABLED" and "targeting" not in flag

    fresh = _form_etag(client.get("/flags/staging").text)
    saved = client.post(
        "/flags/staging/page-size/targeting",
        data={"csrf_token": csrf, "etag": fresh, "targeting": rule},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with runtime.sessions() as session:
        flag = service.get_flag(session, environment="staging", key="page-size")
    assert flag["state"] == "DISABLED" and flag["targeting"]["if"][1] == "big"
