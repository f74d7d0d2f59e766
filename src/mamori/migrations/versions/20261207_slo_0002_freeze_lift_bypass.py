"""slo: a release freeze can be lifted early (who, why) or bypassed for a while (slo_freeze_bypasses).

Revision ID: slo_0002
Revises: slo_0001
Create Date: 2026-12-07 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "slo_0002"
down_revision = "slo_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slo_freezes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lifted_by", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("lift_reason", sa.Text(), nullable=True))
    op.create_table(
        "slo_freeze_bypasses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("freeze_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("max_deploys", sa.Integer(), nullable=True),
        sa.Column("deploys", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slo_freeze_bypasses")),
    )
    with op.batch_alter_table("slo_freeze_bypasses", schema=None) as batch_op:
        batch_op.create_index("ix_slo_freeze_bypasses_freeze", ["freeze_id", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slo_freeze_bypasses", schema=None) as batch_op:
        batch_op.drop_index("ix_slo_freeze_bypasses_freeze")
    op.drop_table("slo_freeze_bypasses")
    with op.batch_alter_table("slo_freezes", schema=None) as batch_op:
        batch_op.drop_column("lift_reason")
        batch_op.drop_column("lifted_by")
