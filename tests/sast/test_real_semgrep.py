"""The real Semgrep (OSS, from PyPI; not a dependency of Mamori: .ci/run installs it in its own virtualenv)
with local rules on the file Mamori writes and edits: lines inserted above and re-indentation keep both
findings, JSON first and SARIF after, and Bandit's findings at the same places join them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.core.runtime import Runtime
from mamori.sast.cli import sast_app
from tests.support import require_binary

REAL = Path(__file__).parent / "data" / "real"


def _scan(semgrep: str, checkout: Path, fmt: str, out: Path) -> Path:
    args = [semgrep, "scan", "--config", "rules.yaml", f"--{fmt}", "--metrics=off", "--disable-version-check", "-q"]
    args += ["--no-git-ignore", "app"]
    done = subprocess.run(args, cwd=checkout, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out.write_bytes(done.stdout)
    return out


@pytest.mark.slow
def test_real_semgrep_runs_keep_their_findings_across_an_edit(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    semgrep = require_binary("semgrep")
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("MAMORI_GITHUB_TOKEN", raising=False)
    checkout = tmp_path / "repo"
    (checkout / "app").mkdir(parents=True)
    shutil.copy(REAL / "semgrep_rules.yaml", checkout / "rules.yaml")
    source = checkout / "app" / "jobs.py"
    source.write_text((REAL / "jobs_first.py.txt").read_text())
    cli = CliRunner()
    args = ["--repo", "acme/jobs", "--checkout", str(checkout)]
    first = _scan(semgrep, checkout, "json", tmp_path / "first.json")
    assert [r["start"]["line"] for r in json.loads(first.read_text())["results"]] == [10, 14]
    done = cli.invoke(sast_app, ["upload", str(first), "--commit", "c1", *args])
    assert done.exit_code == 0, done.output
    (scan,) = json.loads(done.stdout)["scans"]
    assert (scan["tool"], scan["counts"]["new"]) == ("semgrep", 2)

    source.write_text((REAL / "jobs_second.py.txt").read_text())
    second = _scan(semgrep, checkout, "sarif", tmp_path / "second.sarif")
    done = cli.invoke(sast_app, ["upload", str(second), "--commit", "c2", *args])
    assert done.exit_code == 0, done.output
    (scan,) = json.loads(done.stdout)["scans"]
    assert (scan["counts"]["new"], scan["counts"]["moved"], scan["counts"]["fixed"]) == (0, 2, 0)
    findings = json.loads(cli.invoke(sast_app, ["findings", "--repo", "acme/jobs"]).stdout)
    assert sorted((f["line"], f["cwe"]) for f in findings) == [(17, "CWE-78"), (20, "CWE-327")]
