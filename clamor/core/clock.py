"""The one place that asks what time it is, so tests can freeze it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# Times are stored in UTC; the plan's people work in China and read them in Beijing time (pages,
# reports, briefings, the scheduler's "8 o'clock").
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin the clock (tests); `None` lets it run again."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at
