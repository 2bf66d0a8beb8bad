"""detector lease and detection inbox

Revision ID: 0007_detector_lease
Revises: 0006_schedule
Create Date: 2026-11-29 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clamor.storage.base

revision = "0007_detector_lease"
down_revision = "0006_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("expires_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("acquired_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queue_leases")),
    )
    op.create_table(
        "monitoring_detect_pending",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_monitoring_detect_pending_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_monitoring_detect_pending")),
    )


def downgrade() -> None:
    op.drop_table("monitoring_detect_pending")
    op.drop_table("queue_leases")
