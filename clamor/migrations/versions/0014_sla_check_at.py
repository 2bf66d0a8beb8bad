"""sla check at: the SLA sweep reads only the cases whose next warning or breach has come

Revision ID: 0014_sla_check_at
Revises: 0013_posts_by_time
Create Date: 2026-11-29 12:50:00

Every minute the sweep evaluated every open case in Python: at 100,000 open cases, seconds of
CPU each minute. Each case now stores when time alone can next change its SLA (NULL: look at
it at the next sweep — so every existing case is looked at once after this upgrade).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clamor.storage.base

revision = "0014_sla_check_at"
down_revision = "0013_posts_by_time"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable): SQLite does it in place, without rebuilding the table that
    # other tables' foreign keys point at.
    op.add_column(
        "complaint_cases",
        sa.Column("sla_check_at", clamor.storage.base.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_complaint_cases_sla_check_at", "complaint_cases", ["sla_check_at"])


def downgrade() -> None:
    op.drop_index("ix_complaint_cases_sla_check_at", table_name="complaint_cases")
    op.execute("ALTER TABLE complaint_cases DROP COLUMN sla_check_at")  # SQLite ≥ 3.35, PostgreSQL
