"""Fixtures: every storage-facing test runs on SQLite and, when MAMORI_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import mamori.cli  # noqa: F401  (the root CLI tells cli_support how commands build the runtime)
from mamori.core import auth, migrate
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.config import Settings, load_settings
from mamori.core.db import Base, make_engine
from mamori.core.runtime import Runtime
from mamori.web.app import create_app
from mamori.wiring import build_runtime, start
from tests.support import IN_CI, MISSING_PEERS

PG_ENV = "MAMORI_TEST_DATABASE_URL"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url and IN_CI:
        raise pytest.UsageError(f"{PG_ENV} must be set in CI")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    base = _pg_base_url()
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    url = (
        make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
        if base.startswith("postgresql://")
        else make_url(base)
    )
    name = f"mamori_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(test_url)
    migrate.upgrade(engine)
    engine.dispose()
    yield test_url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A freshly migrated, empty database on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "mamori.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        env={},
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret-key-0123456789",
        session_cookie_secure=False,
        allow_private_webhooks=True,
        job_lease_seconds=30,
    )


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def make_runtime(settings: Settings, clock: FixedClock) -> Iterator[RuntimeFactory]:
    """Build a runtime on the test database; pass `http_transport=httpx.MockTransport(...)` to fake HTTP."""
    made: list[Runtime] = []

    def factory(**overrides: Any) -> Runtime:
        transport: httpx.BaseTransport | None = overrides.pop("http_transport", None)
        states: list[object] | None = overrides.pop("states", None)
        merged = Settings.model_validate({**settings.model_dump(), **overrides})
        rt = build_runtime(merged, clock=clock, http_transport=transport, states=states)
        start(rt)
        made.append(rt)
        return rt

    yield factory
    for rt in made:
        rt.close_http()  # pooled outbound connections (a real Prometheus or webhook server) close with the test
        rt.engine.dispose()


@pytest.fixture
def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), base_url="https://testserver") as test_client:
        yield test_client


def issue_token(runtime: Runtime, *scopes: str, email: str = "admin@example.com", role: str = "admin") -> str:
    """A token for a (created if needed) user with `role`."""
    with runtime.sessions.begin() as session:
        user = auth.find_user(session, email) or auth.create_user(
            session,
            email=email,
            name=email.split("@", maxsplit=1)[0],
            role=role,
            now=runtime.now(),
            actor=Actor.system("test"),
        )
        return auth.create_token(
            session, user=user, scopes=list(scopes), now=runtime.now(), actor=Actor.system("test")
        ).secret


@pytest.fixture
def admin_token(runtime: Runtime) -> str:
    return issue_token(runtime, "admin")


@pytest.fixture
def auth_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """Say in one place how many tests skipped for want of peer data, and which folders they need."""
    folders: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        if MISSING_PEERS in str(reason):
            folder = str(reason).split(f"{MISSING_PEERS}: ", 1)[1]
            folders[folder] = folders.get(folder, 0) + 1
    if folders:
        total = sum(folders.values())
        terminalreporter.write_sep("-", f"{total} tests skipped: {MISSING_PEERS} (CI=true makes this a failure)")
        for folder, count in sorted(folders.items()):
            terminalreporter.write_line(f"  {count:5d} need {folder}")
