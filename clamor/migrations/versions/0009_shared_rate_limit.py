"""shared rate-limit counters; search terms compared bytewise on PostgreSQL

Revision ID: 0009_shared_rate_limit
Revises: 0008_complaint_search
Create Date: 2026-11-29 09:00:00

`rate_counters` holds the fixed-window counters of `clamor.storage.ratelimit` (the public
complaint form's per-address limit, shared by every web process).

The search postings' `term` gets the "C" collation on PostgreSQL, so that a prefix is one index
range (`term >= 'refund' AND term < 'refune'`) whatever the database's default collation (under
a linguistic collation such as en_US, `cafés` sorts after `cafê`). SQLite compares bytewise
already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clamor.storage.base

revision = "0009_shared_rate_limit"
down_revision = "0008_complaint_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_start", name=op.f("pk_rate_counters")),
    )
    op.create_index(
        "ix_rate_counters_window_start", "rate_counters", ["window_start"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            'ALTER TABLE complaint_search_terms ALTER COLUMN term TYPE VARCHAR(32) COLLATE "C"'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE complaint_search_terms ALTER COLUMN term TYPE VARCHAR(32) "
            'COLLATE "default"'
        )
    op.drop_index("ix_rate_counters_window_start", table_name="rate_counters")
    op.drop_table("rate_counters")
