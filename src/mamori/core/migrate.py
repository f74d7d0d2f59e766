"""Alembic, driven from code: `mamori db upgrade`, and the readiness check that migrations are current.

Each domain keeps its own branch of revisions (branch label = domain name, depending
on the core base), so domains evolve their tables independently; upgrading means
upgrading to all heads.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, text

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def pending(engine: Engine) -> set[str]:
    """Heads of the scripts that the database has not reached; empty when current."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        current = tuple(MigrationContext.configure(conn).get_current_heads())
    # A revision another branch depends on (core's base) is applied but never a current head.
    applied = {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
    return set(script.get_heads()) - applied


def drop_everything(engine: Engine) -> None:
    """Drop every table the database holds, Alembic's own included, and on PostgreSQL Mamori's own trigger
    functions (`mamori demo --reset`)."""
    tables = MetaData()
    with engine.begin() as conn:
        tables.reflect(conn)
        tables.drop_all(conn)
        if conn.dialect.name == "postgresql":
            names = conn.scalars(
                text(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = current_schema() AND p.proname LIKE 'mamori\\_%'"
                )
            ).all()
            for name in names:
                conn.execute(text(f'DROP FUNCTION IF EXISTS "{name}"() CASCADE'))
