"""The demo year (deploys, PR phases, a failed deploy with its incident and rollback, the cache change), the
pages that show it, and the idempotent seed."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.delivery import demo, kinds
from mamori.delivery.models import DeliveryDeploy, DeliveryRun, DeliveryStep
from mamori.delivery.service import measures, queries
from mamori.demo import DEMO_CONFIG
from tests.conftest import issue_token
from tests.web.conftest import Login


def seed_demo(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="demo", source="config"))
    demo.seed(runtime)


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_year_gives_dora_figures_with_the_failed_deploy_and_its_rollback(runtime: Runtime) -> None:
    seed_demo(runtime)
    now = runtime.now()
    with runtime.sessions() as session:
        policy = kinds.policy(session)
        m = measures.measure(session, service="jobs-web", start=now - timedelta(days=90), end=now, policy=policy)
        bad = session.scalar(select(DeliveryDeploy).where(DeliveryDeploy.external_id == "jobs-web/bad"))
        rollback = session.scalar(select(DeliveryDeploy).where(DeliveryDeploy.external_id == "jobs-web/rollback"))
        assert bad is not None and rollback is not None
        assert rollback.rollback, "a redeploy of the commit that ran before is a rollback"
        assert bad.id in m.dora.failed_ids
        assert rollback.id in m.dora.unplanned_ids
        assert m.dora.attributed == {"demo-search-down": bad.id}
        assert m.dora.recovery_time_s is not None
        assert m.dora.deploys > 30 and m.dora.changes >= m.dora.deploys
        assert m.dora.lead_time_s is not None and m.pull_requests.merged > 30
        assert m.pull_requests.pickup_s is not None and m.pull_requests.cycle_s is not None
        trends = {s.step: s for s in queries.step_trends(session, service="jobs-web", since=now - timedelta(days=365))}
        assert trends["bundle install"].cache_hit_ratio is not None and 0 < trends["bundle install"].cache_hit_ratio < 1


def test_demo_seed_is_idempotent(runtime: Runtime) -> None:
    seed_demo(runtime)
    before = (_count(runtime, DeliveryDeploy), _count(runtime, DeliveryRun), _count(runtime, DeliveryStep))
    demo.seed(runtime)
    assert (_count(runtime, DeliveryDeploy), _count(runtime, DeliveryRun), _count(runtime, DeliveryStep)) == before
    assert before[0] > 100 and before[2] == before[1] * len(demo.STEPS)


def test_pages_show_tiles_deploys_and_a_waterfall(client: TestClient, runtime: Runtime, login: Login) -> None:
    seed_demo(runtime)
    login()
    overview = client.get("/delivery")
    assert overview.status_code == 200 and "/delivery/services/jobs-web" in overview.text
    page = client.get("/delivery/services/jobs-web")
    assert page.status_code == 200
    for tile in ("tile-frequency", "tile-lead-time", "tile-fail-rate", "tile-recovery", "tile-rework"):
        assert f'id="{tile}"' in page.text
    assert "failed change" in page.text and "rollback" in page.text
    assert "<td>main</td><td>production</td>" in page.text and "<td>main</td><td>staging</td>" in page.text
    assert 'id="pages-per-person"' in page.text and "aiko@jobs.example</td><td>2" in page.text
    assert "band-" in page.text
    with runtime.sessions() as session:
        run = session.scalar(
            select(DeliveryRun).where(DeliveryRun.service == "jobs-web").order_by(DeliveryRun.created_at.desc())
        )
        assert run is not None
        run_id = run.id
    waterfall = client.get(f"/delivery/runs/{run_id}")
    assert waterfall.status_code == 200
    assert waterfall.text.count('class="wf-row') == 1 + len(demo.STEPS)
    assert "cached" in waterfall.text
    assert client.get("/delivery/runs/nope").status_code == 404
    services = client.get("/services")
    assert "prod deploys / 30d" in services.text


def test_pr_figures_per_repo_and_per_author_only_when_the_policy_opts_in(client: TestClient, runtime: Runtime) -> None:
    seed_demo(runtime)
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'read')}"}
    by_repo = client.get("/api/v1/delivery/services/jobs-web/pull-requests?group=repo&days=90", headers=headers)
    assert by_repo.status_code == 200 and list(by_repo.json()) == ["jobly-example/jobs-web"]
    assert by_repo.json()["jobly-example/jobs-web"]["merged"] > 30
    refused = client.get("/api/v1/delivery/services/jobs-web/pull-requests?group=author", headers=headers)
    assert refused.status_code == 403 and "pullRequestsByAuthor" in refused.json()["detail"]
