"""The notification outbox: one row per message to send, written in the same transaction as
whatever caused it, at most once per `dedup_key`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base

PENDING = "pending"


class Outbox(Base):
    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ix_notify_outbox_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))  # email | webhook | in_app
    recipient: Mapped[str] = mapped_column(String(320))  # address, user:<id> or group:<key>
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
