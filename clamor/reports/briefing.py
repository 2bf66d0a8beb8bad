"""Daily and weekly briefings, delivered like every notification: kept once per period
(`BriefingRecord`), then one outbox row per person who opted in (`Preference.daily_briefing` /
`weekly_briefing`) and one for the group bots subscribed to the leadership group. The worker's
scheduler publishes them (daily at `briefing_hour` local time, weekly on Monday); `clamor
notify briefing` does the same by hand.

A briefing counts what happened in the period — complaints received, alerts raised, incidents
opened, resolved and closed, statements published — and what is open now: incidents by level,
overdue tasks. Drills are left out. Outputs read state; keeping the briefing and writing its
outbox rows are the only writes, and they are idempotent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.audit import service as audit
from clamor.core.principal import SYSTEM
from clamor.monitoring.models import AlertRecord
from clamor.notify.models import Outbox
from clamor.notify.tables import Preference
from clamor.reports.models import BriefingRecord
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.incidents.models import Incident, IncidentTask, Statement
from clamor.workflow.incidents.states import FINAL_STATES

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
LEADERSHIP = "leadership"
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Briefing:
    period: str
    start: datetime
    end: datetime
    complaints: int
    alerts: int
    opened: int
    resolved: int
    closed: int
    statements: int
    open_by_level: dict[str, int]
    overdue_tasks: int

    @property
    def key(self) -> str:
        return f"briefing:{self.period}:{self.start.astimezone(ZONE).date().isoformat()}"

    def subject(self) -> str:
        day = self.start.astimezone(ZONE).date().isoformat()
        name = "日报 daily" if self.period == "daily" else "周报 weekly"
        return f"信访舆情{name} {day}"

    def body(self) -> str:
        levels = "、".join(f"{lv} 级 {n}" for lv, n in self.open_by_level.items()) or "无"
        return "\n".join(
            [
                f"期间 period: {self.start.astimezone(ZONE):%Y-%m-%d %H:%M} – "
                f"{self.end.astimezone(ZONE):%Y-%m-%d %H:%M}",
                f"新收信访 complaints received: {self.complaints}",
                f"舆情预警 alerts raised: {self.alerts}",
                f"新发事件 incidents opened: {self.opened}",
                f"处置完毕 resolved: {self.resolved} · 结案 closed: {self.closed}",
                f"发布声明 statements published: {self.statements}",
                f"在办事件 open incidents: {levels}",
                f"超时任务 overdue tasks: {self.overdue_tasks}",
            ]
        )


def _count(session: Session, query) -> int:
    return int(session.scalar(query) or 0)


def period_ending(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The last full day (or the seven days) ending at local midnight before `now`."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    local_midnight = now.astimezone(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    end = local_midnight.astimezone(now.tzinfo)
    return end - PERIODS[period], end


def build(session: Session, period: str, now: datetime) -> Briefing:
    start, end = period_ending(period, now)
    real = Incident.is_drill.is_(False)

    def between(column):
        return column.between(start, end - timedelta(microseconds=1))

    final = [s.value for s in FINAL_STATES]
    levels = session.execute(
        select(Incident.level, func.count())
        .where(real, Incident.state.not_in(final))
        .group_by(Incident.level)
    ).all()
    return Briefing(
        period=period,
        start=start,
        end=end,
        complaints=_count(
            session, select(func.count(ComplaintCase.id)).where(between(ComplaintCase.received_at))
        ),
        alerts=_count(
            session, select(func.count(AlertRecord.id)).where(between(AlertRecord.raised_at))
        ),
        opened=_count(
            session, select(func.count(Incident.id)).where(real, between(Incident.opened_at))
        ),
        resolved=_count(
            session, select(func.count(Incident.id)).where(real, between(Incident.resolved_at))
        ),
        closed=_count(
            session, select(func.count(Incident.id)).where(real, between(Incident.closed_at))
        ),
        statements=_count(
            session,
            select(func.count(Statement.id))
            .join(Incident, Incident.id == Statement.incident_id)
            .where(real, between(Statement.published_at)),
        ),
        open_by_level={(lv or "—"): n for lv, n in sorted(levels, key=lambda r: r[0] or "Z")},
        overdue_tasks=_count(
            session,
            select(func.count(IncidentTask.id))
            .join(Incident, Incident.id == IncidentTask.incident_id)
            .where(
                real,
                IncidentTask.state.in_(("open", "acknowledged")),
                IncidentTask.due_at < now,
            ),
        ),
    )


def figures(briefing: Briefing) -> dict[str, Any]:
    """The counts of a briefing, as kept with it."""
    data = asdict(briefing)
    for name in ("period", "start", "end"):
        data.pop(name)
    return data


def _opted_in(session: Session, period: str) -> list[int]:
    flag = Preference.daily_briefing if period == "daily" else Preference.weekly_briefing
    return list(
        session.scalars(
            select(Preference.user_id)
            .join(User, User.id == Preference.user_id)
            .where(flag.is_(True), User.is_active.is_(True))
            .order_by(Preference.user_id)
        )
    )


def _outbox(session: Session, recipient: str, briefing: Briefing, key: str, now: datetime) -> int:
    if session.scalar(select(Outbox.id).where(Outbox.dedup_key == key)) is not None:
        return 0
    session.add(
        Outbox(
            channel="email" if recipient.startswith("user:") else "webhook",
            recipient=recipient,
            subject=briefing.subject(),
            body=briefing.body(),
            dedup_key=key,
            created_at=now,
            state="pending",
        )
    )
    return 1


def publish(
    session: Session, period: str, now: datetime, created_at: datetime | None = None
) -> Briefing | None:
    """Generate the period's briefing once: keep it (`BriefingRecord`, one per period even when
    several workers try at once) and write it to the outbox — to each person who opted in
    (their e-mail setting and quiet hours apply when it is delivered) and to the group bots
    subscribed to the leadership group. None when the period's briefing exists already.

    `now` decides the period (the last full day / week before it); `created_at` (default
    `now`) stamps what is written — the scheduler passes its scheduled moment and the clock."""
    created_at = created_at or now
    briefing = build(session, period, now)
    exists = select(BriefingRecord.id).where(
        BriefingRecord.period == period, BriefingRecord.period_start == briefing.start
    )
    if session.scalar(exists) is not None:
        return None
    record = BriefingRecord(
        period=period,
        period_start=briefing.start,
        period_end=briefing.end,
        figures=figures(briefing),
        subject=briefing.subject(),
        body=briefing.body(),
        recipients=0,
        created_at=created_at,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return None  # another worker kept it a moment ago
    sent = sum(
        _outbox(session, f"user:{user_id}", briefing, f"{briefing.key}:user:{user_id}", created_at)
        for user_id in _opted_in(session, period)
    )
    hooks = f"{briefing.key}:webhooks"
    sent += _outbox(session, f"webhooks:{LEADERSHIP}", briefing, hooks, created_at)
    record.recipients = sent
    session.flush()
    audit.record(
        session,
        SYSTEM,
        "briefing.published",
        "briefing",
        record.id,
        after={"period": period, "key": briefing.key, "recipients": sent},
    )
    return briefing


def queue(session: Session, period: str, now: datetime) -> Briefing | None:
    """The CLI's name for `publish` (kept for `clamor notify briefing`)."""
    return publish(session, period, now)


def kept(session: Session, limit: int = 60) -> list[BriefingRecord]:
    """The briefings generated so far, newest first."""
    return list(
        session.scalars(
            select(BriefingRecord)
            .order_by(BriefingRecord.period_start.desc(), BriefingRecord.id.desc())
            .limit(limit)
        )
    )
