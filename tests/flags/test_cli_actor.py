"""CLI actions are attributed to a Mamori user or token (MAMORI_TOKEN, MAMORI_USER), never to the Unix login."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.models import AuditEntry
from mamori.core.runtime import Runtime
from tests.conftest import issue_token
from tests.flags.conftest import apply_config, write_config


def _last_actor(runtime: Runtime) -> tuple[str, str]:
    with runtime.sessions() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        return entry.actor, entry.source


def test_cli_changes_name_the_mamori_user_or_token_not_the_unix_login(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    apply_config(runtime, write_config(tmp_path / "c"))
    token = issue_token(runtime, "write", email="carol@jobs.example")
    for name, value in {
        "MAMORI_DATABASE_URL": database_url,
        "MAMORI_DATA_DIR": str(tmp_path),
        "MAMORI_SECRET_KEY": "cli-test-secret",
    }.items():
        monkeypatch.setenv(name, value)
    cli = CliRunner()

    monkeypatch.setenv("MAMORI_USER", "carol@jobs.example")
    done = cli.invoke(app, ["flags", "toggle", "staging", "page-size", "off"])
    assert done.exit_code == 0, done.output
    assert _last_actor(runtime) == ("carol@jobs.example", "cli")

    monkeypatch.setenv("MAMORI_USER", "nobody@jobs.example")
    refused = cli.invoke(app, ["flags", "toggle", "staging", "page-size", "on"])
    assert refused.exit_code != 0 and "MAMORI_USER='nobody@jobs.example': no active Mamori user" in refused.output
    assert _last_actor(runtime) == ("carol@jobs.example", "cli")  # nothing was changed

    monkeypatch.delenv("MAMORI_USER")
    monkeypatch.setenv("MAMORI_TOKEN", token)
    done = cli.invoke(app, ["flags", "toggle", "staging", "page-size", "on"])
    assert done.exit_code == 0, done.output
    assert _last_actor(runtime) == ("carol@jobs.example", "cli")

    monkeypatch.setenv("MAMORI_TOKEN", "mmr_nothere_secret")
    refused = cli.invoke(app, ["flags", "toggle", "staging", "page-size", "off"])
    assert refused.exit_code != 0 and "unknown API token" in refused.output

    monkeypatch.delenv("MAMORI_TOKEN")
    done = cli.invoke(app, ["flags", "toggle", "staging", "page-size", "off"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "applied"
    actor, _ = _last_actor(runtime)
    assert actor == "cli" and actor != getpass.getuser()
