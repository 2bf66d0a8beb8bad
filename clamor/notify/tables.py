"""Tables of delivery: where notifications go (webhook endpoints, each person's preferences and
quiet hours), one delivery per outbox row and destination, and every attempt made.

The outbox (`models.Outbox`) says *what* to tell *whom* ("group:leadership", "user:7", an
address); `deliver.plan` expands it into `Delivery` rows (an e-mail address or a webhook), and
`deliver.run_due` sends them with retries and back-off, writing a `DeliveryAttempt` each time.
Outbox ids are plain integers here: the outbox table comes from another domain's migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base, PortableJSON


class WebhookEndpoint(Base):
    """A group chat bot or an integration: generic signed JSON, DingTalk, WeCom or Feishu."""

    __tablename__ = "notify_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # generic | dingtalk | wecom | feishu
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str | None] = mapped_column(String(200))
    groups: Mapped[list[str]] = mapped_column(PortableJSON)  # group keys; ["*"]: every group
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Preference(Base):
    """A person's choices: e-mail on or off, quiet hours (local time) during which e-mail
    waits — except for level I incidents, which never wait — and the briefings they want."""

    __tablename__ = "notify_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "22:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5))  # "07:30"
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Briefings are sent only to people who ask for them.
    daily_briefing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    weekly_briefing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Delivery(Base):
    """One outbox message to one destination, delivered at most once."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "destination"),
        Index("ix_notify_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | in_app
    destination: Mapped[str] = mapped_column(String(400))  # address, webhook:<id>, user:<id>
    state: Mapped[str] = mapped_column(String(16))  # pending | sending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class DeliveryAttempt(Base):
    """Every try, successful or not: visible on the notifications page."""

    __tablename__ = "notify_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notify_deliveries.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
