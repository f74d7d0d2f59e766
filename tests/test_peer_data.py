"""A fresh clone without ../shared: tests that need peer data skip with one reason, and CI refuses that."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

SUBSET = ["tests/vulns/test_lockfile_conformance.py", "tests/vulns/test_version_conformance.py"]


def _pytest(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MAMORI_TEST_DATABASE_URL")}
    env["MAMORI_PEERS_DIR"] = str(tmp_path / "no-peers")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *SUBSET],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_peer_data_the_tests_skip_with_one_reason_and_the_summary_counts_them(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    missing = tmp_path / "no-peers"
    assert "tests skipped: peer conformance data missing (CI=true makes this a failure)" in done.stdout
    assert f"need {missing}" in done.stdout
    assert "outside of a test" not in done.stdout + done.stderr


def test_under_ci_missing_peer_data_is_a_failure(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=True)
    assert done.returncode == 1, done.stdout[-2000:]
    assert (
        f"peer conformance data missing: {tmp_path / 'no-peers'} (CI runs with ../shared/peers in place)" in done.stdout
    )
