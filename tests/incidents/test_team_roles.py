"""A team's responders may acknowledge and resolve their team's alerts without an organisation-wide role."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core import auth, catalog
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import fire
from tests.web.conftest import PASSWORD, create_user, csrf_of, post_login

SYSTEM = Actor.system("test")


def browser_login(client: TestClient, runtime: Runtime, email: str, team: str, team_role: str) -> str:
    create_user(runtime, email, role="viewer")
    with runtime.sessions.begin() as session:
        existing = {t.name: t for t in catalog.list_teams(session)}
        group = existing.get(team) or catalog.create_team(session, name=team, now=runtime.now(), actor=SYSTEM)
        user = auth.get_user(session, email)
        catalog.set_membership(session, team=group, user=user, role=team_role, now=runtime.now(), actor=SYSTEM)
    assert post_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303
    return csrf_of(client.get("/services").text)


def test_team_responder_acknowledges_its_teams_alert_but_others_may_not(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    install_fakes(runtime)
    group_id = fire(runtime)
    with runtime.sessions() as session:
        team = service.get_group(session, group_id).team
    assert team, "the routed group should belong to a team"

    outsider = browser_login(client, runtime, "outsider@example.com", "frontend-x", "admin")
    refused = client.post(f"/api/v1/alert-groups/{group_id}/acknowledge", headers={"X-CSRF-Token": outsider})
    assert refused.status_code == 403 and f"for team {team!r}" in refused.json()["detail"]
    client.post("/logout", data={"csrf_token": outsider})

    member = browser_login(client, runtime, "member@example.com", team, "responder")
    done = client.post(f"/api/v1/alert-groups/{group_id}/acknowledge", headers={"X-CSRF-Token": member})
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    with runtime.sessions() as session:
        assert service.get_group(session, group_id).status == "acknowledged"
