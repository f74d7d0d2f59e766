"""The migrations create exactly the tables the models describe, and readiness knows when they are pending."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mamori.core import migrate
from mamori.core.db import make_engine
from mamori.wiring import metadata


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata())
    engine.dispose()
    assert differences == [], "a model changed without a migration (or the reverse)"


def test_a_fresh_database_has_pending_migrations_until_upgraded(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.pending(engine), "every head is pending on an empty database"
    migrate.upgrade(engine)
    assert migrate.pending(engine) == set()
    migrate.upgrade(engine)  # idempotent
    engine.dispose()
