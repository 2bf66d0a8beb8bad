"""The scheduler's one table: a row per periodic duty with the time it is next due.

Every worker ticks; a duty runs in the worker whose conditional UPDATE moves `next_run_at`
forward (exactly one row changed), so several workers ticking at once start it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base


class ScheduleSlot(Base):
    __tablename__ = "schedule_slots"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime]
    last_claimed_at: Mapped[datetime | None]
    last_claimed_by: Mapped[str | None] = mapped_column(String(200))
