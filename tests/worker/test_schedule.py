"""The scheduler's periodic duties run by themselves: notification delivery (retries, back-off,
every attempt recorded), incident task reminders and overdue escalation, complaint SLA sweeps,
and the daily / weekly briefings — each started once even when several workers tick at once,
and every message sent exactly once. Frozen clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clamor.core import clock
from clamor.core.principal import SYSTEM, Principal
from clamor.notify import deliver
from clamor.notify.channels import DeliveryError, Message
from clamor.notify.models import Outbox
from clamor.notify.tables import Delivery, DeliveryAttempt, Preference, WebhookEndpoint
from clamor.org import service as org
from clamor.queue.models import QueueJob
from clamor.queue.table import TableQueue
from clamor.reports.models import BriefingRecord
from clamor.storage.database import Database
from clamor.worker import schedule
from clamor.worker.handlers import HANDLERS, PipelineContext, tick
from clamor.workflow.incidents import service as incidents
from tests.conftest import ROLE_PEOPLE
from tests.workflow.incidents.conftest import _pii_key, assessed, people  # noqa: F401

MONDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


class Recorder:
    """Stands in for the SMTP relay and the webhook sender: records what is sent, can be
    down, and can be slow (to make two workers overlap)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = False
        self.delay = delay
        self.lock = threading.Lock()

    def send(self, to: str, message: Message) -> None:
        self._record(to, message)

    def send_hook(self, kind: str, url: str, secret, message: Message, ts: float) -> None:
        self._record(url, message)

    def _record(self, to: str, message: Message) -> None:
        if self.down:
            raise DeliveryError("connection refused")
        time.sleep(self.delay)
        with self.lock:
            self.sent.append((to, message.subject))


class HookAdapter:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def send(self, kind: str, url: str, secret, message: Message, ts: float) -> None:
        self.recorder.send_hook(kind, url, secret, message, ts)


def context(db: Database, recorder: Recorder, name: str = "w1") -> PipelineContext:
    senders = deliver.Senders(smtp=recorder, webhooks=HookAdapter(recorder))  # type: ignore[arg-type]
    return PipelineContext(db, TableQueue(db), senders=senders, name=name)


def run_jobs(ctx: PipelineContext) -> Counter[str]:
    """What a worker does with the queue: claim, run the handler, acknowledge."""
    done: Counter[str] = Counter()
    while jobs := ctx.queue.claim("test", 10):
        for job in jobs:
            HANDLERS[job.kind](ctx, job.payload)
            ctx.queue.ack(job)
            done[job.kind] += 1
    return done


def queued(db: Database) -> Counter[str]:
    with db.read() as session:
        return Counter(session.scalars(select(QueueJob.kind)))


@pytest.fixture
def emails(db: Database, people: dict[str, Principal]) -> dict[str, Principal]:  # noqa: F811
    """The plan's people with e-mail addresses (username@example.com)."""
    with db.write() as session:
        for username, person_key in ROLE_PEOPLE.items():
            org.update_person(
                session,
                SYSTEM,
                person_key,
                name=username.upper(),
                email=f"{username}@example.com",
                phone=None,
                username=username,
            )
    return people


def opt_in(db: Database, who: Principal, **choices) -> None:
    with db.write() as session:
        session.add(Preference(user_id=who.user_id, timezone="Asia/Shanghai", **choices))


# --- pure ---------------------------------------------------------------------------------------


def test_latest_run_is_the_configured_local_hour_and_monday_for_weekly() -> None:
    tuesday_10 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert schedule.latest_run("daily", tuesday_10, 8) == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
    assert schedule.latest_run("daily", tuesday_10, 11) == datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    assert schedule.latest_run("weekly", tuesday_10, 8) == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    monday_7 = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # Monday 07:00 local
    assert schedule.latest_run("weekly", monday_7, 8) == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        schedule.latest_run("monthly", tuesday_10, 8)


# --- one worker ---------------------------------------------------------------------------------


def test_tick_starts_every_duty_once_per_interval(db: Database, frozen_now: datetime) -> None:
    ctx = context(db, Recorder())
    done = tick(ctx)
    assert {k: v for k, v in done.items() if k.startswith("scheduled_")} == {
        "scheduled_notify.deliver": 1,
        "scheduled_incidents.deadlines": 1,
        "scheduled_complaints.sla": 1,
        "scheduled_briefing:daily": 1,
        "scheduled_briefing:weekly": 1,
    }
    assert not any(k.startswith("scheduled_") for k in tick(ctx))  # nothing due again yet
    assert run_jobs(ctx) == Counter(
        {"notify.deliver": 1, "incidents.deadlines": 1, "complaints.sla": 1, "briefing": 2}
    )
    clock.freeze(frozen_now + timedelta(seconds=31))
    assert set(tick(ctx)) >= {"scheduled_notify.deliver"}
    assert "scheduled_incidents.deadlines" not in tick(ctx)
    clock.freeze(frozen_now + timedelta(seconds=61))
    later = tick(ctx)
    assert "scheduled_incidents.deadlines" in later and "scheduled_complaints.sla" in later
    assert not any("briefing" in k for k in later)  # kept: not generated again


def test_overdue_task_is_escalated_to_the_group_leader_once_and_delivered(
    db: Database, emails: dict[str, Principal]
) -> None:
    recorder = Recorder()
    ctx = context(db, recorder)
    clock.freeze(MONDAY)
    try:
        incident_id = assessed(db, emails, "III")
        with db.write() as session:
            incidents.instruct(
                session,
                emails["cs_manager"],
                incident_id,
                [incidents.TaskSpec("custom", "核实情况", "complaint_handling", 4)],
            )
            (task,) = incidents.tasks_of(session, incident_id)
            due = task.due_at
        clock.freeze(due - timedelta(minutes=30))  # a quarter of the time left: reminder
        tick(ctx)
        run_jobs(ctx)
        clock.freeze(due + timedelta(minutes=5))  # overdue: the leader is told
        tick(ctx)
        run_jobs(ctx)
        clock.freeze(due + timedelta(hours=2))  # later ticks tell nobody again
        tick(ctx)
        run_jobs(ctx)
    finally:
        clock.freeze(None)
    with db.read() as session:
        keys = list(
            session.scalars(select(Outbox.dedup_key).where(Outbox.dedup_key.like("task:%")))
        )
        overdue = session.scalar(select(Outbox).where(Outbox.dedup_key.like("%:overdue")))
    assert sorted(keys) == [
        f"task:{task.id}:{stage}" for stage in ("assigned", "overdue", "reminder")
    ]
    assert overdue.recipient == "group:complaint_handling:leader"
    to_leader = [s for s in recorder.sent if s[1].startswith("任务超时")]
    assert to_leader == [("cs_manager@example.com", to_leader[0][1])]
    reminders = [s for s in recorder.sent if s[1].startswith("任务即将到期")]
    assert len(reminders) == len({to for to, _ in reminders})  # each receiver once


def test_failed_delivery_is_retried_with_backoff_and_every_attempt_is_kept(
    db: Database, emails: dict[str, Principal], frozen_now: datetime
) -> None:
    recorder = Recorder()
    recorder.down = True
    ctx = context(db, recorder)
    with db.write() as session:
        session.add(
            Outbox(
                channel="email",
                recipient=f"user:{emails['gm'].user_id}",
                subject="测试 test",
                body="正文",
                dedup_key="test:1",
                created_at=frozen_now,
                state="pending",
            )
        )
    tick(ctx)
    run_jobs(ctx)
    clock.freeze(frozen_now + timedelta(seconds=31))
    tick(ctx)
    run_jobs(ctx)  # the retry waits a minute after the second failure
    clock.freeze(frozen_now + timedelta(seconds=62))
    recorder.down = False
    tick(ctx)
    run_jobs(ctx)  # not yet due
    assert recorder.sent == []
    clock.freeze(frozen_now + timedelta(seconds=93))
    tick(ctx)
    run_jobs(ctx)
    assert recorder.sent == [("gm@example.com", "测试 test")]
    with db.read() as session:
        (delivery,) = session.scalars(select(Delivery))
        attempts = [a.ok for a in session.scalars(select(DeliveryAttempt).order_by("id"))]
    assert delivery.state == deliver.DELIVERED and attempts == [False, False, True]


def test_briefings_are_kept_once_and_sent_to_who_opted_in_respecting_quiet_hours(
    db: Database, emails: dict[str, Principal]
) -> None:
    recorder = Recorder()
    ctx = context(db, recorder)
    opt_in(db, emails["gm"], daily_briefing=True, weekly_briefing=True)
    opt_in(db, emails["legal"], weekly_briefing=True, quiet_start="07:00", quiet_end="09:30")
    opt_in(db, emails["pr_manager"], daily_briefing=True, email=False)  # e-mail off: no mail
    with db.write() as session:
        session.add(
            WebhookEndpoint(
                name="leaders",
                kind="generic",
                url="http://bot.invalid/leaders",
                secret=None,
                groups=["leadership"],
                active=True,
                created_at=MONDAY,
            )
        )
    clock.freeze(MONDAY - timedelta(days=1))  # Sunday: one incident opened
    try:
        assessed(db, emails, "II")
        clock.freeze(datetime(2026, 3, 8, 23, 59, tzinfo=UTC))  # Monday 07:59 local
        tick(ctx)
        run_jobs(ctx)
        with db.read() as session:
            kept_before = session.scalar(
                select(BriefingRecord).where(BriefingRecord.period_start == MONDAY)
            )
        clock.freeze(datetime(2026, 3, 9, 0, 1, tzinfo=UTC))  # Monday 08:01 local
        tick(ctx)
        run_jobs(ctx)
        tick(ctx)  # once per period: nothing more
        assert not any("briefing" in kind for kind in queued(db))
        clock.freeze(datetime(2026, 3, 9, 1, 31, tzinfo=UTC))  # 09:31: legal's quiet hours end
        tick(ctx)
        run_jobs(ctx)
    finally:
        clock.freeze(None)
    assert kept_before is None  # (07:59 published only the catch-up for Saturday)
    with db.read() as session:
        kept = {
            (b.period, b.period_start.astimezone(schedule.LOCAL_ZONE).date().isoformat()): b
            for b in session.scalars(select(BriefingRecord))
        }
    assert set(kept) >= {("daily", "2026-03-08"), ("weekly", "2026-03-02")}
    assert kept[("daily", "2026-03-08")].figures["opened"] == 1
    daily = kept[("daily", "2026-03-08")].subject
    weekly = kept[("weekly", "2026-03-02")].subject
    assert sorted(s for s in recorder.sent if s[1] in (daily, weekly)) == sorted(
        [
            ("gm@example.com", daily),
            ("http://bot.invalid/leaders", daily),
            ("gm@example.com", weekly),
            ("legal@example.com", weekly),
            ("http://bot.invalid/leaders", weekly),
        ]
    )
    with db.read() as session:
        legal = session.scalars(
            select(Delivery).where(Delivery.destination == "legal@example.com")
        ).all()
    # legal's quiet hours are 07:00–09:30: the mail waited until they ended
    assert legal and {d.next_attempt_at for d in legal} == {datetime(2026, 3, 9, 1, 30, tzinfo=UTC)}


# --- several workers at once --------------------------------------------------------------------


def add_messages(db: Database, numbers: range, now: datetime) -> None:
    """Pending outbox messages to the leadership group, one per number."""
    with db.write() as session:
        for n in numbers:
            session.add(
                Outbox(
                    channel="email",
                    recipient="group:leadership",
                    subject=f"消息 {n}",
                    body="正文",
                    dedup_key=f"test:{n}",
                    created_at=now,
                    state="pending",
                )
            )


def test_two_workers_ticking_at_once_start_each_duty_once_and_send_each_message_once(
    db: Database, emails: dict[str, Principal], frozen_now: datetime
) -> None:
    recorder = Recorder(delay=0.02)
    opt_in(db, emails["gm"], daily_briefing=True, weekly_briefing=True)
    add_messages(db, range(12), frozen_now)
    workers = [context(db, recorder, "w1"), context(db, recorder, "w2")]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def both(work) -> None:
        def run(ctx: PipelineContext) -> None:
            try:
                start.wait()
                work(ctx)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors

    both(tick)  # two ticks at the same moment
    assert queued(db) == Counter(
        {
            "notify.deliver": 1,
            "incidents.deadlines": 1,
            "complaints.sla": 1,
            "briefing": 2,
        }
    )
    both(run_jobs)  # both consume the queue at once: each job runs once
    add_messages(db, range(12, 24), frozen_now)  # more messages, and two delivery runs overlapping
    both(lambda ctx: HANDLERS[schedule.DELIVER](ctx, {}))
    counts = Counter(recorder.sent)
    assert counts and max(counts.values()) == 1, counts
    subjects = {subject for _, subject in recorder.sent}
    assert {f"消息 {n}" for n in range(24)} <= subjects
    with db.read() as session:
        deliveries = session.scalar(select(func.count(Delivery.id)))
        delivered = session.scalar(
            select(func.count(Delivery.id)).where(Delivery.state == deliver.DELIVERED)
        )
        attempts = session.scalar(select(func.count(DeliveryAttempt.id)))
        kept = session.scalar(select(func.count(BriefingRecord.id)))
    assert kept == 2
    assert deliveries == delivered == attempts == len(recorder.sent)
