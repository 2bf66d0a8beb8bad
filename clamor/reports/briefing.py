"""Daily and weekly briefings, delivered like every notification: kept once per period
(`BriefingRecord`), then one outbox row per person who opted in (`Preference.daily_briefing` /
`weekly_briefing`) and one for the group bots subscribed to the leadership group. The worker's
scheduler publishes them (daily at `briefing_hour` local time, weekly on Monday); `clamor
notify briefing` does the same by hand.

A briefing counts what happened in the period — complaints received, alerts raised, incidents
opened, resolved and closed, statements published — and what is open now: incidents by level,
overdue tasks (drills left out). Its public-opinion part (舆情简报) reads the monitoring posts of
the period and of the period before: overview, trend by sentiment, risk-category mix, top
topics, alerts and recommended attention. The SQL is here; the folding and the attention rules
are pure functions in `reports.opinion`. Everything lands in `BriefingRecord.figures`, so a
kept briefing reads the same later. Outputs read state; keeping the briefing and writing its
outbox rows are the only writes, and they are idempotent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.audit import service as audit
from clamor.core.clock import LOCAL_ZONE
from clamor.core.i18n import LANGUAGES, translate
from clamor.core.principal import SYSTEM
from clamor.intake.models import Item
from clamor.monitoring.browse import bucket_of
from clamor.monitoring.models import AlertRecord, Post, TopicRecord
from clamor.notify.models import Outbox
from clamor.notify.tables import Preference
from clamor.reports import opinion
from clamor.reports.models import BriefingRecord
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.incidents.models import Incident, IncidentTask, Statement
from clamor.workflow.incidents.states import FINAL_STATES

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
LEADERSHIP = "leadership"


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
    opinion: dict[str, Any] = field(default_factory=dict)  # see `_opinion`

    @property
    def key(self) -> str:
        return f"briefing:{self.period}:{self.start.astimezone(LOCAL_ZONE).date().isoformat()}"

    def subject(self) -> str:
        day = self.start.astimezone(LOCAL_ZONE).date().isoformat()
        name = "日报 daily" if self.period == "daily" else "周报 weekly"
        return f"信访舆情{name} {day}"

    def body(self) -> str:
        levels = "、".join(f"{lv} 级 {n}" for lv, n in self.open_by_level.items()) or "无"
        return "\n".join(
            [
                f"期间 period: {self.start.astimezone(LOCAL_ZONE):%Y-%m-%d %H:%M} – "
                f"{self.end.astimezone(LOCAL_ZONE):%Y-%m-%d %H:%M}",
                f"新收信访 complaints received: {self.complaints}",
                f"舆情预警 alerts raised: {self.alerts}",
                f"新发事件 incidents opened: {self.opened}",
                f"处置完毕 resolved: {self.resolved} · 结案 closed: {self.closed}",
                f"发布声明 statements published: {self.statements}",
                f"在办事件 open incidents: {levels}",
                f"超时任务 overdue tasks: {self.overdue_tasks}",
                *opinion_summary(self.opinion),
            ]
        )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.0f}%"


def opinion_summary(data: dict[str, Any]) -> list[str]:
    """The opinion part of the e-mail body: a few lines, Chinese with English."""
    if not data:
        return []
    lines = [
        f"舆情帖子 posts: {data['posts']}（环比 vs previous {_percent(data['change'])}）",
        f"负面占比 negative share: {data['negative_share'] * 100:.0f}%",
    ]
    topics = " / ".join(f"{' '.join(t['keywords'][:3])} ({t['posts']})" for t in data["topics"][:3])
    lines.append(f"热点话题 top topics: {topics or '无 none'}")
    lines.append(f"建议关注 attention: {len(data['attention'])}")
    for item in data["attention"]:
        zh, en = (
            translate(f"brief.why.{item['code']}", lang, **item["params"]) for lang in LANGUAGES
        )
        lines.append(f"· {zh} / {en}")
    return lines


def _count(session: Session, query) -> int:
    return int(session.scalar(query) or 0)


def period_ending(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The last full day (or the seven days) ending at local midnight before `now`."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    local_midnight = now.astimezone(LOCAL_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
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
    overdue = _count(
        session,
        select(func.count(IncidentTask.id))
        .join(Incident, Incident.id == IncidentTask.incident_id)
        .where(
            real,
            IncidentTask.state.in_(("open", "acknowledged")),
            IncidentTask.due_at < now,
        ),
    )
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
        overdue_tasks=overdue,
        opinion=_opinion(session, period, start, end, overdue),
    )


# --- the public-opinion part: read-only aggregates over the monitoring posts ---------------


def _in(start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    """Posts of [start, end); the bucket bounds are redundant but let the database use the
    bucket index (a post's bucket is its time // 300 s)."""
    first, last = bucket_of(start), bucket_of(end - timedelta(microseconds=1))
    return (Post.bucket >= first, Post.bucket <= last, Post.at >= start, Post.at < end)


def _grouped(
    session: Session, column: Any, start: datetime, end: datetime, *, join_item: bool = False
) -> list[tuple[Any, int]]:
    query = select(column, func.count()).select_from(Post).where(*_in(start, end))
    query = query.group_by(column)
    if join_item:
        query = query.join(Item, Item.id == Post.item_id)
    return [(key, int(n)) for key, n in session.execute(query)]


def _topic_rows(session: Session, start: datetime, end: datetime) -> list[opinion.TopicRow]:
    """The period's ten busiest topics, counted in SQL, with their previous-period posts."""
    posts = func.count()
    reach = func.coalesce(func.sum(Post.reach), 0)
    negative = func.sum(case((Post.sentiment == "negative", 1), else_=0))
    rows = session.execute(
        select(Post.topic_id, posts, reach, negative)
        .where(*_in(start, end), Post.topic_id.is_not(None))
        .group_by(Post.topic_id)
        .order_by(posts.desc(), reach.desc(), Post.topic_id)
        .limit(opinion.TOP_TOPICS)
    ).all()
    ids = [r[0] for r in rows]
    if not ids:
        return []
    length = end - start
    before = dict(
        session.execute(
            select(Post.topic_id, func.count())
            .where(*_in(start - length, start), Post.topic_id.in_(ids))
            .group_by(Post.topic_id)
        ).all()
    )
    records = {r.id: r for r in session.scalars(select(TopicRecord).where(TopicRecord.id.in_(ids)))}
    return [
        opinion.TopicRow(
            id=topic_id,
            keywords=list(records[topic_id].keywords) if topic_id in records else [],
            first_seen=records[topic_id].first_seen if topic_id in records else None,
            posts=int(n),
            reach=int(r or 0),
            negative=int(neg or 0),
            previous_posts=int(before.get(topic_id, 0)),
        )
        for topic_id, n, r, neg in rows
    ]


def _alert_dict(row: AlertRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "level": row.level,
        "key": row.key,
        "keywords": list(row.keywords or [])[:8],
        "status": row.status,
        "topic_id": row.topic_id,
        "raised_at": row.raised_at.isoformat(),
    }


def _opinion(
    session: Session, period: str, start: datetime, end: datetime, overdue_tasks: int
) -> dict[str, Any]:
    length = end - start
    by_sentiment = dict(_grouped(session, Post.sentiment, start, end))
    posts = sum(by_sentiment.values())
    previous = _count(
        session, select(func.count()).select_from(Post).where(*_in(start - length, start))
    )
    language = Item.analysis["language"].as_string()
    categories = opinion.category_mix(_grouped(session, Post.category, start, end))
    previous_categories = opinion.category_mix(
        _grouped(session, Post.category, start - length, start)
    )
    trend_rows = session.execute(
        select(Post.bucket, Post.sentiment, func.count())
        .where(*_in(start, end))
        .group_by(Post.bucket, Post.sentiment)
    ).all()
    topics = opinion.rank_topics(_topic_rows(session, start, end))
    raised = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.raised_at >= start, AlertRecord.raised_at < end)
        .order_by(AlertRecord.level.desc(), AlertRecord.id)
    )
    waiting = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.status == "open", AlertRecord.level >= opinion.URGENT_ALERT_LEVEL)
        .order_by(AlertRecord.level.desc(), AlertRecord.id)
        .limit(50)
    )
    open_alerts = [_alert_dict(a) for a in waiting]
    negative = by_sentiment.get("negative", 0)
    return {
        "posts": posts,
        "previous_posts": previous,
        "change": opinion.change(posts, previous),
        "negative": negative,
        "negative_share": opinion.share(negative, posts),
        "by_sentiment": {name: by_sentiment.get(name, 0) for name in opinion.SENTIMENTS},
        "by_language": dict(
            sorted(
                (
                    (lang or "und", n)
                    for lang, n in _grouped(session, language, start, end, join_item=True)
                ),
                key=lambda pair: (-pair[1], pair[0]),
            )
        ),
        "by_source": dict(
            sorted(_grouped(session, Post.source, start, end), key=lambda p: (-p[1], p[0]))
        ),
        "trend": opinion.fold_trend(trend_rows, start, end, opinion.trend_unit(period)),
        "categories": categories,
        "previous_categories": previous_categories,
        "topics": topics,
        "alerts": [_alert_dict(a) for a in raised],
        "open_alerts": open_alerts,
        "attention": opinion.attention(
            open_alerts=open_alerts,
            topics=topics,
            categories=categories,
            previous_categories=previous_categories,
            overdue_tasks=overdue_tasks,
        ),
    }


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
