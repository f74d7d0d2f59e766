"""Nobody is left unpaged without knowing it: an SLO burn goes through the `slo` AlertRoute, else to the service's
owner team's escalation policy; when nobody can be reached the alert page and the catalog say so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.alerts import reach
from mamori.incidents.alerts.burns import ingest_slo_burn
from mamori.incidents.kinds.documents import AlertRouteSpec, EscalationPolicySpec, ScheduleSpec
from mamori.incidents.models import AlertGroup
from tests.incidents.fakes import apply_config, install_fakes
from tests.web.conftest import Login
from tests.web.conftest import login as login  # noqa: PLC0414  (the fixture, re-exported for pytest)

ORG = """\
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: backend}
spec: {members: [{user: alice}]}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: frontend}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: ghosts}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec: {owner: backend}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-web}
spec: {owner: frontend}
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: haunted}
spec: {owner: ghosts}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: ghosts}
spec:
  steps:
    - notify: {users: [casper@example.com]}
      escalateAfter: 5m
"""


@dataclass(frozen=True)
class Burn:
    slo: str
    service: str
    objective: float = 99.5
    severity: str = "page"
    long_window: str = "1h"
    short_window: str = "5m"
    burn_rate: float = 15.2
    threshold: float = 14.4
    at: datetime = datetime(2026, 11, 28, 11, 59, tzinfo=UTC)


def _burn(runtime: Runtime, event: Burn) -> AlertGroup:
    with runtime.sessions.begin() as s:
        ingest_slo_burn(JobContext(s, 0, 1, runtime.now(), runtime), event)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as s:
        group = s.scalars(select(AlertGroup).where(AlertGroup.service == event.service)).one()
        s.expunge(group)
        return group


def test_a_burn_without_an_slo_route_pages_the_owner_teams_policy(runtime: Runtime, tmp_path: Path) -> None:
    apply_config(runtime, tmp_path / "c", ORG)
    fakes = install_fakes(runtime)
    group = _burn(runtime, Burn(slo="apply", service="jobs-api"))
    assert (group.escalation_policy, group.team, group.severity) == ("backend", "backend", "SEV2")
    assert fakes["email"].sent, "the owner team's policy paged someone"


def test_the_owner_teams_policy_fills_in_where_the_slo_route_gives_none(runtime: Runtime, tmp_path: Path) -> None:
    route = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: slo}
spec:
  groupBy: [slo]
  routes: [{matchers: ['slo="checkout"'], set: {severity: SEV1, escalationPolicy: ghosts}}]
  default: {severity: SEV3}
"""
    apply_config(runtime, tmp_path / "c", ORG, route)
    install_fakes(runtime)
    routed = _burn(runtime, Burn(slo="checkout", service="jobs-api"))  # its own route wins
    assert (routed.escalation_policy, routed.severity) == ("ghosts", "SEV1")
    fallback = _burn(runtime, Burn(slo="search", service="jobs-web"))
    assert fallback.escalation_policy is None  # frontend has no policy: nobody
    with runtime.sessions() as s:
        view = reach.OnCallView.stored(s)
    labels = reach.burn_labels(slo="search", service="jobs-api", severity="page")
    assert reach.burn_route(view, labels).spec.default.escalation_policy == "backend"  # the route's default had none


def test_the_alert_page_and_the_catalog_say_when_nobody_can_be_reached(
    runtime: Runtime, client: TestClient, login: Login, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c", ORG)
    install_fakes(runtime)
    paged = _burn(runtime, Burn(slo="apply", service="jobs-api"))
    no_policy = _burn(runtime, Burn(slo="search", service="jobs-web"))
    no_contact = _burn(runtime, Burn(slo="spooky", service="haunted"))
    login("ada@example.com", "viewer")

    assert "Nobody can be reached" not in client.get(f"/alerts/{paged.id}").text
    page = client.get(f"/alerts/{no_policy.id}").text
    assert "Nobody can be reached" in page
    assert "owner team frontend has no EscalationPolicy (none named frontend, no AlertRoute sets it)" in page
    page = client.get(f"/alerts/{no_contact.id}").text
    assert "Nobody can be reached" in page and "casper@example.com, none of them a user with a contact" in page

    catalog = client.get("/services").text
    assert "SLO burns page" in catalog
    assert "policy backend: " in catalog  # jobs-api reaches people
    assert "nobody: no AlertRoute slo; owner team frontend has no EscalationPolicy" in catalog
    api = client.get("/api/v1/services/haunted").json()
    assert api["slots"]["burn_reach"].startswith("nobody: policy ghosts names casper@example.com")


def test_policy_reach_counts_schedules_users_with_contacts_and_team_channels() -> None:
    view = reach.OnCallView(contactable={"alice@example.com"}, team_channels={"ops"})
    schedule_policy = EscalationPolicySpec.model_validate(
        {"steps": [{"notify": {"schedule": "primary"}, "escalateAfter": "5m"}]}
    )
    view.schedules["primary"] = _schedule("alice@example.com")
    assert reach.policy_reach(view, "p", schedule_policy).people == ("alice@example.com",)
    view.schedules["primary"] = _schedule("bob@example.com")
    assert not reach.policy_reach(view, "p", schedule_policy).reachable
    team_policy = EscalationPolicySpec.model_validate({"steps": [{"notify": {"team": "ops"}, "escalateAfter": "5m"}]})
    assert reach.policy_reach(view, "t", team_policy).channels == ("team ops",)
    assert reach.policy_reach(view, "missing").why == "no EscalationPolicy 'missing' is stored"
    view.owners["svc"] = "ops"
    view.routes["prod"] = AlertRouteSpec.model_validate(
        {"routes": [{"matchers": ['service="svc"'], "set": {"team": "ops", "escalationPolicy": "ops-pager"}}]}
    )
    assert reach.owner_policy(view, "svc")[:2] == ("ops", "ops-pager")  # the policy a route pairs with the team
    assert reach.owner_policy(view, "nope")[2] == "no Service nope in the catalog"


def _schedule(user: str) -> ScheduleSpec:
    return ScheduleSpec.model_validate(
        {
            "timeZone": "UTC",
            "layers": [{"name": "l", "start": "2026-01-05T09:00:00", "rotation": {"type": "weekly"}, "users": [user]}],
        }
    )
