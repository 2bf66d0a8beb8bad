"""complaint search: the last character of each CJK run is indexed too

Revision ID: 0012_search_run_ends
Revises: 0011_company_days
Create Date: 2026-11-29 11:20:00

Every character of a case's text now starts a posting (a bigram, or its run's end), so a
one-character query is one index range instead of a scan. The postings of the cases stored
before are written again (`search.rebuild`, as intake writes them). Downgrading deletes the
one-character CJK postings, which the older code neither writes nor removes on erasure.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0012_search_run_ends"
down_revision = "0011_company_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from clamor.workflow.complaints import search

    session = Session(bind=op.get_bind())
    search.rebuild(session)
    session.flush()


def downgrade() -> None:
    from clamor.workflow.complaints import search

    postings = sa.table("complaint_search_terms", sa.column("term", sa.String))
    connection = op.get_bind()
    single = connection.execute(
        sa.select(postings.c.term).where(sa.func.length(postings.c.term) == 1).distinct()
    ).scalars()
    cjk = re.compile(f"[{search._CJK}]")
    terms = [term for term in single if cjk.fullmatch(term)]
    for start in range(0, len(terms), 500):
        connection.execute(
            sa.delete(postings).where(postings.c.term.in_(terms[start : start + 500]))
        )
