"""scheduler slots, kept briefings, briefing opt-in

Revision ID: 0006_schedule
Revises: 0005
Create Date: 2026-11-29 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import clamor.storage.base

revision = "0006_schedule"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_slots",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("last_claimed_at", clamor.storage.base.UTCDateTime(), nullable=True),
        sa.Column("last_claimed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_slots")),
    )
    op.create_table(
        "briefings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("period_end", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column(
            "figures",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefings")),
        sa.UniqueConstraint("period", "period_start", name=op.f("uq_briefings_period")),
    )
    with op.batch_alter_table("notify_preferences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("daily_briefing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("weekly_briefing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("notify_preferences", schema=None) as batch_op:
        batch_op.drop_column("weekly_briefing")
        batch_op.drop_column("daily_briefing")
    op.drop_table("briefings")
    op.drop_table("schedule_slots")
