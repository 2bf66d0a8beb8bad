"""The embedded queue's tables: jobs, and the heartbeats of the workers that consume them; and
the leases that give one worker at a time a stage that must not run twice at once (both back
ends: the lease lives in the database, next to the state it guards)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base


class QueueJob(Base):
    __tablename__ = "queue_jobs"
    __table_args__ = (Index("ix_queue_jobs_due", "status", "available_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # ready | claimed | parked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime]
    available_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    parked_at: Mapped[datetime | None]


class QueueWorker(Base):
    __tablename__ = "queue_workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seen: Mapped[datetime]
    counters: Mapped[dict[str, Any]]


class QueueLease(Base):
    """A named lease: held by one worker until `expires_at`, renewed by its heartbeat.
    `token` grows with every new holder (a fencing token)."""

    __tablename__ = "queue_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]
