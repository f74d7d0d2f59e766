"""The root CLI: database upgrade, validate, apply, and the admin commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import auth
from mamori.core.config import load_settings
from mamori.wiring import build_runtime
from tests.core.test_manifest import USER_EXAMPLE

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    return database_url


def test_create_token_prints_only_the_token_and_it_authenticates(env: str) -> None:
    made = runner.invoke(
        app,
        ["admin", "create-user", "--email", "ops@example.com", "--name", "Ops", "--role", "admin", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        app,
        ["admin", "create-token", "--email", "ops@example.com", "--scope", "read", "--scope", "ingest", "--name", "ci"],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("mmr_") and "\n" not in token
    runtime = build_runtime(load_settings(env={}, database_url=env))
    with runtime.sessions() as session:
        stored = auth.authenticate_token(session, token, now=runtime.now())
        assert stored.scopes == ["ingest", "read"] and stored.name == "ci"
        assert stored.secret_hash != token
        user = auth.get_user(session, "ops@example.com")
        assert auth.verify_password(user.password_hash, "correct horse battery")
    runtime.engine.dispose()


def test_admin_errors_are_messages_with_exit_codes(env: str) -> None:
    bad_role = runner.invoke(app, ["admin", "create-user", "--email", "x@example.com", "--name", "X", "--role", "god"])
    assert bad_role.exit_code == 2
    assert "unknown role 'god'" in bad_role.output and "Traceback" not in bad_role.output
    no_user = runner.invoke(app, ["admin", "create-token", "--email", "ghost@example.com", "--scope", "read"])
    assert no_user.exit_code == 4 and "no user 'ghost@example.com'" in no_user.output
    bad_scope = runner.invoke(app, ["admin", "create-token", "--scope", "flags:evaluate"])
    assert bad_scope.exit_code == 2 and "needs --environment" in bad_scope.output


def test_validate_and_apply_report_problems_and_changes(env: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "user.yaml").write_text(USER_EXAMPLE.replace("alice@example.com\n  name", "not-an-email\n  name"))
    failed = runner.invoke(app, ["validate", "--config", str(config)])
    assert failed.exit_code == 2
    assert "user.yaml: document 1 (User 'alice'): spec.email" in failed.output
    (config / "user.yaml").write_text(USER_EXAMPLE)
    assert runner.invoke(app, ["validate", "--config", str(config)]).exit_code == 0
    dry = runner.invoke(app, ["apply", "--config", str(config), "--dry-run"])
    assert dry.exit_code == 0 and '"dry_run": true' in dry.stdout and "User/alice" in dry.stdout
    applied = runner.invoke(app, ["apply", "--config", str(config)])
    assert applied.exit_code == 0 and '"created": [\n    "User/alice"' in applied.stdout
    again = runner.invoke(app, ["apply", "--config", str(config)])
    assert '"unchanged": [\n    "User/alice"' in again.stdout


def test_an_unreachable_database_is_one_line_naming_it_without_the_password(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mamori.cli_support import DATABASE_UNAVAILABLE

    monkeypatch.setenv("MAMORI_DATABASE_URL", "postgresql://mamori:s3cret-pw@127.0.0.1:1/mamori")
    monkeypatch.setenv("MAMORI_SECRET_KEY", "test-secret-key-0123456789")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == DATABASE_UNAVAILABLE, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot use the database at postgresql")
    assert "127.0.0.1:1/mamori" in lines[0] and "s3cret-pw" not in result.stderr and "Traceback" not in result.output


def _counts(url: str) -> dict[str, int]:
    from sqlalchemy import MetaData, func, select

    from mamori.core.db import make_engine

    engine = make_engine(url)
    tables = MetaData()
    try:
        with engine.connect() as conn:
            tables.reflect(conn)
            return {
                name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in tables.tables.items()
                if name not in ("alembic_version",)
            }
    finally:
        engine.dispose()


@pytest.mark.slow
def test_demo_twice_keeps_what_the_user_did_and_reset_starts_afresh(env: str) -> None:
    first = runner.invoke(app, ["demo", "--seed-only"])
    assert first.exit_code == 0, first.output
    seeded = _counts(env)
    made = runner.invoke(
        app,
        ["admin", "create-user", "--email", "new@example.com", "--name", "New", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, ["demo", "--seed-only"])
    assert again.exit_code == 0, again.output
    after = _counts(env)
    assert after["users"] == seeded["users"] + 1, "the user made between the runs is kept"
    changed = {t: (seeded.get(t, 0), n) for t, n in after.items() if n != seeded.get(t, 0)}
    assert set(changed) == {"users", "audit_log"}, f"a second seeding adds nothing of its own: {changed}"
    reset = runner.invoke(app, ["demo", "--seed-only", "--reset"])
    assert reset.exit_code == 0, reset.output
    assert _counts(env)["users"] == seeded["users"], "reset drops what the user made"
