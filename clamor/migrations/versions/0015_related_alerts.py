"""related alerts: an alert raised beside an open one of a similar topic names it

Revision ID: 0015_related_alerts
Revises: 0014_sla_check_at
Create Date: 2026-11-29 15:20:00

One event often forms several topics (sub-stories: the shooting, the lockdown, the victims).
Topics similar enough share one alert; less similar ones raise their own, and now record the
open alert they resemble so that the alerts page can show them together.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_related_alerts"
down_revision = "0014_sla_check_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("monitoring_alerts", sa.Column("related_alert_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE monitoring_alerts DROP COLUMN related_alert_id")  # SQLite ≥ 3.35
