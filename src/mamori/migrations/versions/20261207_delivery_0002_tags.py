"""delivery: tags on inquiries and pages (toil); a build's step counts from `docker buildx history inspect`.

Revision ID: delivery_0002
Revises: delivery_0001
Create Date: 2026-12-07 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "delivery_0002"
down_revision = "delivery_0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    for table in ("delivery_inquiries", "delivery_pages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("tags", JSON, nullable=False, server_default=sa.text("'[]'")))
    with op.batch_alter_table("delivery_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("steps_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("steps_cached", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_runs", schema=None) as batch_op:
        batch_op.drop_column("steps_cached")
        batch_op.drop_column("steps_total")
    for table in ("delivery_inquiries", "delivery_pages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("tags")
