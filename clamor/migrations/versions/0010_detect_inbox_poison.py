"""detection inbox: attempts, last error, parked

Revision ID: 0010_detect_inbox_poison
Revises: 0009_shared_rate_limit
Create Date: 2026-11-29 09:20:00

An item whose detection keeps failing is retried on its own, counted, and parked with its error
after a few attempts, instead of failing every detection batch it is in (and so blocking the
inbox) for ever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clamor.storage.base

revision = "0010_detect_inbox_poison"
down_revision = "0009_shared_rate_limit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitoring_detect_pending") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parked_at", clamor.storage.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitoring_detect_pending") as batch:
        batch.drop_column("parked_at")
        batch.drop_column("last_error")
        batch.drop_column("attempts")
