"""Concurrent edits of one environment's flag set: no update is lost, and If-Match makes a stale write fail (412)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core.audit import Actor
from mamori.core.jobs import JobContext
from mamori.core.models import AuditEntry
from mamori.core.runtime import Runtime
from mamori.flags import ramps, rollouts, service, serving
from mamori.flags.models import FlagChange, FlagRamp
from mamori.web.app import create_app
from tests.conftest import issue_token
from tests.core.concurrency import until_blocked_or_done
from tests.flags.conftest import apply_config, write_config
from tests.support import REPO

ALICE = Actor(name="alice@jobs.example", source="api")
BOB = Actor(name="bob@jobs.example", source="api")
FLAG = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}


def _audited_sets(runtime: Runtime, environment: str, prefix: str) -> int:
    with runtime.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.object_type == "Flag",
                    AuditEntry.action == "set",
                    AuditEntry.object_id.like(f"{environment}/{prefix}%"),
                )
            )
            or 0
        )


def _flags(runtime: Runtime, environment: str) -> dict[str, Any]:
    with runtime.sessions() as session:
        flags: dict[str, Any] = serving.get_environment(session, environment=environment).document["flags"]
        return flags


def _while_holding(runtime: Runtime, first: Callable[[Session], object], second: Callable[[Session], object]) -> None:
    """Run `first` in a transaction and, before it commits, `second` in another transaction on another connection."""
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with runtime.sessions.begin() as session:
                second(session)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    with runtime.sessions.begin() as session:
        first(session)
        thread = threading.Thread(target=other)
        thread.start()
        until_blocked_or_done(runtime, thread)
    thread.join(timeout=30)
    assert not thread.is_alive(), "the second transaction never finished"
    assert not errors, errors


def test_two_transactions_setting_different_flags_keep_both(flags_runtime: Runtime) -> None:
    now = flags_runtime.now()

    def set_flag(key: str, actor: Actor) -> Callable[[Session], object]:
        return lambda session: service.change_flag(
            session, environment="staging", key=key, flag=FLAG, action="set", actor=actor, reason=None, now=now
        )

    _while_holding(flags_runtime, set_flag("first", ALICE), set_flag("second", BOB))
    flags = _flags(flags_runtime, "staging")
    assert {"first", "second"} <= set(flags)
    assert _audited_sets(flags_runtime, "staging", "") == 2


def test_a_toggle_during_another_change_of_the_same_flag_keeps_that_change(flags_runtime: Runtime) -> None:
    now = flags_runtime.now()
    themed = {"state": "ENABLED", "variants": {"light": "light", "dark": "dark"}, "defaultVariant": "dark"}

    def restyle(session: Session) -> object:
        return service.change_flag(
            session, environment="staging", key="checkout-theme", flag=themed, action="set", actor=ALICE,
            reason=None, now=now,
        )  # fmt: skip

    def kill(session: Session) -> object:
        return service.toggle(
            session, environment="staging", key="checkout-theme", enabled=False, actor=BOB, reason=None, now=now
        )

    _while_holding(flags_runtime, restyle, kill)
    assert _flags(flags_runtime, "staging")["checkout-theme"] == {**themed, "state": "DISABLED"}


def _put_concurrently(base_url: str, token: str, clients: int, each: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(c: int) -> None:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            start.wait()
            for n in range(each):
                answer = http.put(f"/api/v1/flags/staging/flags/t{c}-{n}", json={"flag": FLAG})
                with lock:
                    statuses[answer.status_code] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_concurrent_puts_of_distinct_flags_over_http_all_survive(flags_runtime: Runtime, server: str) -> None:
    token = issue_token(flags_runtime, "write", email="writer@jobs.example", role="editor")
    before = set(_flags(flags_runtime, "staging"))
    statuses = _put_concurrently(server, token, clients=8, each=10)
    assert statuses == Counter({200: 80})
    flags = _flags(flags_runtime, "staging")
    assert set(flags) == before | {f"t{c}-{n}" for c in range(8) for n in range(10)}
    assert _audited_sets(flags_runtime, "staging", "t") == 80


@pytest.mark.slow
def test_client_processes_putting_distinct_flags_into_one_environment_lose_none(
    flags_runtime: Runtime, tmp_path: Path
) -> None:
    if flags_runtime.engine.dialect.name != "postgresql":
        pytest.skip("several API processes at once is the PostgreSQL set-up")
    token = issue_token(flags_runtime, "write", email="writer@jobs.example", role="editor")
    url = flags_runtime.engine.url.render_as_string(hide_password=False)
    clients, each = 4, 20
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.flags.flag_writer_main", url, token, "staging", f"p{c}", str(each), tmp_path],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
        )
        for c in range(clients)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-p{c}").exists() for c in range(clients)):
        assert time.monotonic() < deadline, "the client processes never got ready"
        assert all(p.poll() is None for p in procs), "a client process exited early"
        time.sleep(0.05)
    (tmp_path / "go").write_text("1")
    statuses: Counter[int] = Counter()
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        statuses.update(json.loads(out))
    ok = statuses[200]
    assert ok == clients * each, statuses
    flags = _flags(flags_runtime, "staging")
    assert {f"p{c}-{n}" for c in range(clients) for n in range(each)} <= set(flags)
    assert _audited_sets(flags_runtime, "staging", "p") == ok
    with flags_runtime.sessions() as session:
        applied = session.scalar(
            select(func.count())
            .select_from(FlagChange)
            .where(FlagChange.flag_key.like("p%"), FlagChange.status == "applied")
        )
    assert applied == ok


def test_a_stale_if_match_gets_412_and_changes_nothing(flags_runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {issue_token(flags_runtime, 'write', role='editor')}"}
    path = "/api/v1/flags/staging/flags/page-size"
    with TestClient(create_app(flags_runtime), base_url="https://testserver") as client:
        read = client.get(path, headers=headers)
        assert read.status_code == 200
        etag = read.headers["etag"]
        assert read.json()["variants"] == {"small": 10, "big": 50}
        bigger = {**read.json(), "defaultVariant": "big"}
        first = client.put(path, json={"flag": bigger}, headers={**headers, "If-Match": etag})
        assert first.status_code == 200, first.text
        assert first.headers["etag"] != etag
        assert client.get(path, headers=headers).headers["etag"] == first.headers["etag"]
        audited = _audited_sets(flags_runtime, "staging", "page-size")

        stale = client.put(path, json={"flag": {**bigger, "state": "DISABLED"}}, headers={**headers, "If-Match": etag})
        assert stale.status_code == 412, stale.text
        assert "If-Match" in stale.json()["detail"] and "page-size" in stale.json()["detail"]
        for method, url, body in (
            ("DELETE", path, None),
            ("POST", path + "/toggle", {"enabled": False}),
            ("POST", path + "/rollout", {"percent": 30}),
        ):
            answer = client.request(method, url, json=body, headers={**headers, "If-Match": etag})
            assert answer.status_code == 412, (method, url, answer.text)
        assert _flags(flags_runtime, "staging")["page-size"] == bigger
        assert _audited_sets(flags_runtime, "staging", "page-size") == audited

        current = client.get(path, headers=headers).headers["etag"]
        done = client.post(path + "/toggle", json={"enabled": False}, headers={**headers, "If-Match": current})
        assert done.status_code == 200, done.text
        assert _flags(flags_runtime, "staging")["page-size"]["state"] == "DISABLED"


def test_if_match_takes_the_environment_etag_and_star(flags_runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {issue_token(flags_runtime, 'write', role='editor')}"}
    with TestClient(create_app(flags_runtime), base_url="https://testserver") as client:
        listed = client.get("/api/v1/flags/staging/flags", headers=headers)
        environment_etag = listed.headers["etag"]
        assert client.get("/api/v1/flags/staging/flagd.json", headers=headers).headers["etag"] == environment_etag
        new = client.put(
            "/api/v1/flags/staging/flags/brand-new", json={"flag": FLAG}, headers={**headers, "If-Match": "*"}
        )
        assert new.status_code == 412, "If-Match: * needs the flag to exist"
        made = client.put(
            "/api/v1/flags/staging/flags/brand-new",
            json={"flag": FLAG},
            headers={**headers, "If-Match": environment_etag},
        )
        assert made.status_code == 200, made.text
        # Any change of the environment moves its ETag, so the same precondition now fails for another flag.
        again = client.put(
            "/api/v1/flags/staging/flags/page-size",
            json={"flag": FLAG},
            headers={**headers, "If-Match": environment_etag},
        )
        assert again.status_code == 412
        star = client.put(
            "/api/v1/flags/staging/flags/page-size", json={"flag": FLAG}, headers={**headers, "If-Match": "*"}
        )
        assert star.status_code == 200
        weak = client.get("/api/v1/flags/staging/flags/page-size", headers=headers).headers["etag"]
        refused = client.delete("/api/v1/flags/staging/flags/page-size", headers={**headers, "If-Match": f"W/{weak}"})
        assert refused.status_code == 412, "If-Match compares strongly: a weak tag never matches"
        gone = client.get("/api/v1/flags/staging/flags/nothing-here", headers=headers)
        assert gone.status_code == 404


def test_approving_a_change_while_the_flag_changes_rejects_it_as_stale(runtime: Runtime, tmp_path: Path) -> None:
    apply_config(runtime, write_config(tmp_path / "config", production_approval=True))
    now = runtime.now()
    system = Actor.system("test")  # system changes apply at once, even where approval is required
    with runtime.sessions.begin() as session:
        pending = service.change_flag(
            session, environment="production", key="page-size", flag=FLAG, action="set", actor=ALICE,
            reason="bigger pages", now=now,
        )  # fmt: skip
        assert pending.status == "pending"
        pending_id = pending.id
    changed = {**FLAG, "defaultVariant": "on"}

    def change(session: Session) -> object:
        return service.change_flag(
            session, environment="production", key="page-size", flag=changed, action="set", actor=system,
            reason="meanwhile", now=now,
        )  # fmt: skip

    def approve(session: Session) -> object:
        return service.decide_change(session, change_id=pending_id, approve=True, actor=BOB, now=now)

    _while_holding(runtime, change, approve)
    assert _flags(runtime, "production")["page-size"] == changed, "the approval overwrote a later change"
    with runtime.sessions() as session:
        decided = session.get(FlagChange, pending_id)
        assert decided is not None and decided.status == "rejected"


def test_a_ramp_step_due_while_a_guard_pauses_the_ramp_does_not_advance_it(flags_runtime: Runtime) -> None:
    now = flags_runtime.now()
    with flags_runtime.sessions.begin() as session:
        ramp_id = ramps.start_ramp(
            session, environment="production", key="new-search", steps=[5, 25, 50, 100], interval="1h",
            service_name=None, guard="pause", actor=ALICE, reason="ramp new search", now=now,
        ).id  # fmt: skip

    def pause(session: Session) -> object:
        ctx = JobContext(session=session, job_id=0, attempt=1, now=now, runtime=flags_runtime)
        return ramps.halt_ramps(ctx, service_name="jobs-web", why="burn alert")

    def step(session: Session) -> object:
        ramps.advance_if_due(session, ramp_id=ramp_id, step=1, now=now)
        return None

    _while_holding(flags_runtime, pause, step)
    with flags_runtime.sessions() as session:
        ramp = session.get(FlagRamp, ramp_id)
        assert ramp is not None and (ramp.status, ramp.step_index) == ("paused", 0)
        flag = service.get_flag(session, environment="production", key="new-search")
    assert rollouts.rollout_percent(flag) == 5, "a paused ramp moved on"


def test_a_config_apply_during_an_api_edit_gives_the_flag_set_a_new_version(
    flags_runtime: Runtime, tmp_path: Path
) -> None:
    now = flags_runtime.now()
    with flags_runtime.sessions() as session:
        version = serving.get_environment(session, environment="staging").version
    flags = {"flags": {"only-this": FLAG}}

    def edit(session: Session) -> object:
        return service.change_flag(
            session, environment="staging", key="extra", flag=FLAG, action="set", actor=ALICE, reason=None, now=now
        )

    def apply(_: Session) -> object:
        return apply_config(flags_runtime, write_config(tmp_path / "config-2", flags=flags))

    _while_holding(flags_runtime, edit, apply)
    with flags_runtime.sessions() as session:
        row = serving.get_environment(session, environment="staging")
        assert row.document == flags
        assert row.version == version + 2, "two different flag sets were served under one version"
