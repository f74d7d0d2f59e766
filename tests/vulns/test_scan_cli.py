"""`mamori vulns scan`: the issue's JSON shape, SARIF, exit codes, broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.vulns.cli import vulns_app

ADVISORY = {
    "id": "GHSA-demo-0001",
    "modified": "2026-01-01T00:00:00Z",
    "aliases": ["CVE-2026-0001"],
    "summary": "demo issue",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "mistune"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.3"}]}],
        }
    ],
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "requirements.txt").write_text("mistune==2.0.2\nflask>=2\n")
    (tmp_path / "adv").mkdir()
    (tmp_path / "adv" / "a.json").write_text(json.dumps(ADVISORY))
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(vulns_app, ["scan", *args])
    return result.exit_code, result.stdout


def test_scan_prints_one_finding_per_occurrence_in_the_issue_shape(project: Path) -> None:
    code, out = run(str(project / "app"), "--advisories", str(project / "adv"))
    assert code == 0
    assert json.loads(out) == {
        "findings": [
            {
                "ecosystem": "PyPI",
                "package": "mistune",
                "version": "2.0.2",
                "purl": "pkg:pypi/mistune@2.0.2",
                "advisory_id": "GHSA-demo-0001",
                "aliases": ["CVE-2026-0001"],
                "severity": "CRITICAL",
                "fixed_versions": ["2.0.3"],
                "source_file": str(project / "app" / "requirements.txt"),
            }
        ]
    }


def test_fail_on_exits_1_only_when_a_finding_reaches_it(project: Path) -> None:
    assert run(str(project / "app"), "--advisories", str(project / "adv"), "--fail-on", "critical")[0] == 1
    (project / "app" / "requirements.txt").write_text("mistune==2.0.3\n")
    assert run(str(project / "app"), "--advisories", str(project / "adv"), "--fail-on", "low")[0] == 0


def test_sarif_output_is_2_1_0_with_a_rule_per_advisory(project: Path) -> None:
    code, out = run(str(project / "app"), "--advisories", str(project / "adv"), "--format", "sarif")
    sarif = json.loads(out)
    assert code == 0 and sarif["version"] == "2.1.0"
    assert [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]] == ["GHSA-demo-0001"]
    assert sarif["runs"][0]["results"][0]["level"] == "error"


def test_missing_path_is_bad_input(project: Path) -> None:
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "nope")])
    assert result.exit_code == 2
    assert f"{project / 'nope'}: no such file or directory" in result.stderr


def test_broken_lockfile_is_named_and_the_rest_still_scans(project: Path) -> None:
    (project / "app" / "package-lock.json").write_text("{broken")
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "app"), "--advisories", str(project / "adv")])
    assert result.exit_code == 2
    assert len(json.loads(result.stdout)["findings"]) == 1
    assert "package-lock.json: could not extract" in result.stderr


def test_table_format_lists_findings(project: Path) -> None:
    code, out = run(str(project / "app"), "--advisories", str(project / "adv"), "--format", "table")
    assert code == 0 and "GHSA-demo-0001" in out and "1 finding(s) in 1 file(s)" in out
