"""Mamori counting a checkout itself agrees with cloc, language by language: against the recorded
`cloc --json --vcs=git` output of the fixture checkout, and against a real cloc run when cloc is installed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.runtime import Runtime
from mamori.delivery import codesize
from mamori.delivery.models import DeliveryCodeStat
from mamori.delivery.parsers import codestats
from tests.delivery.checkout_tree import write_checkout
from tests.support import require_binary

RECORDED = Path(__file__).parent / "data" / "cloc_checkout.json"


def _by_language(size: codestats.Size) -> dict[str, tuple[int, int, int, int]]:
    return {n: (x.files, x.code, x.comments, x.blanks) for n, x in sorted(size.languages.items())}


def test_the_count_of_a_git_checkout_matches_the_recorded_cloc_output(tmp_path: Path) -> None:
    git = require_binary("git")
    root = write_checkout(tmp_path / "repo", git=git)
    ours = _by_language(codesize.count_checkout(root))
    assert ours == _by_language(codestats.cloc(RECORDED.read_bytes()))
    assert ours["Python"] == (1, 6, 5, 6) and ours["Ruby"] == (1, 2, 3, 0)  # docstrings, =begin: comments
    assert "build/bundle.js" not in {p.relative_to(root).as_posix() for p in codesize.list_files(root)}


def test_without_git_every_file_is_counted_and_duplicates_binaries_and_unknown_files_are_not(tmp_path: Path) -> None:
    root = write_checkout(tmp_path / "plain", git=None)
    (root / "copy.js").write_text((root / "web" / "app.js").read_text())  # the same content: counted once
    (root / "blob.py").write_bytes(b"\x00\x01binary")
    (root / ".git").mkdir()
    (root / ".git" / "hook.sh").write_text("echo 1\n")
    counted = _by_language(codesize.count_checkout(root))
    assert counted["JavaScript"] == (2, 7, 3, 1), "the ignored bundle counts without git; the copy does not"
    assert counted["Python"] == (1, 6, 5, 6) and counted["Bourne Shell"] == (1, 3, 1, 1)


def test_lines_are_classified_like_cloc() -> None:
    c = codesize.SYNTAX["JavaScript"]
    got = codesize.count_lines("a(); /* x\n\n y */ b();\n/* only */\n  // c\n", c)
    assert (got.code, got.comments, got.blanks) == (2, 2, 1)
    py = codesize.count_lines('#!/usr/bin/env python\ns = """a\nb"""\n', codesize.SYNTAX["Python"])
    assert (py.code, py.comments) == (2, 1)
    assert codesize.language_of("a/Dockerfile") == "Dockerfile" and codesize.language_of("x.TSX") == "TypeScript"
    assert codesize.language_of(".bashrc") is None


def test_a_real_cloc_agrees_on_the_fixture(tmp_path: Path) -> None:
    cloc = require_binary("cloc")
    git = require_binary("git")
    root = write_checkout(tmp_path / "repo", git=git)
    out = subprocess.run([cloc, "--json", "--vcs=git", "--quiet", "."], cwd=root, capture_output=True, check=True)
    assert _by_language(codesize.count_checkout(root)) == _by_language(codestats.cloc(out.stdout))


def test_the_cli_records_the_count_with_the_checkouts_head(runtime: Runtime, tmp_path: Path) -> None:
    git = require_binary("git")
    root = write_checkout(tmp_path / "repo", git=git)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run([git, "-C", str(root), "commit", "-qm", "x"], check=True, capture_output=True, env=env)
    head = subprocess.run([git, "-C", str(root), "rev-parse", "HEAD"], capture_output=True, check=True).stdout
    env_db = {"MAMORI_DATABASE_URL": runtime.settings.resolved_database_url, "MAMORI_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(
        app, ["delivery", "record", "size", "--service", "jobs-api", "--path", str(root)], env=env_db
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["tool"] == "mamori" and printed["sha"] == head.decode().strip() and printed["counts"]["Python"] == 6
    with runtime.sessions() as session:
        row = session.query(DeliveryCodeStat).one()
        assert (row.service, row.kind, row.total) == ("jobs-api", "size", sum(printed["counts"].values()))
    missing = CliRunner().invoke(
        app, ["delivery", "record", "size", "--service", "x", "--path", str(tmp_path / "nope")], env=env_db
    )
    assert missing.exit_code != 0 and "not a folder" in missing.output
