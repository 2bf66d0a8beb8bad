"""The scheduler's periodic duties: which job kind is enqueued how often, and the claim that
makes several workers ticking at once enqueue each of them once.

    every tick (every worker, every ~30 s)
      ├─ notify.deliver       every 30 s   plan the outbox, send due deliveries (retries, back-off)
      ├─ incidents.deadlines  every 60 s   remind receivers, escalate overdue tasks to the leader
      ├─ complaints.sla       every 60 s   SLA warnings and breaches of complaint cases
      └─ briefing             daily at `briefing_hour` (Asia/Shanghai), weekly on Monday

A duty is due when its `schedule_slots.next_run_at` has passed; the worker whose conditional
UPDATE moves it forward (exactly one row changed) enqueues the job in the same transaction.
Briefings are due while the current period's briefing is not yet kept; their slot is only a
lease (a lost job is enqueued again after `BRIEFING_LEASE`), and publishing is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clamor.core.clock import LOCAL_ZONE
from clamor.storage.database import Database
from clamor.worker.models import ScheduleSlot

DELIVER = "notify.deliver"
DEADLINES = "incidents.deadlines"
SLA = "complaints.sla"
BRIEFING = "briefing"
BRIEFING_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class Interval:
    """A duty run every `every`: its slot name is its job kind."""

    kind: str
    every: timedelta


# In the order they are enqueued: what writes the outbox first, delivery last.
INTERVALS = (
    Interval(DEADLINES, timedelta(seconds=60)),
    Interval(SLA, timedelta(seconds=60)),
    Interval(DELIVER, timedelta(seconds=30)),
)


def latest_run(period: str, now: datetime, hour: int, zone: ZoneInfo = LOCAL_ZONE) -> datetime:
    """The latest scheduled moment at or before `now`: today's (or this Monday's, for
    `weekly`) `hour` o'clock local time, else the one before."""
    local = now.astimezone(zone)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if period == "weekly":
        moment -= timedelta(days=moment.weekday())  # back to Monday
        step = timedelta(days=7)
    elif period == "daily":
        step = timedelta(days=1)
    else:
        raise ValueError("period must be daily or weekly")
    if moment > local:
        moment -= step
    return moment.astimezone(now.tzinfo)


def slots(db: Database, names: list[str], now: datetime) -> dict[str, ScheduleSlot]:
    """The slots of these duties, created (due now) when missing."""
    with db.read() as session:
        found = {s.name: s for s in session.scalars(select(ScheduleSlot))}
    missing = [name for name in names if name not in found]
    for name in missing:
        try:
            with db.write() as session:
                session.add(ScheduleSlot(name=name, next_run_at=now))
        except IntegrityError:
            pass  # another worker created it a moment ago
    if missing:
        with db.read() as session:
            found = {s.name: s for s in session.scalars(select(ScheduleSlot))}
    return found


def is_due(slot: ScheduleSlot, now: datetime, stale_before: datetime | None = None) -> bool:
    claimed = slot.last_claimed_at
    stale = stale_before is not None and (claimed is None or claimed < stale_before)
    return slot.next_run_at <= now or stale


def claim(
    session: Session,
    name: str,
    now: datetime,
    next_run_at: datetime,
    by: str,
    stale_before: datetime | None = None,
) -> bool:
    """Move the slot to `next_run_at` if it is due (or, with `stale_before`, if its last claim
    was earlier: a lease taken for an earlier period); True for the one caller that did."""
    due = ScheduleSlot.next_run_at <= now
    if stale_before is not None:
        due = or_(
            due, ScheduleSlot.last_claimed_at.is_(None), ScheduleSlot.last_claimed_at < stale_before
        )
    changed = session.execute(
        update(ScheduleSlot)
        .where(ScheduleSlot.name == name, due)
        .values(next_run_at=next_run_at, last_claimed_at=now, last_claimed_by=by)
        .execution_options(synchronize_session=False)
    ).rowcount
    return changed == 1
