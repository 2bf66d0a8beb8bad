"""The embedded back end: a durable job table in the application's database.

A claim picks due jobs and takes each with `UPDATE … WHERE id = ? AND <still claimable>`,
keeping it only when exactly one row changed: two workers racing for a job cannot both win,
on SQLite (writers are serial) or PostgreSQL (the second UPDATE re-reads the row after the
first commits and no longer matches). Acknowledged jobs are deleted; the table holds only work
in flight, retries waiting out a back-off, and parked jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from clamor.core import clock
from clamor.queue.base import Job, ParkedJob, QueueStats, RetryPolicy, WorkerBeat
from clamor.queue.models import QueueJob, QueueWorker
from clamor.storage.database import Database

READY, CLAIMED, PARKED = "ready", "claimed", "parked"
POLL_SECONDS = 0.1  # how often an idle consumer looks for work


class TableQueue:
    def __init__(
        self,
        db: Database,
        policy: RetryPolicy | None = None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.db = db
        self.policy = policy or RetryPolicy()
        self._now = now

    # -- producing ------------------------------------------------------------------------------

    def enqueue(
        self, kind: str, payload: dict[str, Any], *, session: Session | None = None
    ) -> None:
        now = self._now()
        job = QueueJob(
            kind=kind, payload=payload, status=READY, attempts=0, enqueued_at=now, available_at=now
        )
        if session is not None:
            session.add(job)
            return
        with self.db.write() as own:
            own.add(job)

    # -- consuming ------------------------------------------------------------------------------

    def _claimable(self, now: datetime) -> Any:
        return or_(
            and_(QueueJob.status == READY, QueueJob.available_at <= now),
            and_(QueueJob.status == CLAIMED, QueueJob.claimed_until <= now),
        )

    def claim(self, consumer: str, limit: int = 10, wait: float = 0.0) -> list[Job]:
        deadline = time.monotonic() + wait
        while True:
            jobs = self._claim(consumer, limit)
            if jobs or time.monotonic() >= deadline:
                return jobs
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def _claim(self, consumer: str, limit: int) -> list[Job]:
        now = self._now()
        until = now + timedelta(seconds=self.policy.visibility_seconds)
        jobs: list[Job] = []
        with self.db.write() as session:
            candidates = session.execute(
                select(QueueJob.id, QueueJob.status, QueueJob.attempts)
                .where(self._claimable(now))
                .order_by(QueueJob.id)
                .limit(limit)
            ).all()
            for job_id, status, attempts in candidates:
                if status == CLAIMED and attempts >= self.policy.max_attempts:
                    self._park_abandoned(session, job_id, attempts, now)
                    continue
                changed = session.execute(
                    update(QueueJob)
                    .where(QueueJob.id == job_id, self._claimable(now))
                    .values(
                        status=CLAIMED,
                        claimed_by=consumer,
                        claimed_until=until,
                        attempts=QueueJob.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                if changed != 1:
                    continue  # another worker took it first
                row = session.get(QueueJob, job_id, populate_existing=True)
                assert row is not None
                jobs.append(Job(str(row.id), row.kind, row.payload, row.attempts, row.enqueued_at))
        return jobs

    def _park_abandoned(self, session: Session, job_id: int, attempts: int, now: datetime) -> None:
        session.execute(
            update(QueueJob)
            .where(QueueJob.id == job_id, QueueJob.status == CLAIMED)
            .values(
                status=PARKED,
                parked_at=now,
                claimed_by=None,
                claimed_until=None,
                last_error=f"claimed {attempts} times and never acknowledged "
                "(its worker crashed or timed out every time)",
            )
            .execution_options(synchronize_session=False)
        )

    def ack(self, job: Job) -> None:
        with self.db.write() as session:
            session.execute(delete(QueueJob).where(QueueJob.id == int(job.id)))

    def fail(self, job: Job, error: str) -> bool:
        now = self._now()
        parked = job.attempts >= self.policy.max_attempts
        values: dict[str, Any] = {"last_error": error[:4000], "claimed_by": None}
        if parked:
            values.update(status=PARKED, parked_at=now, claimed_until=None)
        else:
            delay = timedelta(seconds=self.policy.delay(job.attempts))
            values.update(status=READY, available_at=now + delay, claimed_until=None)
        with self.db.write() as session:
            session.execute(update(QueueJob).where(QueueJob.id == int(job.id)).values(**values))
        return parked

    # -- parked jobs ----------------------------------------------------------------------------

    def parked(self, limit: int = 100) -> Sequence[ParkedJob]:
        with self.db.read() as session:
            rows = session.scalars(
                select(QueueJob)
                .where(QueueJob.status == PARKED)
                .order_by(QueueJob.parked_at.desc(), QueueJob.id.desc())
                .limit(limit)
            ).all()
        return [
            ParkedJob(
                str(r.id),
                r.kind,
                r.payload,
                r.attempts,
                r.last_error or "",
                r.parked_at or r.enqueued_at,
            )
            for r in rows
        ]

    def requeue_parked(self, job_id: str) -> bool:
        with self.db.write() as session:
            changed = session.execute(
                update(QueueJob)
                .where(QueueJob.id == int(job_id), QueueJob.status == PARKED)
                .values(status=READY, attempts=0, available_at=self._now(), parked_at=None)
                .execution_options(synchronize_session=False)
            ).rowcount
        return changed == 1

    def discard_parked(self, job_id: str) -> bool:
        with self.db.write() as session:
            changed = session.execute(
                delete(QueueJob).where(QueueJob.id == int(job_id), QueueJob.status == PARKED)
            ).rowcount
        return changed == 1

    # -- observing ------------------------------------------------------------------------------

    def stats(self) -> QueueStats:
        with self.db.read() as session:
            counts = {
                (status, kind): n
                for status, kind, n in session.execute(
                    select(QueueJob.status, QueueJob.kind, func.count()).group_by(
                        QueueJob.status, QueueJob.kind
                    )
                )
            }
            oldest = session.scalar(
                select(func.min(QueueJob.enqueued_at)).where(QueueJob.status != PARKED)
            )
        if oldest is not None and oldest.tzinfo is None:  # min() bypasses the column type
            oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=self._now().tzinfo)
        by_kind: dict[str, int] = {}
        for (status, kind), n in counts.items():
            if status != PARKED:
                by_kind[kind] = by_kind.get(kind, 0) + n
        total = {
            s: sum(n for (st, _), n in counts.items() if st == s) for s in (READY, CLAIMED, PARKED)
        }
        age = (self._now() - oldest).total_seconds() if oldest is not None else 0.0
        return QueueStats(total[READY], total[CLAIMED], total[PARKED], max(0.0, age), by_kind)

    def heartbeat(self, worker: str, counters: dict[str, Any]) -> None:
        with self.db.write() as session:
            row = session.get(QueueWorker, worker)
            if row is None:
                session.add(QueueWorker(name=worker, last_seen=self._now(), counters=counters))
            else:
                row.last_seen = self._now()
                row.counters = counters

    def workers(self) -> Sequence[WorkerBeat]:
        with self.db.read() as session:
            rows = session.scalars(select(QueueWorker).order_by(QueueWorker.name)).all()
        return [WorkerBeat(r.name, r.last_seen, r.counters) for r in rows]
