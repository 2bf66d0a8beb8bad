"""A lease: one worker at a time owns a stage, with heartbeats and takeover when it dies.

Detection keeps its state in the memory of one process; if every worker ran it, each would first
replay what the others detected. So the detector is *leased*: a row in `queue_leases` names its
holder and when the lease runs out. The holder renews it while it works (every detection
transaction renews it too); any other worker may take it once it has run out — the holder
crashed, hung or lost its database — and every new holder gets the next `token`.

All on the database, with conditional UPDATEs that must change exactly one row, so it works on
SQLite and PostgreSQL alike, whichever queue back end carries the jobs:

- take:  `UPDATE … SET holder=me, token=token+1 WHERE name=? AND (expires_at < now OR holder=me
  OR holder IS NULL)` — a worker restarted under the same name takes its lease back at once;
- renew / fence: `UPDATE … SET expires_at=? WHERE name=? AND holder=me AND token=mine`. Run
  inside the transaction that writes the stage's results, it is a fence: a holder whose lease
  was taken over cannot commit (its UPDATE changes nothing and the transaction is rolled back),
  and on PostgreSQL the row stays locked until that commit, so no one takes the lease meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clamor.core import clock
from clamor.queue.models import QueueLease
from clamor.storage.database import Database


class LeaseLost(RuntimeError):
    """The lease was taken over by another worker (this one was presumed dead)."""


class Lease:
    def __init__(
        self,
        db: Database,
        name: str,
        holder: str,
        seconds: float = 15.0,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.seconds = seconds
        self._now = now
        self.token: int | None = None  # set while held
        self._valid_until = 0.0  # monotonic: when our own view of the lease runs out
        self._renewed_at = 0.0

    @property
    def held(self) -> bool:
        return self.token is not None and time.monotonic() < self._valid_until

    def acquire(self) -> bool:
        """Take the lease if it is free or expired, or renew it when due; True while held."""
        if self.held:
            if time.monotonic() - self._renewed_at < self.seconds / 3:
                return True
            try:
                with self.db.write() as session:
                    self.fence(session)
                return True
            except LeaseLost:
                return False
        self.token = None
        started = time.monotonic()
        now = self._now()
        until = now + timedelta(seconds=self.seconds)
        with self.db.write() as session:
            taken = session.execute(
                update(QueueLease)
                .where(
                    QueueLease.name == self.name,
                    or_(
                        QueueLease.expires_at < now,
                        QueueLease.holder == self.holder,
                        QueueLease.holder.is_(None),
                    ),
                )
                .values(
                    holder=self.holder,
                    token=QueueLease.token + 1,
                    expires_at=until,
                    acquired_at=now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1 and session.get(QueueLease, self.name) is None:
                try:
                    with session.begin_nested():
                        session.add(
                            QueueLease(
                                name=self.name,
                                holder=self.holder,
                                token=1,
                                expires_at=until,
                                acquired_at=now,
                            )
                        )
                    taken = 1
                except IntegrityError:
                    taken = 0  # another worker created it just now
            if taken == 1:
                self.token = session.scalar(
                    select(QueueLease.token).where(QueueLease.name == self.name)
                )
        if self.token is None:
            return False
        self._renewed_at = started
        self._valid_until = started + self.seconds * 0.8  # a margin for clock differences
        return True

    def fence(self, session: Session) -> None:
        """In the caller's transaction: renew the lease, or raise LeaseLost if it is not ours
        any more (then the caller's transaction must not commit)."""
        if self.token is None:
            raise LeaseLost(f"lease {self.name!r} is not held by {self.holder}")
        started = time.monotonic()
        renewed = session.execute(
            update(QueueLease)
            .where(
                QueueLease.name == self.name,
                QueueLease.holder == self.holder,
                QueueLease.token == self.token,
            )
            .values(expires_at=self._now() + timedelta(seconds=self.seconds))
            .execution_options(synchronize_session=False)
        ).rowcount
        if renewed != 1:
            self.token = None
            raise LeaseLost(f"lease {self.name!r} was taken over from {self.holder}")
        self._renewed_at = started
        self._valid_until = started + self.seconds * 0.8

    def release(self) -> None:
        """Give the lease up (a clean shutdown), so another worker takes it at once."""
        if self.token is None:
            return
        with self.db.write() as session:
            session.execute(
                update(QueueLease)
                .where(
                    QueueLease.name == self.name,
                    QueueLease.holder == self.holder,
                    QueueLease.token == self.token,
                )
                .values(holder=None, expires_at=self._now())
                .execution_options(synchronize_session=False)
            )
        self.token = None


def current_holder(db: Database, name: str) -> tuple[str | None, int, datetime | None]:
    """(holder, token, expires_at) of a lease, for pages and tests."""
    with db.read() as session:
        row = session.get(QueueLease, name)
    if row is None:
        return None, 0, None
    return row.holder, row.token, row.expires_at
