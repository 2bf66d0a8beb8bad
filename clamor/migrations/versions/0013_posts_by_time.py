"""posts by time: the posts list pages newest first without sorting the whole table

Revision ID: 0013_posts_by_time
Revises: 0012_search_run_ends
Create Date: 2026-11-29 12:15:00

`/monitoring/posts` (and every briefing number linked to it) pages by (at, item_id), newest
first; without this index an unfiltered page sorts every stored post.
"""

from __future__ import annotations

from alembic import op

revision = "0013_posts_by_time"
down_revision = "0012_search_run_ends"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_monitoring_posts_at", "monitoring_posts", ["at", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_posts_at", table_name="monitoring_posts")
