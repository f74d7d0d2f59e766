"""Incidents: the alert's generatorURL (Alertmanager's link to the rule's graph), kept at intake.

Revision ID: incidents_0002
Revises: incidents_0001
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "incidents_0002"
down_revision = "incidents_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generator_url", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_alerts", schema=None) as batch_op:
        batch_op.drop_column("generator_url")
