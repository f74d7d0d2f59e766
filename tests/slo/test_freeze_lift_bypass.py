"""A release freeze can be lifted or bypassed by a person with a reason (API, dashboard, CLI): audited, on the
timeline, time-boxed; the deploy gate answers with the bypass and who granted it; a viewer can do neither."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app as cli_app
from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import Conflict
from mamori.core.models import AuditEntry, TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.slo import service
from mamori.slo.models import SloFreeze, SloFreezeBypass
from mamori.slo.service import freezes
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory, issue_token
from tests.core.concurrency import until_blocked_or_done
from tests.slo.helpers import CHECKOUT_SLO, write
from tests.web.conftest import PASSWORD, create_user, csrf_of, post_login

POLICY = """
apiVersion: mamori.dev/v1
kind: ErrorBudgetPolicy
metadata: {name: jobs-api-budget}
spec:
  service: jobs-api
  rules:
    - name: low-budget
      when: {budgetRemainingBelow: 25}
      actions:
        - {type: freeze}
"""

FLAGS = """
apiVersion: mamori.dev/v1
kind: FlagSet
metadata: {name: jobs-flags}
spec:
  environment: prod
  service: jobs-api
  flagd:
    flags:
      new-apply-form:
        state: ENABLED
        variants: {"on": true, "off": false}
        defaultVariant: "off"
"""

SERVICE = """
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec: {tier: 1}
"""

GATE = "/api/v1/gates/deploy?service=jobs-api"


def _frozen(runtime: Runtime, clock: FixedClock, tmp_path: Path, *extra: tuple[str, str]) -> int:
    """Apply the SLO and its freeze policy, burn the budget, run the jobs: the id of the freeze that holds."""
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    write(tmp_path / "cfg", "policy.yaml", POLICY)
    for name, text in extra:
        write(tmp_path / "cfg", name, text)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    ts = (runtime.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 200}] * 90
    lines += [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 500}] * 10
    with runtime.sessions.begin() as session:
        service.ingest(session, data=b"\n".join(orjson.dumps(x) for x in lines))
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        freeze = session.scalars(select(SloFreeze).where(SloFreeze.ended_at.is_(None))).one()
        return freeze.id


def _bearer(runtime: Runtime, scope: str, email: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(runtime, scope, email=email, role=role)}"}


def test_a_one_deploy_bypass_lets_exactly_one_deploy_through_and_names_who_and_why(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = make_runtime()
    freeze_id = _frozen(runtime, clock, tmp_path)
    reader = _bearer(runtime, "read", "viewer@jobs.example", "viewer")
    writer = _bearer(runtime, "write", "ops@jobs.example", "editor")
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        assert client.get(GATE, headers=reader).status_code == 423
        listed = client.get("/api/v1/slo-freezes?service=jobs-api", headers=reader).json()
        assert [f["id"] for f in listed] == [freeze_id] and listed[0]["slo"] == "apply-for-job"
        assert "error budget remaining below 25%" in listed[0]["reason"]

        body = {"reason": "hotfix for INC-12", "expires_in_minutes": 120, "max_deploys": 1}
        refused = client.post(f"/api/v1/slo-freezes/{freeze_id}/bypass", json=body, headers=reader)
        assert refused.status_code == 403  # a read-only caller cannot bypass
        blank = client.post(f"/api/v1/slo-freezes/{freeze_id}/bypass", json={**body, "reason": "   "}, headers=writer)
        assert blank.status_code == 400 and "a reason is required" in blank.json()["detail"]
        too_long = client.post(
            f"/api/v1/slo-freezes/{freeze_id}/bypass", json={**body, "expires_in_minutes": 73 * 60}, headers=writer
        )
        assert too_long.status_code == 422
        assert client.get(GATE, headers=reader).status_code == 423  # nothing refused was stored

        granted = client.post(f"/api/v1/slo-freezes/{freeze_id}/bypass", json=body, headers=writer)
        assert granted.status_code == 201, granted.text
        assert granted.json()["bypass"]["by"] == "ops@jobs.example"  # the token's user, not a Unix login

        passed = client.get(GATE, headers=reader)
        assert passed.status_code == 200, passed.text
        gate = passed.json()
        assert gate["allowed"] is True
        assert gate["detail"] == "allowed: bypass by ops@jobs.example until 2026-11-28 14:01 UTC: hotfix for INC-12"
        assert gate["bypasses"][0]["deploys"] == 1 and gate["bypasses"][0]["max_deploys"] == 1
        again = client.get(GATE, headers=reader)  # the one deploy is used: frozen again
        assert again.status_code == 423 and again.json()["reasons"][0]["freeze"] == freeze_id

    with runtime.sessions() as session:
        audit_rows = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "ReleaseFreeze")).all()
        assert [(a.action, a.reason) for a in audit_rows] == [("bypass", "hotfix for INC-12")]
        titles = [e.title for e in session.scalars(select(TimelineEvent).where(TimelineEvent.service == "jobs-api"))]
        assert any("bypassed by" in t and "1 deploy, until 2026-11-28 14:01 UTC" in t for t in titles), titles


def test_a_time_boxed_bypass_expires_and_a_lift_ends_the_freeze_once(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = make_runtime()
    freeze_id = _frozen(runtime, clock, tmp_path)
    responder = _bearer(runtime, "write", "oncall@jobs.example", "responder")
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        bypass = {"reason": "hotfix for INC-12", "expires_in_minutes": 30}
        assert client.post(f"/api/v1/slo-freezes/{freeze_id}/bypass", json=bypass, headers=responder).status_code == 201
        for _ in range(3):  # any number of deploys while it lasts
            assert client.get(GATE, headers=responder).json()["allowed"] is True
        clock.advance(minutes=31)
        assert client.get(GATE, headers=responder).status_code == 423  # expired

        reader = _bearer(runtime, "read", "viewer@jobs.example", "viewer")
        lift = client.post(f"/api/v1/slo-freezes/{freeze_id}/lift", json={"reason": "false alarm"}, headers=reader)
        assert lift.status_code == 403  # a token needs the write scope (a person the editor role, tested below)
        editor = _bearer(runtime, "write", "lead@jobs.example", "editor")
        lift = client.post(f"/api/v1/slo-freezes/{freeze_id}/lift", json={"reason": "false alarm"}, headers=editor)
        assert lift.status_code == 200, lift.text
        assert lift.json()["lifted_by"] == "lead@jobs.example" and lift.json()["lift_reason"] == "false alarm"
        assert client.get(GATE, headers=editor).json() == {
            "service": "jobs-api",
            "allowed": True,
            "since": None,
            "reasons": [],
            "bypasses": [],
            "detail": None,
        }
        twice = client.post(f"/api/v1/slo-freezes/{freeze_id}/lift", json={"reason": "again"}, headers=editor)
        assert twice.status_code == 409 and "lifted by lead@jobs.example" in twice.json()["detail"]
        missing = client.post("/api/v1/slo-freezes/9999/lift", json={"reason": "x"}, headers=editor)
        assert missing.status_code == 404
    with runtime.sessions() as session:
        assert session.scalar(select(SloFreeze.lift_reason).where(SloFreeze.id == freeze_id)) == "false alarm"
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "ReleaseFreeze")).all()
        assert sorted(actions) == ["bypass", "lift"]
        ended = session.scalars(select(TimelineEvent.title).where(TimelineEvent.kind == "slo_policy")).all()
        assert "Release freeze of jobs-api lifted by lead@jobs.example: false alarm" in ended


def _browser(runtime: Runtime, client: TestClient, email: str, role: str) -> str:
    create_user(runtime, email, role)
    client.cookies.clear()
    assert post_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303
    return csrf_of(client.get("/services").text)


def test_the_freeze_and_its_cause_show_on_the_service_slo_and_flags_pages_with_forms_that_act(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = make_runtime()
    freeze_id = _frozen(runtime, clock, tmp_path, ("flags.yaml", FLAGS), ("service.yaml", SERVICE))
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        csrf = _browser(runtime, client, "viewer@jobs.example", "viewer")
        for page in ("/services/jobs-api", "/slos/apply-for-job", "/slos", "/flags/prod"):
            html = client.get(page).text
            assert f'id="freeze-{freeze_id}"' in html, page
            assert 'Releases of <a href="/services/jobs-api">jobs-api</a> are frozen' in html, page
            assert "error budget remaining below 25%" in html, page  # the cause
            assert f'action="/slos/freezes/{freeze_id}/bypass"' in html, page
        assert "releases frozen since 2026-11-28 12:01 UTC" in client.get("/services").text  # the catalog column
        refused = client.post(
            f"/slos/freezes/{freeze_id}/lift", data={"csrf_token": csrf, "reason": "no", "next": "/flags/prod"}
        )
        assert refused.status_code == 403 and "lacks the &#39;write&#39; permission" in refused.text

        csrf = _browser(runtime, client, "oncall@jobs.example", "responder")
        blank = client.post(f"/slos/freezes/{freeze_id}/bypass", data={"csrf_token": csrf, "reason": ""})
        assert blank.status_code == 400 and "a reason is required" in blank.text and "unchanged" in blank.text
        done = client.post(
            f"/slos/freezes/{freeze_id}/bypass",
            data={"csrf_token": csrf, "reason": "hotfix for INC-12", "expires_in": "1h", "max_deploys": "2",
                  "next": "//evil.example/"},
            follow_redirects=False,
        )  # fmt: skip
        assert done.status_code == 303 and done.headers["location"] == "/slos"  # never off-site
        shown = client.get("/flags/prod").text
        assert "Deploys pass: bypass by <strong>oncall@jobs.example</strong>" in shown and "0 of 2 deploys" in shown

        csrf = _browser(runtime, client, "lead@jobs.example", "editor")
        lifted = client.post(
            f"/slos/freezes/{freeze_id}/lift",
            data={"csrf_token": csrf, "reason": "budget fine after the fix", "next": "/services/jobs-api"},
            follow_redirects=False,
        )
        assert lifted.status_code == 303 and lifted.headers["location"] == "/services/jobs-api"
        page = client.get("/services/jobs-api").text
        assert f'id="freeze-{freeze_id}"' not in page
        assert "lifted by lead@jobs.example: budget fine after the fix" in page  # on the service's timeline
    with runtime.sessions() as session:
        assert session.scalar(select(SloFreezeBypass.granted_by)) == "oncall@jobs.example"
        sources = session.scalars(select(AuditEntry.source).where(AuditEntry.object_type == "ReleaseFreeze")).all()
        assert sorted(sources) == ["ui", "ui"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")


def test_the_cli_bypasses_and_lifts_as_a_mamori_user(
    cli_env: None, make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = make_runtime()
    freeze_id = _frozen(runtime, clock, tmp_path)
    create_user(runtime, "oncall@jobs.example", "responder")
    create_user(runtime, "viewer@jobs.example", "viewer")
    runner = CliRunner()
    base = ["slo", "freeze"]
    stranger = runner.invoke(cli_app, [*base, "bypass", str(freeze_id), "--by", "nobody", "--reason", "x"])
    assert stranger.exit_code != 0 and "no active Mamori user" in stranger.output
    viewer = runner.invoke(cli_app, [*base, "bypass", str(freeze_id), "--by", "viewer@jobs.example", "--reason", "x"])
    assert viewer.exit_code != 0 and "needs the responder role" in viewer.output
    bad = runner.invoke(
        cli_app, [*base, "bypass", str(freeze_id), "--by", "oncall@jobs.example", "--reason", "x", "--for", "2 hours"]
    )
    assert bad.exit_code != 0 and "--for '2 hours'" in bad.output
    ok = runner.invoke(
        cli_app,
        [*base, "bypass", str(freeze_id), "--by", "oncall@jobs.example", "--reason", "hotfix INC-12", "--for", "2h"],
    )
    assert ok.exit_code == 0, ok.output
    assert "allowed: bypass by oncall@jobs.example until" in orjson.loads(ok.stdout)["detail"]
    listed = runner.invoke(cli_app, [*base, "list", "--service", "jobs-api"])
    assert orjson.loads(listed.stdout)[0]["bypass"]["reason"] == "hotfix INC-12"
    lift = runner.invoke(cli_app, [*base, "lift", str(freeze_id), "--by", "oncall@jobs.example", "--reason", "x"])
    assert lift.exit_code != 0 and "needs the editor role" in lift.output
    with runtime.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "ReleaseFreeze")).one()
        assert (entry.actor, entry.source, entry.action) == ("oncall@jobs.example", "cli", "bypass")


def test_a_lift_waits_for_a_bypass_holding_the_freeze_row_and_then_refuses(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    """Read-modify-write of a freeze takes its row lock: a lift started while a bypass holds the row waits for
    it, re-reads the row, and a second lift after the first finds the freeze ended (409), never two lifts."""
    runtime = make_runtime()
    freeze_id = _frozen(runtime, clock, tmp_path)
    lead, other = Actor("lead@jobs.example", "api"), Actor("other@jobs.example", "api")
    outcome: list[str] = []

    def second_lift() -> None:
        with runtime.sessions() as session:
            try:
                freezes.lift(session, runtime.bus, freeze_id=freeze_id, actor=other, reason="me too", now=runtime.now())
                session.commit()
                outcome.append("lifted")
            except Conflict as exc:
                outcome.append(exc.detail)

    with runtime.sessions() as first:
        freezes.lift(first, runtime.bus, freeze_id=freeze_id, actor=lead, reason="fixed", now=runtime.now())
        thread = threading.Thread(target=second_lift)
        thread.start()
        until_blocked_or_done(runtime, thread)
        first.commit()
    thread.join(timeout=20)
    assert len(outcome) == 1 and "already ended" in outcome[0] and "lifted by lead@jobs.example" in outcome[0]
    with runtime.sessions() as session:
        assert session.get(SloFreeze, freeze_id).lifted_by == "lead@jobs.example"  # type: ignore[union-attr]
