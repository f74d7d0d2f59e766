"""The real Bandit (PyPI, with its SARIF extra) on a small project Mamori writes, edited between two runs:
lines inserted above and re-indentation keep every finding, a `# nosec` comment is read, the gate passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.core.runtime import Runtime
from mamori.sast.cli import sast_app
from tests.support import require_binary

FIRST = """import hashlib
import subprocess


def run(cmd):
    subprocess.call(cmd, shell=True)


def digest(data):
    return hashlib.md5(data).hexdigest()
"""
SECOND = """import hashlib
import logging
import subprocess

log = logging.getLogger(__name__)


class Jobs:
    def run(self, cmd):
        subprocess.call(cmd, shell=True)

    def digest(self, data):
        return hashlib.md5(data).hexdigest()  # nosec B324: a cache key, not a signature
"""


def _bandit() -> str:
    found = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    return found if Path(found).exists() else require_binary("bandit")


def _scan(bandit: str, checkout: Path, out: Path) -> Path:
    # --ignore-nosec: Bandit still reports the line, and Mamori shows the comment as an in-source suppression
    subprocess.run([bandit, "-r", str(checkout), "-f", "sarif", "-o", str(out), "-q", "--ignore-nosec"], check=False)
    assert out.is_file(), "bandit wrote no report"
    return out


@pytest.mark.slow
def test_real_bandit_runs_keep_their_findings_across_an_edit(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bandit = _bandit()
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    checkout = tmp_path / "repo"
    (checkout / "app").mkdir(parents=True)
    source = checkout / "app" / "jobs.py"
    source.write_text(FIRST)
    cli = CliRunner()
    first = _scan(bandit, checkout, tmp_path / "first.sarif")
    args = ["--repo", "acme/jobs", "--checkout", str(checkout)]
    done = cli.invoke(sast_app, ["upload", str(first), "--commit", "c1", *args])
    assert done.exit_code == 0, done.output
    (scan,) = json.loads(done.stdout)["scans"]
    assert scan["tool"] == "bandit" and scan["counts"]["new"] == scan["result_count"] >= 3  # B404, B602, B324
    source.write_text(SECOND)
    second = _scan(bandit, checkout, tmp_path / "second.sarif")
    again = json.loads(cli.invoke(sast_app, ["upload", str(second), "--commit", "c2", "--pr", "1", *args]).stdout)
    counts = again["scans"][0]["counts"]
    assert counts["new"] == 0 and counts["moved"] >= 2, counts
    gate = cli.invoke(sast_app, ["gate", "--repo", "acme/jobs", "--base", "c1", "--head", "c2", "--fail-on", "low"])
    assert gate.exit_code == 0, gate.stdout
    findings = json.loads(cli.invoke(sast_app, ["findings", "--repo", "acme/jobs"]).stdout)
    md5 = next(f for f in findings if f["rule"] == "bandit/B324")
    assert md5["suppressed"] and md5["suppression"] == "inSource: nosec: B324: a cache key, not a signature"
