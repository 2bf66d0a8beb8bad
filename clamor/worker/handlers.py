"""The whole pipeline in one place: which job kind runs which stage, and what it enqueues next.

    intake (API, webhook, replay, feed poll)
      └─ stores items, enqueues ─► analyse {item_ids}
                                    └─ records analyses, enqueues ─► detect {item_ids}
                                                                      └─ posts, topics, alerts
    scheduler tick (every worker, idempotent)
      ├─ due feeds ──────────────► poll_feed {source_id} ─► stores items, enqueues analyse
      ├─ sweep: items a lost queue forgot ─► analyse / detect
      └─ periodic duties (`schedule.py`, each claimed by one worker)
           ├─ every 30 s ─────────► notify.deliver ─► outbox → deliveries → attempts
           ├─ every 60 s ─────────► incidents.deadlines ─► reminders, overdue → group leader
           ├─ every 60 s ─────────► complaints.sla ─► SLA warnings, breaches → outbox
           └─ daily / Monday ─────► briefing {period, at} ─► kept once, outbox to who opted in

Every handler is idempotent (at-least-once delivery) and returns how many items it processed.
A handler that raises has its job retried with back-off and, after the last attempt, parked.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from clamor.core import clock
from clamor.core.config import Settings
from clamor.monitoring import feeds, pipeline
from clamor.notify import deliver
from clamor.queue.base import Queue
from clamor.reports import briefing
from clamor.reports.models import BriefingRecord
from clamor.storage.database import Database
from clamor.worker import schedule
from clamor.workflow.complaints.sla_service import sweep_sla_committing
from clamor.workflow.incidents import service as incidents


@dataclass
class PipelineContext:
    db: Database
    queue: Queue
    detect: pipeline.DetectContext = field(
        default_factory=lambda: pipeline.DetectContext(
            pipeline.DetectorStore(), pipeline.WatchCache()
        )
    )
    fetcher: feeds.Fetcher = field(default_factory=feeds.Fetcher)
    sweep_after_seconds: float = 120.0  # work older than this with no job is enqueued again
    settings: Settings | None = None  # SMTP relay, briefing hour
    senders: deliver.Senders | None = None  # built from `settings` on first use when None
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @property
    def briefing_hour(self) -> int:
        return self.settings.briefing_hour if self.settings is not None else 8

    def notification_senders(self) -> deliver.Senders:
        if self.senders is None:
            client = httpx.Client(timeout=10.0)
            if self.settings is not None:
                self.senders = deliver.senders_from_settings(self.settings, client)
            else:
                self.senders = deliver.Senders(smtp=None, webhooks=deliver.WebhookSender(client))
        return self.senders


Handler = Callable[[PipelineContext, dict[str, Any]], int]


def payload_item_ids(payload: dict[str, Any]) -> list[int]:
    ids = payload.get("item_ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ValueError(f"payload.item_ids must be a list of integers, got {ids!r}")
    return ids


def analyse(context: PipelineContext, payload: dict[str, Any]) -> int:
    return pipeline.analyse(
        context.db, context.queue, payload_item_ids(payload), context.detect.watch
    )


def detect(context: PipelineContext, payload: dict[str, Any]) -> int:
    return pipeline.detect(context.db, context.detect, payload_item_ids(payload))


def poll_feed(context: PipelineContext, payload: dict[str, Any]) -> int:
    source_id = payload.get("source_id")
    if not isinstance(source_id, int):
        raise ValueError(f"payload.source_id must be an integer, got {source_id!r}")
    return feeds.poll_source(context.db, context.queue, context.fetcher, source_id)


def deliver_notifications(context: PipelineContext, payload: dict[str, Any]) -> int:
    """Plan the outbox and try every due delivery once (each claimed by a conditional UPDATE,
    every attempt recorded, failures retried with back-off by later runs)."""
    result = deliver.run_due(context.db, context.notification_senders())
    return result.delivered + result.failed


def incident_deadlines(context: PipelineContext, payload: dict[str, Any]) -> int:
    """Remind receivers of tasks nearly due and tell group leaders of overdue ones, once per
    task and stage (outbox dedup keys)."""
    now = clock.now()
    with context.db.write() as session:
        reminded = incidents.remind_due_soon(session, now)
        escalated = incidents.escalate_overdue(session, now)
    return reminded + escalated


def complaint_sla(context: PipelineContext, payload: dict[str, Any]) -> int:
    """SLA warnings and breach escalations of complaint cases (the complaints domain's sweep)."""
    return int(sweep_sla_committing(context.db, clock.now())["notifications"])


def publish_briefing(context: PipelineContext, payload: dict[str, Any]) -> int:
    period = payload.get("period")
    if period not in briefing.PERIODS:
        raise ValueError(f"payload.period must be daily or weekly, got {period!r}")
    at = datetime.fromisoformat(str(payload.get("at")))
    with context.db.write() as session:
        published = briefing.publish(session, period, at, created_at=clock.now())
    return 1 if published is not None else 0


HANDLERS: dict[str, Handler] = {
    pipeline.ANALYSE: analyse,
    pipeline.DETECT: detect,
    feeds.POLL_FEED: poll_feed,
    schedule.DELIVER: deliver_notifications,
    schedule.DEADLINES: incident_deadlines,
    schedule.SLA: complaint_sla,
    schedule.BRIEFING: publish_briefing,
}


def _briefing_kept(context: PipelineContext, period: str, at: datetime) -> bool:
    start, _end = briefing.period_ending(period, at)
    with context.db.read() as session:
        found = session.scalar(
            select(BriefingRecord.id).where(
                BriefingRecord.period == period, BriefingRecord.period_start == start
            )
        )
    return found is not None


def schedule_duties(context: PipelineContext) -> dict[str, int]:
    """Enqueue each periodic duty that is due, once across all workers (see `schedule`)."""
    now = clock.now()
    periods = tuple(briefing.PERIODS)
    slots = schedule.slots(
        context.db,
        [i.kind for i in schedule.INTERVALS] + [f"{schedule.BRIEFING}:{p}" for p in periods],
        now,
    )
    enqueued: dict[str, int] = {}
    for period in periods:
        name = f"{schedule.BRIEFING}:{period}"
        slot = slots.get(name)
        at = schedule.latest_run(period, now, context.briefing_hour)
        if slot is None or not schedule.is_due(slot, now, stale_before=at):
            continue
        if _briefing_kept(context, period, at):
            continue
        lease = now + schedule.BRIEFING_LEASE
        with context.db.write() as session:
            if schedule.claim(session, name, now, lease, context.name, stale_before=at):
                payload = {"period": period, "at": at.isoformat()}
                context.queue.enqueue(schedule.BRIEFING, payload, session=session)
                enqueued[name] = 1
    for duty in schedule.INTERVALS:  # delivery last: it sends what the others just wrote
        slot = slots.get(duty.kind)
        if slot is None or slot.next_run_at > now:
            continue
        with context.db.write() as session:
            if schedule.claim(session, duty.kind, now, now + duty.every, context.name):
                context.queue.enqueue(duty.kind, {"at": now.isoformat()}, session=session)
                enqueued[duty.kind] = 1
    return enqueued


def tick(context: PipelineContext) -> dict[str, int]:
    """The scheduler's periodic work; safe to run in every worker at once."""
    due = feeds.enqueue_due_polls(context.db, context.queue)
    swept = pipeline.sweep(context.db, context.queue, context.sweep_after_seconds)
    duties = schedule_duties(context)
    return {
        "feeds_due": due,
        **{f"swept_{k}": v for k, v in swept.items()},
        **{f"scheduled_{k}": v for k, v in duties.items()},
    }
