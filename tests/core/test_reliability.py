"""The Service Reliability Hierarchy: a pure function places a service from its domains' signals, and the
catalog, the service page and the API show each service's level with what the next one lacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from mamori.core import manifest, reliability
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.models import ConfigObject
from mamori.core.runtime import ReliabilitySignal, Runtime
from mamori.core.worker import Worker
from mamori.incidents.response import service as response
from mamori.slo import service as slo_service
from tests.slo.helpers import CHECKOUT_SLO, write
from tests.slo.test_freeze_lift_bypass import FLAGS, POLICY
from tests.web.conftest import Login
from tests.web.conftest import login as login  # noqa: PLC0414  (the fixture, re-exported for pytest)


def _s(level: str, met: bool, name: str = "x") -> ReliabilitySignal:
    return ReliabilitySignal(level, name, met, f"{name} evidence")


def test_nothing_known_is_below_monitoring() -> None:
    found = reliability.standing([])
    assert (found.level, found.rank, found.next) == (None, 0, "monitoring")
    assert found.missing == ("nothing Mamori knows measures it yet",)
    assert found.summary() == "0/7 below monitoring · next, Monitoring: nothing Mamori knows measures it yet"


def test_a_level_holds_only_when_all_its_signals_and_every_level_below_hold() -> None:
    found = reliability.standing(
        [
            _s("monitoring", True, "fed"),
            _s("monitoring", True, "pages"),
            _s("incident_response", False, "reach"),
            _s("postmortems", True, "pm"),  # met, but above an unmet level: it does not count
        ]
    )
    assert (found.level, found.next, found.missing) == ("monitoring", "incident_response", ("reach (reach evidence)",))
    assert found.summary() == "1/7 Monitoring · next, Incident response: reach (reach evidence)"
    mixed = reliability.standing([_s("monitoring", True), _s("monitoring", False, "pages")])
    assert mixed.level is None and mixed.missing == ("pages (pages evidence)",)


def test_the_top_and_the_levels_nobody_measures() -> None:
    everything = [_s(level, True) for level in reliability.LEVELS]
    assert reliability.standing(everything).summary() == "7/7 Product"
    assert reliability.standing(everything).next is None
    up_to_testing = reliability.standing([_s(level, True) for level in reliability.LEVELS[:4]])
    assert (up_to_testing.level, up_to_testing.next) == ("testing_release", "capacity_planning")
    assert up_to_testing.missing == ("nothing Mamori knows measures it yet",)
    with pytest.raises(ValueError, match="unknown reliability level"):
        reliability.standing([_s("vibes", True)])


def test_recency_signals() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    latest = {"a": now - timedelta(days=3), "b": now - timedelta(days=40)}
    out = reliability.recency("testing_release", "SAST scans", latest, ["a", "b", "c"], now, within=timedelta(days=30))
    assert [s.met for name in "abc" for s in out[name]] == [True, False, False]
    assert out["b"][0].evidence == "last on 2026-10-19 (wanted: within 30 days)"
    assert out["c"][0].evidence == "never (wanted: within 30 days)"


ORG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: alice}
spec:
  email: alice@jobs.example
  name: Alice
  contacts: [{type: email, address: alice@jobs.example}]
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: backend}
spec: {members: [{user: alice}]}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec: {owner: backend, tier: 1}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: backend}
spec:
  steps: [{notify: {users: [alice@jobs.example]}, escalateAfter: 5m}]
"""


def test_the_catalog_service_page_and_api_show_where_a_service_stands(
    runtime: Runtime, client: TestClient, clock: FixedClock, tmp_path: Path, login: Login
) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    write(tmp_path / "cfg", "org.yaml", ORG)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    ts = (runtime.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 200}] * 50
    with runtime.sessions.begin() as session:
        slo_service.ingest(session, data=b"\n".join(orjson.dumps(x) for x in lines))
    clock.advance(minutes=1)
    Worker(runtime).run_until_idle()

    login("viewer@jobs.example", "viewer")
    catalog = client.get("/services").text
    assert "Reliability level" in catalog
    assert "3/7 Postmortem and root-cause analysis · next, Testing and release procedures: " in catalog
    body = client.get("/api/v1/services/jobs-api/reliability").json()
    assert (body["rank"], body["level"], body["next"]) == (3, "postmortems", "testing_release")
    met = {s["name"]: s["met"] for s in body["signals"]}
    assert met["SLOs fed with data"] and met["burn alerts that page"] and met["on-call that reaches a person"]
    assert not met["releases gated by the error budget"] and not met["releases behind feature flags"]
    assert not met["SAST scans"] and not met["drills"]
    assert any(m.startswith("releases behind feature flags (no flag set") for m in body["missing"])
    assert client.get("/api/v1/services/nope/reliability").status_code == 404

    with runtime.sessions.begin() as session:  # a SEV1 resolved without its postmortem published
        incident = response.declare(
            session, runtime, title="Apply down", severity="SEV1", actor=Actor("t", "ui"), now=runtime.now(),
            service="jobs-api",
        )  # fmt: skip
        response.set_status(
            session, runtime, incident=incident, status="resolved", actor=Actor("t", "ui"), now=runtime.now()
        )
        number = incident.number
    body = client.get("/api/v1/services/jobs-api/reliability").json()
    assert (body["rank"], body["next"]) == (2, "postmortems")
    assert body["missing"] == [f"postmortems for its incidents (0 of 1 published; missing for #{number})"]
    page = client.get("/services/jobs-api").text
    assert "Service Reliability Hierarchy: 2/7 Incident response" in page
    assert f"missing for #{number}" in page and "nothing Mamori knows measures it yet" in page

    # The owner team's policy goes: nobody is reached, and the service falls to monitoring.
    with runtime.sessions.begin() as session:
        session.execute(delete(ConfigObject).where(ConfigObject.kind == "EscalationPolicy"))
    body = client.get("/api/v1/services/jobs-api/reliability").json()
    assert (body["rank"], body["next"]) == (1, "incident_response")
    assert "owner team backend has no EscalationPolicy" in body["missing"][0]

    # A flag set guarded by the service and a policy that freezes its releases: both release signals hold.
    write(tmp_path / "more", "flags.yaml", FLAGS)
    write(tmp_path / "more", "policy.yaml", POLICY)
    manifest.apply(runtime, manifest.load(tmp_path / "more", runtime.kinds), actor=Actor(name="t", source="config"))
    body = client.get("/api/v1/services/jobs-api/reliability").json()
    met = {s["name"]: (s["met"], s["evidence"]) for s in body["signals"]}
    assert met["releases behind feature flags"] == (True, "flag sets in prod")
    assert met["releases gated by the error budget"] == (True, "ErrorBudgetPolicy jobs-api-budget freezes releases")
