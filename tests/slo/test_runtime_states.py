"""The compiled plans and timestamp caches belong to one runtime (`Plans` in `Plugin.states`), and a test can
give the runtime its own; the slo jobs take typed payloads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from mamori.core import jobs, manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.config import Settings
from mamori.core.runtime import Runtime
from mamori.slo import jobs as slo_jobs
from mamori.slo.service import Plans
from mamori.web.app import create_app
from mamori.wiring import build_runtime, start
from tests.conftest import issue_token
from tests.slo.helpers import CHECKOUT_SLO, write


@pytest.fixture
def plans() -> Plans:
    return Plans()


@pytest.fixture
def own_runtime(settings: Settings, clock: FixedClock, plans: Plans) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock, states=[plans])
    start(runtime)
    yield runtime
    runtime.engine.dispose()


def _batch(runtime: Runtime, route: str = "/apply") -> bytes:
    ts = (runtime.now() - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    return b"\n".join(orjson.dumps({"ts": ts, "service": "jobs-api", "route": route, "status": 200}) for _ in range(3))


def _apply(runtime: Runtime, directory: Path, text: str) -> None:
    write(directory, "slo.yaml", text)
    manifest.apply(runtime, manifest.load(directory, runtime.kinds), actor=Actor(name="t", source="config"))


def test_ingest_compiles_into_the_runtimes_own_plans(own_runtime: Runtime, plans: Plans, tmp_path: Path) -> None:
    assert own_runtime.state(Plans) is plans
    _apply(own_runtime, tmp_path / "cfg", CHECKOUT_SLO)
    headers = {"Authorization": f"Bearer {issue_token(own_runtime, 'ingest')}"}
    with TestClient(create_app(own_runtime), base_url="https://testserver") as client:
        first = client.post("/api/v1/ingest/events", content=_batch(own_runtime), headers=headers)
        again = client.post("/api/v1/ingest/events", content=_batch(own_runtime), headers=headers)
        assert first.json() == again.json() == {"events": 3, "counted": 3, "buckets": 1}
        assert len(plans) == 1  # compiled once for the configuration
        minute = (own_runtime.now() - timedelta(minutes=2)).isoformat()[:16]
        assert minute in plans.stamps.prefixes  # the batch's minute is now known to this runtime

        _apply(own_runtime, tmp_path / "cfg", CHECKOUT_SLO.replace("route LIKE '/apply%'", "route = '/other'"))
        changed = client.post("/api/v1/ingest/events", content=_batch(own_runtime), headers=headers)
        assert changed.json() == {"events": 3, "counted": 0, "buckets": 0}  # the new configuration counts
        assert len(plans) == 2


def test_each_runtime_builds_its_own_plans(settings: Settings, clock: FixedClock, own_runtime: Runtime) -> None:
    other = build_runtime(settings, clock=clock)
    try:
        assert isinstance(other.state(Plans), Plans)
        assert other.state(Plans) is not own_runtime.state(Plans)
    finally:
        other.engine.dispose()


def test_policy_action_jobs_take_a_typed_payload(own_runtime: Runtime) -> None:
    with own_runtime.sessions.begin() as session:
        with pytest.raises(ValueError, match=r"slo\.policy_action"):
            jobs.enqueue(session, kind=slo_jobs.ACTION_JOB, now=own_runtime.now(), payload={"action": 1})
        job = jobs.enqueue(
            session, kind=slo_jobs.ACTION_JOB, now=own_runtime.now(), payload=slo_jobs.ActionPayload(action_id=7)
        )
        assert job.payload == {"action_id": 7}
    assert {job.kind for job in slo_jobs.JOBS} == {slo_jobs.EVALUATE_JOB, slo_jobs.ACTION_JOB}
