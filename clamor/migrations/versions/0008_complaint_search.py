"""complaint search index (bigram/word postings), editable SLA policies and reply templates

Revision ID: 0008_complaint_search
Revises: 0007_detector_lease
Create Date: 2026-11-29 08:30:00

The posting table is filled for the cases already stored (`search.rebuild`), so an upgraded
installation finds its old complaints at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import clamor.storage.base

revision = "0008_complaint_search"
down_revision = "0007_detector_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_search_terms",
        sa.Column("term", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
            name=op.f("fk_complaint_search_terms_case_id_complaint_cases"),
        ),
        sa.PrimaryKeyConstraint("term", "case_id", name=op.f("pk_complaint_search_terms")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "complaint_sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("updated_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_sla_policies")),
        sa.UniqueConstraint(
            "priority", "category", name=op.f("uq_complaint_sla_policies_priority")
        ),
    )
    op.create_table(
        "complaint_reply_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", clamor.storage.base.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_reply_templates")),
        sa.UniqueConstraint("kind", "language", name=op.f("uq_complaint_reply_templates_kind")),
    )
    from clamor.workflow.complaints import search

    session = Session(bind=op.get_bind())
    search.rebuild(session)
    session.flush()


def downgrade() -> None:
    op.drop_table("complaint_reply_templates")
    op.drop_table("complaint_sla_policies")
    op.drop_table("complaint_search_terms")
