"""`mamori sast gate` with a GitHub token: the verdict goes to a fake GitHub on 127.0.0.1 as the head commit's
check run (annotations on the changed lines) and the pull request's one comment; a re-run updates the same
run, a second push gets its own run and edits the same comment; refusals are clear and logged."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.core.models import Delivery
from mamori.core.runtime import Runtime
from mamori.sast import check_run, demo
from mamori.sast.cli import sast_app
from tests.integrations.fake_github import Failure, FakeGitHub
from tests.sast.test_cli import DIFF
from tests.support import serving

REPO = "acme/api"
BASE, HEAD, PUSHED = "b" * 40, "c" * 40, "d" * 40


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with serving(fake.app()) as url:
        fake.base = url
        yield fake


@pytest.fixture
def cli(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub) -> CliRunner:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("MAMORI_GITHUB_TOKEN", github.token)
    monkeypatch.setenv("MAMORI_GITHUB_API_URL", github.base)
    return CliRunner()


def _upload(cli: CliRunner, tmp_path: Path, version: str, commit: str, *extra: str) -> None:
    root = tmp_path / f"{version}-{commit[:4]}"
    (root / "app").mkdir(parents=True)
    shutil.copy(demo.DEMO_DIR / version / "views.py.txt", root / "app" / "views.py")
    files = [str(demo.DEMO_DIR / version / name) for name, _ in demo.REPORTS]
    done = cli.invoke(sast_app, ["upload", *files, "--repo", REPO, "--commit", commit, "--checkout", str(root), *extra])
    assert done.exit_code == 0, done.output


def _gate(cli: CliRunner, head: str, *extra: str) -> tuple[int, str]:
    done = cli.invoke(sast_app, ["gate", "--repo", REPO, "--base", BASE, "--head", head, *extra])
    return done.exit_code, done.output


def _log(runtime: Runtime) -> list[tuple[str, str, bool, str]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(Delivery).where(Delivery.source == "sast").order_by(Delivery.id))
        return [(d.channel, d.target, d.ok, d.detail) for d in rows]


def test_the_verdict_is_posted_once_per_head_and_the_comment_is_edited_on_every_push(
    cli: CliRunner, runtime: Runtime, github: FakeGitHub, tmp_path: Path
) -> None:
    _upload(cli, tmp_path, "base", BASE, "--branch", "main")
    _upload(cli, tmp_path, "head", HEAD, "--branch", "feature", "--pr", "7")
    diff = tmp_path / "pr.diff"
    diff.write_text(DIFF)
    code, out = _gate(cli, HEAD, "--diff", str(diff))
    assert code == 1 and "BLOCKED" in out and "check run" in out and "comment on #7 created" in out
    (run,) = github.runs.values()
    assert (run["head_sha"], run["name"], run["conclusion"]) == (HEAD, "Mamori SAST", "failure")
    assert run["output"]["title"] == "1 new finding block this change"
    (note,) = github.annotations[run["id"]]
    assert (note["path"], note["start_line"], note["annotation_level"]) == ("app/views.py", 24, "failure")
    (comment,) = github.comments[7]
    assert comment["body"].startswith(check_run.COMMENT_MARKER + "\n**Blocked**: 1 blocking")

    # the same head again: the run is updated, nothing is added
    code, out = _gate(cli, HEAD, "--diff", str(diff))
    assert code == 1 and "updated" in out and "edited" in out
    assert len(github.runs) == 1 and len(github.annotations[run["id"]]) == 1 and len(github.comments[7]) == 1

    # a second push: its own check run; the one comment is edited; triage lets the push pass
    _upload(cli, tmp_path, "head", PUSHED, "--branch", "feature", "--pr", "7")
    gate = ["gate", "--repo", REPO, "--base", BASE, "--head", PUSHED, "--format", "json", "--no-post"]
    verdict = json.loads(cli.invoke(sast_app, gate).stdout)
    (blocking,) = verdict["blocking"]
    decision = ["triage", blocking["finding_id"], "--state", "false_positive", "--reason", "test data"]
    decided = cli.invoke(sast_app, decision)
    assert decided.exit_code == 0, decided.output
    code, out = _gate(cli, PUSHED)
    assert code == 0, out
    assert len(github.runs) == 2
    pushed = next(r for r in github.runs.values() if r["head_sha"] == PUSHED)
    assert pushed["conclusion"] == "success" and len(github.annotations[pushed["id"]]) == 1  # annotated as a notice
    assert github.annotations[pushed["id"]][0]["annotation_level"] == "notice"
    (comment,) = github.comments[7]
    assert comment["body"].startswith(check_run.COMMENT_MARKER + "\n**Passed**: 0 blocking, 1 new")
    assert len(github.calls("POST", "/comments")) == 1 and len(github.calls("POST", "/check-runs")) == 2

    log = _log(runtime)
    assert [(c, t, ok) for c, t, ok, _ in log] == [
        ("github_check", f"{REPO}@{HEAD}", True), ("github_comment", f"{REPO}#7", True),
        ("github_check", f"{REPO}@{HEAD}", True), ("github_comment", f"{REPO}#7", True),
        ("github_check", f"{REPO}@{PUSHED}", True), ("github_comment", f"{REPO}#7", True),
    ]  # fmt: skip
    assert "created" in log[0][3] and "updated" in log[2][3] and "edited" in log[3][3]


def test_refusals_are_clear_logged_and_no_post_posts_nothing(
    cli: CliRunner, runtime: Runtime, github: FakeGitHub, tmp_path: Path
) -> None:
    _upload(cli, tmp_path, "base", BASE)
    _upload(cli, tmp_path, "head", HEAD)  # no --pr: a check run only
    code, out = _gate(cli, HEAD, "--no-post")
    assert code == 1 and github.requests == []
    github.fail[f"/repos/{REPO}/check-runs"] = Failure(
        403, {"message": "You must authenticate via a GitHub App.", "documentation_url": "https://docs.github.com/rest"}
    )
    code, out = _gate(cli, HEAD)
    assert code == 2, out
    assert "BLOCKED" in out and "You must authenticate via a GitHub App." in out and "checks: write" in out
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1796000000"}
    github.fail[f"/repos/{REPO}/commits/"] = Failure(403, {"message": "API rate limit exceeded"}, headers)
    code, out = _gate(cli, HEAD)
    assert code == 6 and "rate limit" in out and "retry after" in out
    code, out = _gate(cli, HEAD, "--pr", "9")
    assert code == 1 and "comment on #9 created" in out  # the limit has passed; --pr names the pull request
    assert [(c, ok) for c, _, ok, _ in _log(runtime)] == [
        ("github_check", False), ("github_check", False), ("github_check", True), ("github_comment", True),
    ]  # fmt: skip
    assert "You must authenticate via a GitHub App." in _log(runtime)[0][3]


def test_post_without_a_token_says_what_to_set(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("MAMORI_GITHUB_TOKEN", raising=False)
    cli = CliRunner()
    _upload(cli, tmp_path, "base", BASE)
    _upload(cli, tmp_path, "head", HEAD)
    assert _gate(cli, HEAD)[0] == 1  # no token: the gate only prints
    code, out = _gate(cli, HEAD, "--post")
    assert code == 7 and "set MAMORI_GITHUB_TOKEN" in out
