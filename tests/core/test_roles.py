"""Roles: organisation roles count everywhere, team roles for that team's objects."""

from __future__ import annotations

from mamori.core import auth, catalog
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime

SYSTEM = Actor.system("test")


def test_a_team_editor_may_edit_its_team_but_not_others(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        now = runtime.now()
        viewer = auth.create_user(session, email="v@example.com", name="V", role="viewer", now=now, actor=SYSTEM)
        boss = auth.create_user(session, email="b@example.com", name="B", role="admin", now=now, actor=SYSTEM)
        backend = catalog.create_team(session, name="backend", now=now, actor=SYSTEM)
        catalog.create_team(session, name="frontend", now=now, actor=SYSTEM)
        catalog.set_membership(session, team=backend, user=viewer, role="editor", now=now, actor=SYSTEM)
        session.flush()
        session.refresh(viewer)
        assert auth.team_role(viewer, "backend") == "editor"
        assert auth.has_role_for_team(viewer, "backend", "editor")
        assert not auth.has_role_for_team(viewer, "backend", "admin")
        assert not auth.has_role_for_team(viewer, "frontend", "responder")
        assert not auth.has_role_for_team(viewer, None, "editor")
        assert auth.has_role_for_team(viewer, "frontend", "viewer")
        assert auth.has_role_for_team(boss, "frontend", "admin")
