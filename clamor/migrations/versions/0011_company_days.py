"""company days: the company's own closures and extra working days

Revision ID: 0011_company_days
Revises: 0010_detect_inbox_poison
Create Date: 2026-11-29 11:10:00

Complaint deadlines count on the business calendar; besides the public holidays and make-up
workdays it now has the company's own days, edited on the complaint settings page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clamor.storage.base

revision = "0011_company_days"
down_revision = "0010_detect_inbox_poison"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_days")),
        sa.UniqueConstraint("day", name=op.f("uq_company_days_day")),
    )


def downgrade() -> None:
    op.drop_table("company_days")
