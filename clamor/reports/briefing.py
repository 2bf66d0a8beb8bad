"""Daily and weekly briefings for the leadership group, delivered like every notification:
an outbox row (once per period, by its dedup key), then e-mail and group bots.

A briefing counts what happened in the period — complaints received, alerts raised, incidents
opened, resolved and closed, statements published — and what is open now: incidents by level,
overdue tasks. Drills are left out. Outputs read state; writing the outbox row is the only
write, and it is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clamor.monitoring.models import AlertRecord
from clamor.notify.models import Outbox
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.incidents.models import Incident, IncidentTask, Statement
from clamor.workflow.incidents.states import FINAL_STATES

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
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


def queue(session: Session, period: str, now: datetime) -> Briefing | None:
    """Write the period's briefing to the leadership group's outbox; None if already there."""
    briefing = build(session, period, now)
    if session.scalar(select(Outbox.id).where(Outbox.dedup_key == briefing.key)) is not None:
        return None
    session.add(
        Outbox(
            channel="in_app",
            recipient="group:leadership",
            subject=briefing.subject(),
            body=briefing.body(),
            dedup_key=briefing.key,
            created_at=now,
            state="pending",
        )
    )
    session.flush()
    return briefing
