"""`mamori sast upload|gate|findings|triage` against the server database, as a CI pipeline runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mamori.core.runtime import Runtime
from mamori.sast import demo
from mamori.sast.cli import sast_app
from mamori.sast.models import SastScan, SastSource

BASE, HEAD = "b" * 40, "h" * 40


def _checkout(root: Path, version: str) -> Path:
    (root / "app").mkdir(parents=True)
    shutil.copy(demo.DEMO_DIR / version / "views.py.txt", root / "app" / "views.py")
    return root


@pytest.fixture
def cli(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("MAMORI_GITHUB_TOKEN", raising=False)  # the gate would post to GitHub
    return CliRunner()


def _upload(cli: CliRunner, tmp_path: Path, version: str, commit: str, *extra: str) -> list[dict[str, object]]:
    checkout = _checkout(tmp_path / version, version)
    files = [str(demo.DEMO_DIR / version / name) for name, _ in demo.REPORTS]
    args = ["upload", *files, "--repo", "acme/api", "--commit", commit, "--checkout", str(checkout), *extra]
    done = cli.invoke(sast_app, args)
    assert done.exit_code == 0, done.output
    scans: list[dict[str, object]] = json.loads(done.stdout)["scans"]
    return scans


def test_upload_then_gate_blocks_the_new_finding_and_triage_lets_it_pass(
    cli: CliRunner, runtime: Runtime, tmp_path: Path
) -> None:
    base = _upload(cli, tmp_path, "base", BASE, "--branch", "main")
    assert [(s["tool"], s["counts"]["new"]) for s in base] == [("bandit", 3), ("semgrep", 1)]  # type: ignore[index]
    head = _upload(cli, tmp_path, "head", HEAD, "--branch", "feature", "--pr", "7")
    assert [(s["tool"], s["pr"]) for s in head] == [("bandit", 7), ("semgrep", 7)]
    gate = ["gate", "--repo", "acme/api", "--base", BASE, "--head", HEAD]
    text = cli.invoke(sast_app, gate)
    assert text.exit_code == 1
    assert text.stdout.startswith("BLOCKED: acme/api") and "BLOCK high" in text.stdout and "views.py:24" in text.stdout
    verdict = json.loads(cli.invoke(sast_app, [*gate, "--format", "json"]).stdout)
    assert verdict["counts"] == {"blocking": 1, "new": 1, "unchanged": 3, "fixed": 0}
    (blocking,) = verdict["blocking"]
    assert blocking["tools"] == ["bandit", "semgrep"]
    sarif_out = json.loads(cli.invoke(sast_app, [*gate, "--format", "sarif"]).stdout)
    assert {r["baselineState"] for run in sarif_out["runs"] for r in run["results"]} == {"new", "unchanged"}
    assert cli.invoke(sast_app, [*gate, "--fail-on", "critical"]).exit_code == 0
    assert cli.invoke(sast_app, [*gate, "--fail-on", "severe"]).exit_code == 2
    decided = cli.invoke(
        sast_app,
        [
            "triage",
            blocking["finding_id"],
            "--state",
            "accepted_risk",
            "--reason",
            "admins only",
            "--until",
            "2027-06-01",
        ],
    )
    assert decided.exit_code == 0, decided.output
    assert json.loads(decided.stdout)["state"] == "accepted_risk"
    assert cli.invoke(sast_app, gate).exit_code == 0
    listed = json.loads(cli.invoke(sast_app, ["findings", "--repo", "acme/api"]).stdout)
    assert len(listed) == 4


def test_a_triage_without_its_reason_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    _upload(cli, tmp_path, "base", BASE)
    listed = json.loads(cli.invoke(sast_app, ["findings"]).stdout)
    refused = cli.invoke(sast_app, ["triage", listed[0]["id"], "--state", "false_positive"])
    assert refused.exit_code == 2 and "a reason is required" in refused.output


def test_a_malformed_report_stores_nothing_and_names_the_path(cli: CliRunner, runtime: Runtime, tmp_path: Path) -> None:
    _upload(cli, tmp_path, "base", BASE)
    with runtime.sessions() as session:
        before = (
            session.scalar(select(func.count()).select_from(SastScan)),
            session.scalar(select(func.count()).select_from(SastSource)),
        )
    broken = json.loads((demo.DEMO_DIR / "head" / "bandit.sarif").read_text())
    broken["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"] = "twenty"
    bad = tmp_path / "broken.sarif"
    bad.write_text(json.dumps(broken))
    good = demo.DEMO_DIR / "head" / "semgrep.json"
    done = cli.invoke(sast_app, ["upload", str(good), str(bad), "--repo", "acme/api", "--commit", HEAD])
    assert done.exit_code == 2
    assert "broken.sarif: runs[0].results[2].locations[0].physicalLocation.region.startLine" in done.output
    with runtime.sessions() as session:
        after = (
            session.scalar(select(func.count()).select_from(SastScan)),
            session.scalar(select(func.count()).select_from(SastSource)),
        )
    assert after == before
    missing = cli.invoke(sast_app, ["upload", str(tmp_path / "nope.sarif"), "--repo", "r", "--commit", "c"])
    assert missing.exit_code == 2


DIFF = "\n".join(
    [
        "diff --git a/app/views.py b/app/views.py",
        "index 1111111..2222222 100644",
        "--- a/app/views.py",
        "+++ b/app/views.py",
        "@@ -20,3 +20,7 @@ def cache_key(value):",
        "         return hashlib.md5(value.encode()).hexdigest()",
        " ",  # blank context lines carry one space in a unified diff
        " ",
        "+def load_saved_search(blob):",
        "+    return pickle.loads(blob)",
        "",
    ]
)


def test_the_gate_prints_a_check_run_with_annotations_on_changed_lines_only(cli: CliRunner, tmp_path: Path) -> None:
    _upload(cli, tmp_path, "base", BASE)
    _upload(cli, tmp_path, "head", HEAD, "--pr", "7")
    diff = tmp_path / "pr.diff"
    diff.write_text(DIFF)
    args = ["gate", "--repo", "acme/api", "--base", BASE, "--head", HEAD, "--format", "check-run"]
    done = cli.invoke(sast_app, [*args, "--diff", str(diff)])
    assert done.exit_code == 1
    check = json.loads(done.stdout)
    assert (check["head_sha"], check["conclusion"], check["status"]) == (HEAD, "failure", "completed")
    (note,) = check["output"]["annotations"]
    assert (note["path"], note["start_line"], note["annotation_level"]) == ("app/views.py", 24, "failure")
    assert check["output"]["summary"].startswith("<!-- mamori:sast-gate -->\n**Blocked**: 1 blocking")
    elsewhere = tmp_path / "other.diff"
    elsewhere.write_text(DIFF.replace("+def load_saved_search(blob):\n+    return pickle.loads(blob)\n", " x\n"))
    quiet = json.loads(cli.invoke(sast_app, [*args, "--diff", str(elsewhere)]).stdout)
    assert quiet["output"]["annotations"] == [] and quiet["conclusion"] == "failure"
