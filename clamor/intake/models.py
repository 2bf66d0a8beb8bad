"""The raw item table: what arrived, from where, when. Analysis results are attached later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_items_received_at", "received_at"),
        # Finds what a crash left unanalysed.
        Index("ix_items_pending", "analysed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "complaint" | "post"
    source: Mapped[str] = mapped_column(String(64))  # channel or platform: webform, weibo, rss:3 …
    external_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    author: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    meta: Mapped[dict[str, Any]]  # reach and authority: followers, verified, reposts …
    raw: Mapped[dict[str, Any] | None]  # the payload as received, for re-processing
    analysed_at: Mapped[datetime | None]
    analysis: Mapped[dict[str, Any] | None]
