"""Monitoring tables: sources, watch queries, what detection made of each post, topics, alerts,
and the detector's persisted state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base, PortableJSON


class Source(Base):
    """A feed polled on a schedule (RSS/Atom) or a named push source (webhook/JSONL)."""

    __tablename__ = "monitoring_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # feed | webhook
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(default=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    next_poll_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class WatchQuery(Base):
    __tablename__ = "monitoring_watch_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # brand | product | executive | competitor | other
    query: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Post(Base):
    """What detection made of one item; one row per item, written once (the idempotency mark)."""

    __tablename__ = "monitoring_posts"
    __table_args__ = (
        Index("ix_monitoring_posts_bucket", "bucket"),
        Index("ix_monitoring_posts_topic", "topic_id", "at"),
        Index("ix_monitoring_posts_seq", "seq", unique=True),
        Index("ix_monitoring_posts_at", "at", "item_id"),  # the posts list, newest first
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime]
    bucket: Mapped[int] = mapped_column(Integer)  # UNIX seconds // 300
    source: Mapped[str] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(200))
    reach: Mapped[int] = mapped_column(Integer, default=0)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[float | None] = mapped_column(Float)
    topic_id: Mapped[str | None] = mapped_column(String(32))
    is_copy: Mapped[bool] = mapped_column(default=False)
    representative_item_id: Mapped[int | None] = mapped_column(Integer)
    detected_at: Mapped[datetime]
    seq: Mapped[int] = mapped_column(Integer)  # detection order: the detector's journal


class PostMatch(Base):
    """A post matched a watch query (share of voice, the query's burst key)."""

    __tablename__ = "monitoring_post_matches"
    __table_args__ = (Index("ix_monitoring_post_matches_query", "watch_query_id", "bucket"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    watch_query_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer)


class TopicRecord(Base):
    """The latest snapshot of a topic the detector tracks (written when it changes)."""

    __tablename__ = "monitoring_topics"
    __table_args__ = (Index("ix_monitoring_topics_last_seen", "last_seen"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    keywords: Mapped[list[str]]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    volume: Mapped[int] = mapped_column(Integer)
    copies: Mapped[int] = mapped_column(Integer)
    reach: Mapped[int] = mapped_column(Integer)
    sentiment: Mapped[dict[str, Any]]
    categories: Mapped[dict[str, Any]]
    timeline: Mapped[dict[str, Any]]  # bucket → [volume, copies, reach]
    representative_item_ids: Mapped[list[str]]
    updated_at: Mapped[datetime]


class AlertRecord(Base):
    """One alert: raised once per event, updated while the event goes on."""

    __tablename__ = "monitoring_alerts"
    __table_args__ = (
        UniqueConstraint("key", "book_id"),
        Index("ix_monitoring_alerts_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))  # topic:t3 | query:2 | category:data_privacy
    book_id: Mapped[str] = mapped_column(String(32))  # the detector's own alert id
    topic_id: Mapped[str | None] = mapped_column(String(32))
    watch_query_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)  # 1 blue (IV) … 4 red (I)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(PortableJSON)  # [{code, value, points, text}]
    keywords: Mapped[list[str]]
    opened_at: Mapped[datetime]  # stream time of the item that raised it
    updated_at: Mapped[datetime]
    raised_at: Mapped[datetime]  # wall time
    first_item_id: Mapped[int | None] = mapped_column(Integer)
    updates: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # open | acknowledged | snoozed | false
    suppressed_until: Mapped[datetime | None]
    status_by: Mapped[str | None] = mapped_column(String(200))
    status_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    # Raised beside an open alert whose topic is similar (perhaps the same event's sub-story).
    related_alert_id: Mapped[int | None] = mapped_column(Integer)


class DetectorState(Base):
    """The detector's state: a snapshot (JSON) taken after post `snapshot_seq`, and the journal
    position `journal_seq` (the `seq` of the last post detected). The posts after the snapshot
    are the journal: replaying them rebuilds the state exactly. Detection batches are
    serialised on this row."""

    __tablename__ = "monitoring_detector_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_seq: Mapped[int] = mapped_column(Integer)
    snapshot_seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)
    snapshot_at: Mapped[datetime]


class DetectPending(Base):
    """Analysed items waiting for detection; written in the analysis transaction, deleted in the
    detection transaction that handles them, so an item is detected once whoever analysed it.
    Only the holder of the detector lease reads it.

    An item whose detection fails on its own (a batch that fails is retried item by item) counts
    an attempt and keeps its error; after `pipeline.DETECT_MAX_ATTEMPTS` it is parked
    (`parked_at`): skipped by detection, shown with the parked jobs, requeued from there."""

    __tablename__ = "monitoring_detect_pending"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    parked_at: Mapped[datetime | None]
