"""`mamori vulns inventory|sync|findings|vex` against the server database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.core.runtime import Runtime
from mamori.vulns.cli import vulns_app
from tests.vulns.helpers import advisory, seed_services, write_advisories, write_repos


def test_inventory_sync_findings_and_vex_from_the_command_line(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(tmp_path / "adv", advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)))
    kev = tmp_path / "kev.json"
    kev.write_text(json.dumps({"vulnerabilities": [{"cveID": "CVE-2026-1"}]}))
    cli = CliRunner()
    inv = cli.invoke(vulns_app, ["inventory", str(repos)])
    assert inv.exit_code == 0, inv.output
    assert json.loads(inv.stdout)["services"] == ["jobs-api", "matching-worker"]
    sync = cli.invoke(vulns_app, ["sync", "--source", str(adv), "--kev", str(kev)])
    assert sync.exit_code == 0, sync.output
    assert json.loads(sync.stdout)["rescan"] == {"created": 2, "reopened": 0, "fixed": 0, "updated": 0}
    listed = json.loads(cli.invoke(vulns_app, ["findings", "--service", "jobs-api"]).stdout)
    assert [(f["advisory_id"], f["priority"], f["kev"]) for f in listed] == [("GHSA-aaaa", "P1", True)]
    doc = json.loads(cli.invoke(vulns_app, ["vex", "--format", "cyclonedx"]).stdout)
    assert doc["bomFormat"] == "CycloneDX" and doc["vulnerabilities"][0]["analysis"]["state"] == "in_triage"
    bad = cli.invoke(vulns_app, ["sync", "--source", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "no such advisory file or directory" in bad.stdout


def test_sbom_command_writes_cyclonedx_and_reads_it_back(tmp_path: Path) -> None:
    repos = write_repos(tmp_path / "repos")
    result = CliRunner().invoke(vulns_app, ["sbom", str(repos)])
    assert result.exit_code == 0, result.output
    bom = json.loads(result.stdout)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert {c["purl"] for c in bom["components"]} == {"pkg:pypi/mistune@2.0.2", "pkg:pypi/requests@2.31.0"}
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "bom.json").write_text(result.stdout)
    rescanned = json.loads(CliRunner().invoke(vulns_app, ["sbom", str(tmp_path / "again")]).stdout)
    assert {c["purl"] for c in rescanned["components"]} == {c["purl"] for c in bom["components"]}
    missing = CliRunner().invoke(vulns_app, ["sbom", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or directory" in missing.output
