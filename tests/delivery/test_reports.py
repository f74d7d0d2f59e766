"""Test and coverage reports through the API and CLI: stored whole or not at all, flaky tests found across
runs of one commit, shown on the service page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.runtime import Runtime
from mamori.delivery.models import DeliveryCoverage, DeliveryTestCase, DeliveryTestRun
from mamori.delivery.service import health
from tests.conftest import T0, issue_token
from tests.delivery.test_demo_and_pages import seed_demo
from tests.support import peers
from tests.web.conftest import Login

GCOVR = ("delivery", "gcovr+gcovr", "tests", "nested", "reference", "linked", "gcc-5")
JUNIT = ("delivery", "EnricoMi+publish-unit-test-result-action", "python", "test", "files", "junit-xml")
PASS = (
    b'<testsuite><testcase classname="c" name="slow" time="9"/>'
    b'<testcase classname="c" name="wobbly" time="1"/></testsuite>'
)
FAIL = PASS.replace(b'time="1"/>', b'time="1"><failure/></testcase>')


@pytest.fixture
def ci(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(runtime, 'ingest', 'read')}"}


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_pass_and_a_failure_on_one_commit_make_a_flaky_test(
    client: TestClient, runtime: Runtime, ci: dict[str, str]
) -> None:
    for body in (FAIL, PASS):
        response = client.post("/api/v1/delivery/tests?service=jobs-api&sha=abc", content=body, headers=ci)
        assert response.status_code == 201, response.text
    other_commit = client.post("/api/v1/delivery/tests?service=jobs-api&sha=def", content=FAIL, headers=ci)
    assert other_commit.json()["failures"] == 1
    with runtime.sessions() as session:
        report = health.health(session, service="jobs-api", since=T0.replace(year=2000))
    assert report.flaky == ["c::wobbly"]
    assert report.slowest[0].test_id == "c::slow" and report.slowest[0].median_s == 9
    assert report.pass_rate == pytest.approx(4 / 6)  # slow passes thrice, wobbly once in three


def test_an_unreadable_report_stores_nothing_and_says_where(
    client: TestClient, runtime: Runtime, ci: dict[str, str]
) -> None:
    corrupt = peers(*JUNIT, "pytest", "corrupt-xml.xml").read_bytes()
    response = client.post("/api/v1/delivery/tests?service=jobs-api", content=corrupt, headers=ci)
    assert response.status_code == 422 and "line 11" in response.json()["errors"][0]["msg"]
    bad_cov = client.post("/api/v1/delivery/coverage?service=jobs-api", content=b"SF:a\nDA:x\n", headers=ci)
    assert bad_cov.status_code == 422 and "line 2" in bad_cov.json()["errors"][0]["msg"]
    assert _count(runtime, DeliveryTestRun) == _count(runtime, DeliveryCoverage) == 0


def test_coverage_formats_store_the_same_totals(client: TestClient, runtime: Runtime, ci: dict[str, str]) -> None:
    rates = set()
    for name in ("cobertura.xml", "coverage.lcov", "jacoco.xml"):
        response = client.post(
            "/api/v1/delivery/coverage?service=jobs-api&sha=s", content=peers(*GCOVR, name).read_bytes(), headers=ci
        )
        assert response.status_code == 201, response.text
        out = response.json()
        rates.add((out["lines_valid"], out["lines_covered"], out["branches_valid"], out["branches_covered"]))
    assert rates == {(42, 25, 14, 4)}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    return database_url


def test_cli_imports_reports_all_or_none(env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    good = peers(*JUNIT, "pytest", "junit.fail.xml")
    bad = peers(*JUNIT, "non-junit.xml")
    refused = runner.invoke(app, ["delivery", "record", "test", "--service", "jobs-web", str(good), str(bad)])
    assert refused.exit_code == 2 and "not a JUnit report" in refused.output
    done = runner.invoke(app, ["delivery", "record", "test", "--service", "jobs-web", "--sha", "abc", str(good)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["tests"] == 5
    lcov = runner.invoke(
        app, ["delivery", "record", "coverage", "--service", "jobs-web", str(peers(*GCOVR, "coverage.lcov"))]
    )
    assert lcov.exit_code == 0 and json.loads(lcov.stdout)["line_rate"] == pytest.approx(25 / 42)
    missing = runner.invoke(
        app, ["delivery", "record", "coverage", "--service", "jobs-web", str(tmp_path / "nope.xml")]
    )
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_the_demo_page_shows_test_health_and_coverage_trend(client: TestClient, runtime: Runtime, login: Login) -> None:
    seed_demo(runtime)
    login()
    page = client.get("/delivery/services/jobs-web")
    assert 'id="test-health"' in page.text and "checkout::applies a discount" in page.text
    assert 'id="coverage-trend"' in page.text and "→" in page.text
    assert _count(runtime, DeliveryTestCase) > 0
