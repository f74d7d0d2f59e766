"""Managing flags: audited changes with diffs, reasons, approvals, kill switch, rollout, promotion."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, Forbidden, ValidationFailed
from mamori.core.models import AuditEntry, TimelineEvent
from mamori.core.runtime import Runtime
from mamori.flags import rollouts, service, serving
from tests.conftest import issue_token
from tests.flags.conftest import WEB_FLAGS, apply_config, sdk_key, write_config

ALICE = Actor(name="alice@jobs.example", source="api")
BOB = Actor(name="bob@jobs.example", source="api")


def _evaluate(runtime: Runtime, environment: str, key: str, context: dict[str, object] | None = None) -> object:
    with runtime.sessions() as session:
        return serving.evaluate(session, environment=environment, key=key, context=context or {})[1].value


def test_production_changes_need_a_reason_and_are_audited_with_a_diff(flags_runtime: Runtime) -> None:
    now = flags_runtime.now()
    with flags_runtime.sessions.begin() as session, pytest.raises(ValidationFailed, match="reason is required"):
        service.toggle(
            session, environment="production", key="checkout-theme", enabled=False, actor=ALICE, reason="  ", now=now
        )
    with flags_runtime.sessions.begin() as session:
        service.toggle(
            session,
            environment="production",
            key="checkout-theme",
            enabled=False,
            actor=ALICE,
            reason="INC-42: dark mode breaks checkout",
            now=now,
        )
    assert _evaluate(flags_runtime, "production", "checkout-theme") is None  # disabled: the code default
    with flags_runtime.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_id == "production/checkout-theme")).one()
        assert (entry.actor, entry.action, entry.reason) == (
            "alice@jobs.example",
            "disable",
            "INC-42: dark mode breaks checkout",
        )
        assert entry.before["state"] == "ENABLED" and entry.after["state"] == "DISABLED"
        event = session.scalars(
            select(TimelineEvent).where(TimelineEvent.kind == "flag_change", TimelineEvent.ref.is_not(None))
        ).one()
        assert event.service == "jobs-web"
        assert event.data["diff"] == ['~ state: "ENABLED" -> "DISABLED"']
    with flags_runtime.sessions.begin() as session:  # staging needs no reason
        service.toggle(
            session, environment="staging", key="checkout-theme", enabled=False, actor=ALICE, reason=None, now=now
        )


def test_a_rejected_invalid_change_leaves_the_previous_flag_set_serving(flags_runtime: Runtime) -> None:
    bad = {"state": "ENABLED", "variants": {"on": True, "off": "no"}, "defaultVariant": "on"}
    with flags_runtime.sessions.begin() as session, pytest.raises(ValidationFailed) as caught:
        service.change_flag(
            session,
            environment="staging",
            key="new-search",
            flag=bad,
            action="set",
            actor=ALICE,
            reason=None,
            now=flags_runtime.now(),
        )
    assert any(p.loc == "flags.new-search.variants" for p in caught.value.problems)
    assert _evaluate(flags_runtime, "staging", "new-search", {"email": "a@jobs.example"}) is True


def test_a_bad_config_apply_leaves_the_previous_flag_set_serving(flags_runtime: Runtime, tmp_path: Path) -> None:
    broken = {"flags": {"new-search": {"state": "ENABLED", "variants": {}}}}
    with pytest.raises(ValidationFailed):
        apply_config(flags_runtime, write_config(tmp_path / "broken", flags=broken))
    assert _evaluate(flags_runtime, "staging", "page-size") == 10


def test_a_failure_during_apply_leaves_every_environment_as_it_was(
    flags_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = copy.deepcopy(WEB_FLAGS)
    changed["flags"]["page-size"]["variants"]["small"] = 20  # valid, so the failure comes from apply itself
    bundle = manifest.load(write_config(tmp_path / "changed", flags=changed), flags_runtime.kinds)
    stored = service.store_flag_set
    calls: list[str] = []

    def second_fails(session: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["name"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return stored(session, **kwargs)

    monkeypatch.setattr(service, "store_flag_set", second_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        manifest.apply(flags_runtime, bundle, actor=Actor(name="ci", source="config"))
    assert len(calls) == 2, "the first FlagSet was stored before the second failed"
    assert _evaluate(flags_runtime, "production", "page-size") == 10
    assert _evaluate(flags_runtime, "staging", "page-size") == 10


def test_approving_a_change_made_stale_by_another_rejects_it_and_the_rejection_stays(
    runtime: Runtime, tmp_path: Path
) -> None:
    apply_config(runtime, write_config(tmp_path / "c", production_approval=True))
    now = runtime.now()
    with runtime.sessions.begin() as session:
        first = service.set_rollout(
            session, environment="production", key="new-search", percent=20, actor=ALICE, reason="a", now=now
        ).id
        second = service.set_rollout(
            session, environment="production", key="new-search", percent=40, actor=ALICE, reason="b", now=now
        ).id
    with runtime.sessions.begin() as session:
        assert service.decide_change(session, change_id=first, approve=True, actor=BOB, now=now).status == "applied"
    with runtime.sessions.begin() as session:
        assert service.decide_change(session, change_id=second, approve=True, actor=BOB, now=now).status == "rejected"
    with runtime.sessions() as session:
        assert rollouts.rollout_percent(service.get_flag(session, environment="production", key="new-search")) == 20
        assert [c.status for c in service.list_changes(session, environment="production") if c.id == second] == [
            "rejected"
        ]
    with runtime.sessions.begin() as session, pytest.raises(Conflict, match="not pending"):
        service.decide_change(session, change_id=second, approve=True, actor=BOB, now=now)


def test_production_approval_needs_a_second_person(runtime: Runtime, tmp_path: Path) -> None:
    apply_config(runtime, write_config(tmp_path / "c", production_approval=True))
    now = runtime.now()
    with runtime.sessions.begin() as session:
        change = service.set_rollout(
            session,
            environment="production",
            key="new-search",
            percent=20,
            actor=ALICE,
            reason="start the rollout",
            now=now,
        )
        change_id = change.id
        assert change.status == "pending"
    assert _evaluate(runtime, "production", "new-search", {"targetingKey": "x"}) is False  # not applied yet
    with runtime.sessions.begin() as session, pytest.raises(Forbidden, match="second person"):
        service.decide_change(session, change_id=change_id, approve=True, actor=ALICE, now=now)
    with runtime.sessions.begin() as session:
        assert service.decide_change(session, change_id=change_id, approve=True, actor=BOB, now=now).status == "applied"
    with runtime.sessions() as session:
        flag = service.get_flag(session, environment="production", key="new-search")
    assert rollouts.rollout_percent(flag) == 20
    with runtime.sessions.begin() as session, pytest.raises(Conflict, match="not pending"):
        service.decide_change(session, change_id=change_id, approve=False, actor=BOB, now=now)


def test_rollout_percentage_serves_roughly_that_share_and_sticks(flags_runtime: Runtime) -> None:
    with flags_runtime.sessions.begin() as session:
        service.set_rollout(
            session,
            environment="staging",
            key="new-search",
            percent=30,
            actor=ALICE,
            reason=None,
            now=flags_runtime.now(),
        )
    with flags_runtime.sessions() as session:
        row = serving.get_environment(session, environment="staging")
        evaluator = serving.EVALUATORS.get(row)
    served = [
        evaluator.evaluate("new-search", serving.to_context({"targetingKey": f"user-{i}"})).value for i in range(1000)
    ]
    assert 240 < sum(1 for v in served if v is True) < 360


def test_promote_copies_one_flag_between_environments(flags_runtime: Runtime) -> None:
    now = flags_runtime.now()
    with flags_runtime.sessions.begin() as session:
        service.set_rollout(
            session, environment="staging", key="new-search", percent=50, actor=ALICE, reason=None, now=now
        )
        service.promote(
            session,
            key="new-search",
            source="staging",
            target="production",
            actor=ALICE,
            reason="staging looked fine for a week",
            now=now,
        )
    with flags_runtime.sessions() as session:
        assert rollouts.rollout_percent(service.get_flag(session, environment="production", key="new-search")) == 50
        assert service.list_changes(session, environment="production")[0].action == "promote from staging"


def test_api_edit_toggle_approve_and_errors(runtime: Runtime, client: TestClient, tmp_path: Path) -> None:
    apply_config(runtime, write_config(tmp_path / "c", production_approval=True))
    alice = {"Authorization": f"Bearer {issue_token(runtime, 'write', email='alice@jobs.example', role='editor')}"}
    bob = {"Authorization": f"Bearer {issue_token(runtime, 'write', email='bob@jobs.example', role='editor')}"}
    new_flag = {
        "flag": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b"},
        "reason": "new experiment",
    }
    created = client.put("/api/v1/flags/production/flags/experiment", json=new_flag, headers=alice)
    assert created.status_code == 200 and created.json()["status"] == "pending"
    assert created.json()["diff"] == [
        '+ .: {"defaultVariant": "b", "state": "ENABLED", "variants": {"a": "a", "b": "b"}}'
    ]
    approved = client.post(f"/api/v1/flags/changes/{created.json()['id']}/approve", headers=bob)
    assert approved.status_code == 200 and approved.json()["status"] == "applied"
    sdk = {"X-API-Key": sdk_key(runtime, "production")}
    assert client.post("/ofrep/v1/evaluate/flags/experiment", json={}, headers=sdk).json()["value"] == "b"
    no_reason = client.post("/api/v1/flags/production/flags/experiment/toggle", json={"enabled": False}, headers=alice)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    bad = client.put(
        "/api/v1/flags/staging/flags/x", headers=alice, json={"flag": {"variants": {"a": 1}, "defaultVariant": "zz"}}
    )
    assert bad.status_code == 422 and "flags.x.defaultVariant" in bad.text
    assert (
        client.post(
            "/api/v1/flags/production/flags/nope/rollout", json={"percent": 5, "reason": "r"}, headers=alice
        ).status_code
        == 404
    )
    listing = client.get("/api/v1/flags/production/flags", headers=alice).json()
    assert {f["key"] for f in listing} >= {"experiment", "new-search"}
