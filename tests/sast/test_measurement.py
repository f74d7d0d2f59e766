"""Each tool measured: `mamori sast scorecard` on the recorded BenchmarkPython runs, scorecards kept over
time, the team's triage as ground truth, pentest imports, and the comparison page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.demo import DEMO_CONFIG
from mamori.sast import demo, pentest
from mamori.sast.cli import sast_app
from mamori.sast.service import scoring
from tests.support import peers
from tests.web.conftest import Login


@pytest.fixture
def cli(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    return CliRunner()


def _seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="demo", source="config"))
    demo.seed(runtime)


def test_scorecard_command_scores_the_recorded_runs_side_by_side(cli: CliRunner) -> None:
    expected = peers("sast", "BenchmarkPython", "expectedresults-0.1.csv")
    runs = [str(peers("sast", "runs", name)) for name in ("bandit.sarif", "semgrep.json")]
    done = cli.invoke(sast_app, ["scorecard", "--expected", str(expected), *runs, "--format", "json", "--record"])
    assert done.exit_code == 0, done.output
    tools = {t["tool"]: t["overall"] for t in json.loads(done.stdout)["tools"]}
    assert (tools["bandit"]["tp"], tools["bandit"]["fp"], round(tools["bandit"]["score"] * 100, 1)) == (102, 43, 7.3)
    assert (tools["semgrep"]["tp"], tools["semgrep"]["fp"]) == (58, 93)
    md = cli.invoke(sast_app, ["scorecard", "--expected", str(expected), runs[0]])
    assert "| bandit | 102 |" in md.stdout and "| weakrand | CWE-330 | 73 | 31 | 217 | 0 |" in md.stdout
    stored = json.loads(cli.invoke(sast_app, ["scorecard", "--format", "json"]).stdout)
    assert [b["tool"] for b in stored["benchmarks"]] == ["bandit", "semgrep"]


def test_the_demo_scores_trend_triage_and_pentest(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.sessions() as session:
        latest = {r.tool: r.overall for r in scoring.latest(session)}
        trend = scoring.trend(session)
        triaged = {(t.tool, t.cwe): (t.tp, t.fp, t.fn) for t in scoring.triage_scores(session)}
        report = scoring.pentest_report(session, repo=demo.REPO)
    # demo suite: bandit flags 1,2,3,4,5,7 and semgrep 1,3,5,6 of 8 cases (4 real, 4 not)
    assert (latest["bandit"]["tp"], latest["bandit"]["fp"]) == (4, 2)
    assert (latest["semgrep"]["tp"], latest["semgrep"]["fp"]) == (3, 1)
    assert [len(trend[t]) for t in ("bandit", "semgrep")] == [2, 2]
    assert triaged == {("bandit", "CWE-259"): (0, 1, 0)}  # the false positive counts against bandit only
    injection, idor = report
    assert [c.tool for c in injection.caught_by] == ["bandit", "semgrep"]
    assert injection.caught_by[0].first_commit == demo.BASE and injection.caught_by[0].days_early == 1.0
    assert idor.caught_by == [] and idor.sast_finding_id is None


def test_pentest_import_is_idempotent_and_names_bad_rows(cli: CliRunner, tmp_path: Path) -> None:
    report = tmp_path / "pentest.csv"
    report.write_text(
        "title,cwe,path,endpoint,severity,date\nSQL injection in search,89,app/search.py,,high,2026-11-01\n"
    )
    first = json.loads(cli.invoke(sast_app, ["pentest", str(report), "--repo", "acme/api"]).stdout)
    assert (first["added"], first["findings"][0]["caught_by"]) == (1, [])
    again = json.loads(cli.invoke(sast_app, ["pentest", str(report), "--repo", "acme/api"]).stdout)
    assert (again["added"], again["already_known"]) == (0, 1)
    with pytest.raises(InvalidInput) as caught:
        pentest.parse("title,cwe,path,severity,date\n,abc,,urgent,yesterday\n", fmt="csv")
    assert [p.loc for p in caught.value.problems] == [
        "row 2.title",
        "row 2.cwe",
        "row 2.severity",
        "row 2.date",
        "row 2",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("findings: [{title: x, path: a.py, date: 2026-01-01, severity: urgent}]\n")
    refused = cli.invoke(sast_app, ["pentest", str(bad), "--repo", "acme/api"])
    assert refused.exit_code == 2 and "findings[0].severity" in refused.output


def test_the_scorecards_page_shows_tools_side_by_side_with_charts(
    client: TestClient, runtime: Runtime, login: Login
) -> None:
    _seed(runtime)
    login()
    page = client.get("/sast/scorecards")
    assert page.status_code == 200
    assert 'data-tool="bandit"' in page.text and 'data-tool="semgrep"' in page.text
    assert page.text.count("<svg") == 2 and "<polyline" in page.text
    assert "Command injection in the report export" in page.text and "no tool" in page.text
    api = client.get("/api/v1/sast/scorecards").json()
    assert sorted(b["tool"] for b in api["benchmarks"]) == ["bandit", "semgrep"]
    assert api["triage"] == [
        {"tool": "bandit", "cwe": "CWE-259", "tp": 0, "fp": 1, "fn": 0, "precision": 0.0, "tpr": None}
    ]
