"""Core: a priority per job (pages and escalations are claimed before intake processing and the rest).

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default="100", nullable=False))
        batch_op.create_index("ix_jobs_status_priority_run_at", ["status", "priority", "run_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_priority_run_at")
        batch_op.drop_column("priority")
