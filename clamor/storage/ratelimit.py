"""A rate limit shared by every process on one database: a fixed-window counter in a table.

One row per (scope, key, window start) holds the number of hits in that window. A hit is one
atomic upsert — `INSERT … ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits` — the same
statement on SQLite and PostgreSQL, so two web processes (or two hundred) count together and no
two requests can both take the last place. The hit commits in its own short transaction, before
the work it guards, so a refused or failed request still counts.

Keys are stored hashed (`sha256`, truncated): an address is not kept in the clear. Windows that
have ended are deleted by the first hit of each new window of a key (`prune`), so the table holds
about one row per active key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Index, Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from clamor.core import clock
from clamor.storage.base import Base, UTCDateTime
from clamor.storage.database import Database

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class RateCounter(Base):
    """Hits of one key in one window of one limit (`scope`)."""

    __tablename__ = "rate_counters"
    __table_args__ = (Index("ix_rate_counters_window_start", "window_start"),)

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Refusal:
    """The window is full: `limit` hits per `window`, the next one allowed in `retry_after` s."""

    limit: int
    window: timedelta
    retry_after: int


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window holding `now` (windows counted from a fixed epoch)."""
    return EPOCH + ((now - EPOCH) // window) * window


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:48]


def hit(session: Session, scope: str, key: str, start: datetime) -> int:
    """Count one hit; the window's count including it (one atomic statement)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = RateCounter.__table__
    statement = insert(table).values(scope=scope, key=hashed(key), window_start=start, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=["scope", "key", "window_start"],
        set_={"hits": table.c.hits + 1},
    ).returning(table.c.hits)
    return int(session.execute(statement).scalar_one())


def prune(session: Session, before: datetime) -> int:
    """Delete the counters of windows that started before `before`; the rows deleted."""
    table = RateCounter.__table__
    return session.execute(delete(table).where(table.c.window_start < before)).rowcount or 0


class SharedRateLimiter:
    """At most `limit` hits per key in each fixed `window`, counted in the database."""

    def __init__(
        self,
        db: Database,
        scope: str,
        limit: int,
        window: timedelta = timedelta(hours=1),
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.db, self.scope, self.limit, self.window, self._now = db, scope, limit, window, now

    def hit(self, key: str) -> Refusal | None:
        """Count one hit for `key`; a Refusal (with the seconds to wait) when over the limit."""
        now = self._now()
        start = window_start(now, self.window)
        with self.db.write() as session:
            count = hit(session, self.scope, key, start)
            if count == 1:  # the key's first hit in this window: drop ended windows
                prune(session, start)
        if count <= self.limit:
            return None
        wait = start + self.window - now
        return Refusal(self.limit, self.window, max(1, int(wait.total_seconds()) + 1))
