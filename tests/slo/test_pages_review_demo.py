"""Dashboard pages, SLO reviews (CLI and page), the catalog slot, charts and the demo data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.slo import charts, service, slots
from mamori.slo import demo as demo_data
from mamori.slo.models import SloAlert, SloBucket, SloStatus
from mamori.slo.service import review
from tests.slo.helpers import CHECKOUT_SLO, write


def _seed(runtime: Runtime, tmp_path: Path, *, good: int = 95, bad: int = 5) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    ts = (runtime.now() - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 200}] * good
    lines += [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 500}] * bad
    with runtime.sessions.begin() as session:
        service.ingest(session, data=b"\n".join(orjson.dumps(x) for x in lines))
        session.add(
            TimelineEvent(
                at=runtime.now() - timedelta(minutes=10),
                kind="deploy",
                source="test",
                title="Deploy jobs-api v1.2",
                service="jobs-api",
                data={},
            )
        )
    Worker(runtime).run_until_idle()


def test_slo_pages_show_budget_bars_charts_and_deploy_markers(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    _seed(runtime, tmp_path)
    listing = client.get("/slos", headers=auth_headers)
    assert listing.status_code == 200
    assert "apply-for-job" in listing.text and 'class="budget-bar"' in listing.text
    assert "ticket 1d/2h" in listing.text  # 5% errors against a 1% budget: burn 5, over the ticket thresholds
    page = client.get("/slos/apply-for-job", headers=auth_headers)
    assert page.status_code == 200
    assert page.text.count('class="chart"') == 2
    assert 'class="marker deploy"' in page.text and "Deploy jobs-api v1.2" in page.text
    assert "Burn rates" in page.text
    assert client.get("/slos/nope", headers=auth_headers).status_code == 404


def test_catalog_slot_summarises_slos_of_a_service(runtime: Runtime, tmp_path: Path) -> None:
    _seed(runtime, tmp_path)
    with runtime.sessions() as session:
        slot = slots.catalog_slot(session, ["jobs-api", "jobs-web"], runtime.now())
    assert slot == {"jobs-api": "1 SLO · lowest budget -400% (apply-for-job) · burning: ticket"}


def test_review_finds_headroom_and_exports_markdown(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    _seed(runtime, tmp_path, good=10_000, bad=0)
    now = runtime.now()
    with runtime.sessions() as session:
        [item] = review.review(session, since=now - timedelta(days=7), until=now)
    assert (item.good, item.total, item.budget_used, item.attainment) == (10_000, 10_000, 0.0, 1.0)
    assert item.deploys == 1 and item.page_alerts == 0
    assert item.suggestions and item.suggestions[0].startswith("Never at risk")
    markdown = review.as_markdown([item], since=now - timedelta(days=7), until=now)
    assert "| jobs-api | apply-for-job | apply-for-job (available) | 99.000% | 100.000% | 0% | 0 / 0 | 0 | 1 |" in (
        markdown
    )
    page = client.get("/slos/review?format=md", headers=auth_headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/markdown")
    assert "## Suggestions" in page.text
    assert "Never at risk" in client.get("/slos/review", headers=auth_headers).text


def test_review_command_prints_json(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(runtime, tmp_path)
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    result = CliRunner().invoke(
        app, ["slo", "review", "--since", "2026-11-28T00:00:00Z", "--until", "2026-11-28T12:01:00Z", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    [item] = orjson.loads(result.stdout)
    assert (item["good"], item["total"], item["ticket_alerts"]) == (95, 100, 2)
    bad = CliRunner().invoke(
        app, ["slo", "review", "--since", "2026-11-28T12:00:00Z", "--until", "2026-11-28T00:00:00Z"]
    )
    assert bad.exit_code == 2 and "--until must be after --since" in bad.output


def test_line_chart_leaves_gaps_and_escapes_labels() -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    svg = charts.line_chart(
        [(t0, 0.99), (t0 + timedelta(hours=1), None), (t0 + timedelta(hours=2), 0.95)],
        start=t0,
        end=t0 + timedelta(hours=3),
        low=0.9,
        high=1.0,
        reference=0.99,
        title="<SLI>",
        markers=[charts.Marker(t0, "deploy", "v1 & <b>")],
    )
    assert svg.count("<polyline") == 2
    assert "&lt;SLI&gt;" in svg and "v1 &amp; &lt;b&gt;" in svg and "<b>" not in svg


@pytest.mark.slow
def test_demo_seeds_slos_with_a_fast_burn_after_a_deploy_and_is_idempotent(runtime: Runtime) -> None:
    demo_data.seed(runtime)
    with runtime.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(SloBucket))
        stories = set(session.scalars(select(SloStatus.user_story)))
        paged = session.scalars(select(SloAlert).where(SloAlert.severity == "page")).all()
    assert stories == {"Apply for a job", "Save a search", "Search for jobs", "View a job"}
    assert paged and all(a.slo == "apply-for-job" for a in paged)
    demo_data.seed(runtime)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SloBucket)) == rows
