"""Dashboard: promote a flag to the next environment; approve or reject pending production changes (browser session)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core.runtime import Runtime
from mamori.flags import rollouts, service
from tests.flags.conftest import apply_config, write_config
from tests.web.conftest import PASSWORD, create_user, csrf_of, post_login


def _login(client: TestClient, runtime: Runtime, email: str) -> str:
    create_user(runtime, email)
    response = post_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/flags/staging").text)


def test_promote_button_copies_a_flag_to_the_next_environment_and_approval_buttons_decide(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, write_config(tmp_path / "config", production_approval=True))
    csrf = _login(client, runtime, "alice@jobs.example")
    staging = client.get("/flags/staging").text
    assert 'action="/flags/staging/page-size/promote"' in staging and "Promote to production" in staging
    assert "last environment" in client.get("/flags/production").text

    # Without the CSRF token the form is refused.
    assert client.post("/flags/staging/page-size/promote", data={"reason": "x"}).status_code == 403
    done = client.post("/flags/staging/page-size/rollout", data={"csrf_token": csrf, "percent": "40"})
    assert done.status_code == 200
    promoted = client.post(
        "/flags/staging/page-size/promote",
        data={"csrf_token": csrf, "target": "production", "reason": "looked fine in staging"},
        follow_redirects=False,
    )
    assert promoted.status_code == 303 and promoted.headers["location"] == "/flags/staging?notice=pending-approval"

    page = client.get("/flags/production").text
    change_id = re.search(r'id="change-([0-9a-z]+)"', page)
    assert change_id is not None
    assert "looked fine in staging" in page and "promote from staging" in page
    assert "+ targeting:" in page and "fractional" in page  # the diff
    approve = f"/flags/production/changes/{change_id.group(1)}/approve"
    # The requester cannot approve their own change.
    own = client.post(approve, data={"csrf_token": csrf})
    assert own.status_code == 403 and "second person" in own.text

    csrf_bob = _login(client, runtime, "bob@jobs.example")
    approved = client.post(approve, data={"csrf_token": csrf_bob}, follow_redirects=False)
    assert approved.status_code == 303 and approved.headers["location"] == "/flags/production?notice=saved"
    with runtime.sessions() as session:
        assert rollouts.rollout_percent(service.get_flag(session, environment="production", key="page-size")) == 40
        change = service.list_changes(session, environment="production")[0]
        assert (change.status, change.decided_by) == ("applied", "bob@jobs.example")
    assert 'id="change-' not in client.get("/flags/production").text
    again = client.post(approve, data={"csrf_token": csrf_bob})
    assert again.status_code == 409


def test_reject_button_leaves_production_serving_the_previous_flag(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, write_config(tmp_path / "config", production_approval=True))
    csrf = _login(client, runtime, "alice@jobs.example")
    requested = client.post(
        "/flags/production/page-size/toggle",
        data={"csrf_token": csrf, "enabled": "false", "reason": "kill it"},
        follow_redirects=False,
    )
    assert requested.headers["location"] == "/flags/production?notice=pending-approval"
    page = client.get("/flags/production").text
    change_id = re.search(r'id="change-([0-9a-z]+)"', page)
    assert change_id is not None and '~ state: "ENABLED" -> "DISABLED"' in html.unescape(page)
    csrf_bob = _login(client, runtime, "bob@jobs.example")
    wrong_env = client.post(f"/flags/staging/changes/{change_id.group(1)}/reject", data={"csrf_token": csrf_bob})
    assert wrong_env.status_code == 404
    rejected = client.post(
        f"/flags/production/changes/{change_id.group(1)}/reject",
        data={"csrf_token": csrf_bob, "reason": "not during the sale"},
        follow_redirects=False,
    )
    assert rejected.headers["location"] == "/flags/production?notice=rejected"
    with runtime.sessions() as session:
        assert service.get_flag(session, environment="production", key="page-size")["state"] == "ENABLED"
        assert service.list_changes(session, environment="production")[0].status == "rejected"


def test_environments_are_ordered_from_development_to_production(runtime: Runtime, tmp_path: Path) -> None:
    apply_config(runtime, write_config(tmp_path / "config"))
    with runtime.sessions() as session:
        assert service.ordered_environments(session) == ["staging", "production"]
        assert service.next_environment(session, environment="staging") == "production"
        assert service.next_environment(session, environment="production") is None
