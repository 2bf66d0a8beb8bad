"""Briefings as kept: one row per period (daily / weekly), with the figures, subject and body
that were sent, so that a briefing can be read again later and is generated only once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base, PortableJSON


class BriefingRecord(Base):
    __tablename__ = "briefings"
    __table_args__ = (UniqueConstraint("period", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(16))  # daily | weekly
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    figures: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # outbox rows written
    created_at: Mapped[datetime]
