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


def test_no_advisories_is_its_own_exit_code_never_a_clean_scan(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAMORI_VULNS_ADVISORIES", raising=False)
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "app")])
    assert result.exit_code == 3 and result.stdout == ""
    assert "no advisories to scan against" in result.stderr and "--advisories" in result.stderr
    (project / "empty").mkdir()
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "app"), "--advisories", str(project / "empty")])
    assert result.exit_code == 3 and "no valid OSV advisory records loaded" in result.stderr
    monkeypatch.setenv("MAMORI_VULNS_ADVISORIES", str(project / "adv"))
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "app")])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["findings"]) == 1


def test_every_dependency_looking_file_not_read_is_named_with_why(project: Path) -> None:
    app = project / "app"
    (app / "package.json").write_text('{"dependencies": {"left-pad": "^1.0.0"}}')
    (app / "pom.xml").write_text("<project/>")
    (app / "requirements-dev.txt").write_text("pytest>=8\n")
    (app / "README.txt").write_text("Install with pip.\nmistune==2.0.2 is what we pin.\n")
    result = CliRunner().invoke(vulns_app, ["scan", str(app), "--advisories", str(project / "adv")])
    assert result.exit_code == 0
    assert f"skipped {app / 'package.json'}: a manifest without exact versions: scan its lockfile" in result.stderr
    assert f"skipped {app / 'pom.xml'}: not a format Mamori reads" in result.stderr
    assert f"skipped {app / 'requirements-dev.txt'}: read, but it pins no exact versions" in result.stderr
    assert "README.txt" not in result.stderr, "prose is neither read nor reported"
    assert "scanned 2 file(s) against 1 advisories; 3 skipped, 0 unreadable" in result.stderr


def test_pip_files_are_recognised_by_content_whatever_their_name(project: Path) -> None:
    app = project / "app"
    (app / "requirements.txt").unlink()
    (app / "requirements.lock").write_text(
        "# pinned by pip-compile\n--index-url https://pypi.example\nmistune==2.0.2 \\\n    --hash=sha256:abc\n"
    )
    (app / "constraints.txt").write_text("mistune==2.0.2\nflask>=2\n")
    result = CliRunner().invoke(vulns_app, ["scan", str(app), "--advisories", str(project / "adv")])
    assert result.exit_code == 0
    files = sorted(Path(f["source_file"]).name for f in json.loads(result.stdout)["findings"])
    assert files == ["constraints.txt", "requirements.lock"]


def test_an_unexpected_failure_is_never_exit_code_1(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mamori.vulns import scanning

    def explode(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(scanning.AdvisoryIndex, "scan", explode)
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "app"), "--advisories", str(project / "adv")])
    assert result.exit_code == 70
    assert "internal error while scanning: RecursionError" in result.stderr


def test_odd_versions_in_a_lockfile_scan_without_a_crash(project: Path) -> None:
    (project / "app" / "requirements.txt").write_text("mistune==\uff12.\uff10.\uff12\nflask==2\u00b2\n")
    result = CliRunner().invoke(vulns_app, ["scan", str(project / "app"), "--advisories", str(project / "adv")])
    assert result.exit_code == 0, result.stderr
