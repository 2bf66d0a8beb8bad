"""The monitoring group's rules: watch queries, feed sources, alert handling (each change
audited), and the read models behind the pages and the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clamor.analysis.category import CATEGORIES
from clamor.analysis.sentiment import LABELS as SENTIMENTS
from clamor.analysis.watch import Highlight, WatchSet, parse_query
from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.clock import LOCAL_ZONE
from clamor.core.errors import ConflictError, NotFoundError, ValidationError
from clamor.core.principal import Principal
from clamor.intake.models import Item
from clamor.monitoring.models import AlertRecord, Post, PostMatch, Source, TopicRecord, WatchQuery
from clamor.monitoring.pipeline import BUCKET_SECONDS

QUERY_KINDS = ("brand", "product", "executive", "competitor", "other")
ALERT_STATUSES = ("open", "acknowledged", "snoozed", "false")
ACTIVE_STATUSES = ("open", "acknowledged")
ALERT_ACTIONS = ("acknowledge", "snooze", "mark_false", "reopen")
FALSE_ALERT_QUIET = timedelta(days=7)


# -- watch queries -----------------------------------------------------------------------------


def _query_values(name: str, kind: str, query: str) -> tuple[str, str, str]:
    name = name.strip()
    if not name:
        raise ValidationError.keyed("error.monitoring.name_empty", field="name")
    if len(name) > 200:
        raise ValidationError.keyed("error.monitoring.name_too_long", field="name", max=200)
    if kind not in QUERY_KINDS:
        raise ValidationError.keyed(
            "error.monitoring.kind_choice", field="kind", choices=", ".join(QUERY_KINDS)
        )
    if not query.strip():
        raise ValidationError.keyed("error.monitoring.query_empty", field="query")
    parse_query(query)  # QuerySyntaxError names the position
    return name, kind, query.strip()


def _query_dict(row: WatchQuery) -> dict[str, Any]:
    return {"name": row.name, "kind": row.kind, "query": row.query, "enabled": row.enabled}


def list_queries(session: Session) -> list[WatchQuery]:
    return list(session.scalars(select(WatchQuery).order_by(WatchQuery.kind, WatchQuery.name)))


def create_query(
    session: Session, principal: Principal, name: str, kind: str, query: str
) -> WatchQuery:
    principal.require("monitoring.manage")
    name, kind, query = _query_values(name, kind, query)
    if session.scalar(select(WatchQuery.id).where(WatchQuery.name == name)) is not None:
        raise ConflictError.keyed("error.monitoring.query_exists", field="name", name=name)
    now = clock.now()
    row = WatchQuery(
        name=name, kind=kind, query=query, enabled=True, created_at=now, updated_at=now
    )
    session.add(row)
    session.flush()
    audit.record(
        session, principal, "monitoring.query.create", "watch_query", row.id, after=_query_dict(row)
    )
    return row


def update_query(
    session: Session,
    principal: Principal,
    query_id: int,
    *,
    name: str,
    kind: str,
    query: str,
    enabled: bool,
) -> WatchQuery:
    principal.require("monitoring.manage")
    row = _get(session, WatchQuery, query_id, "watch query")
    name, kind, query = _query_values(name, kind, query)
    clash = session.scalar(
        select(WatchQuery.id).where(WatchQuery.name == name, WatchQuery.id != query_id)
    )
    if clash is not None:
        raise ConflictError.keyed("error.monitoring.query_exists", field="name", name=name)
    before = _query_dict(row)
    row.name, row.kind, row.query, row.enabled = name, kind, query, enabled
    row.updated_at = clock.now()
    audit.record(
        session, principal, "monitoring.query.update", "watch_query", row.id,
        before=before, after=_query_dict(row),
    )  # fmt: skip
    return row


def delete_query(session: Session, principal: Principal, query_id: int) -> None:
    principal.require("monitoring.manage")
    row = _get(session, WatchQuery, query_id, "watch query")
    audit.record(
        session,
        principal,
        "monitoring.query.delete",
        "watch_query",
        row.id,
        before=_query_dict(row),
    )
    session.delete(row)


@dataclass(frozen=True)
class QueryHit:
    item: Item
    highlights: tuple[Highlight, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class QueryTest:
    scanned: int
    hits: list[QueryHit]


def test_query(session: Session, query: str, *, scan: int = 5000, limit: int = 50) -> QueryTest:
    """Run a query (not saved) over the most recent stored items."""
    if not query.strip():
        raise ValidationError.keyed("error.monitoring.query_empty", field="query")
    watch = WatchSet.compile({"q": query})
    items = session.scalars(select(Item).order_by(Item.id.desc()).limit(scan)).all()
    hits = []
    for item in items:
        analysis = item.analysis or {}
        fields = {
            "lang": analysis.get("language"),
            "source": item.source,
            "author": item.author,
            "category": (analysis.get("category") or {}).get("label"),
        }
        text = (
            f"{item.title}\n{item.text}"
            if item.title and item.title not in item.text
            else item.text
        )
        matches = watch.match(text, fields)
        if matches:
            hits.append(QueryHit(item, matches[0].highlights, matches[0].terms))
            if len(hits) >= limit:
                break
    return QueryTest(len(items), hits)


# -- sources -----------------------------------------------------------------------------------


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def _source_dict(row: Source) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "name": row.name,
        "url": row.url,
        "enabled": row.enabled,
        "interval_seconds": row.interval_seconds,
    }


def add_feed(
    session: Session, principal: Principal, name: str, url: str, interval_seconds: int = 300
) -> Source:
    principal.require("monitoring.manage")
    name, url = name.strip(), url.strip()
    if not name:
        raise ValidationError.keyed("error.monitoring.name_empty", field="name")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError.keyed("error.monitoring.url_not_http", field="url")
    if not 30 <= interval_seconds <= 86400:
        raise ValidationError.keyed("error.monitoring.interval_range", field="interval")
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise ConflictError.keyed("error.monitoring.source_exists", field="name", name=name)
    row = Source(
        kind="feed",
        name=name,
        url=url,
        enabled=True,
        interval_seconds=interval_seconds,
        failures=0,
        items_total=0,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, principal, "monitoring.source.create", "source", row.id, after=_source_dict(row)
    )
    return row


def set_source_enabled(
    session: Session, principal: Principal, source_id: int, enabled: bool
) -> Source:
    principal.require("monitoring.manage")
    row = _get(session, Source, source_id, "source")
    before = _source_dict(row)
    row.enabled = enabled
    if enabled:
        row.next_poll_at = None  # poll at the next tick
        row.failures = 0
    audit.record(
        session, principal, "monitoring.source.update", "source", row.id,
        before=before, after=_source_dict(row),
    )  # fmt: skip
    return row


def delete_source(session: Session, principal: Principal, source_id: int) -> None:
    principal.require("monitoring.manage")
    row = _get(session, Source, source_id, "source")
    audit.record(
        session, principal, "monitoring.source.delete", "source", row.id, before=_source_dict(row)
    )
    session.delete(row)


# -- alerts ------------------------------------------------------------------------------------


def _alert_dict(row: AlertRecord) -> dict[str, Any]:
    return {
        "status": row.status,
        "level": row.level,
        "suppressed_until": row.suppressed_until.isoformat() if row.suppressed_until else None,
        "note": row.note,
    }


def change_alert(
    session: Session,
    principal: Principal,
    alert_id: int,
    action: str,
    *,
    hours: float | None = None,
    note: str | None = None,
) -> AlertRecord:
    """acknowledge | snooze (for `hours`) | mark_false | reopen — audited."""
    principal.require("monitoring.read")
    if action in ("mark_false", "reopen"):
        principal.require("monitoring.manage")
    if action not in ALERT_ACTIONS:
        raise ValidationError.keyed(
            "error.monitoring.action_choice", field="action", choices=", ".join(ALERT_ACTIONS)
        )
    row = _get(session, AlertRecord, alert_id, "alert")
    before = _alert_dict(row)
    now = clock.now()
    if action == "acknowledge":
        row.status = "acknowledged"
    elif action == "snooze":
        if hours is None or not 0 < hours <= 24 * 14:
            raise ValidationError.keyed("error.monitoring.snooze_hours", field="hours")
        row.status = "snoozed"
        row.suppressed_until = now + timedelta(hours=hours)
    elif action == "mark_false":
        row.status = "false"
        row.suppressed_until = now + FALSE_ALERT_QUIET
    else:
        row.status = "open"
        row.suppressed_until = None
    if note is not None and note.strip():
        if len(note.strip()) > MAX_NOTE_CHARS:
            raise ValidationError.keyed(
                "error.monitoring.note_too_long", field="note", max=MAX_NOTE_CHARS
            )
        row.note = note.strip()
    row.status_by = principal.username
    row.status_at = now
    audit.record(
        session, principal, f"monitoring.alert.{action}", "alert", row.id,
        before=before, after=_alert_dict(row),
    )  # fmt: skip
    return row


def list_alerts(
    session: Session, status: str | None = None, limit: int = 200, *, by_level: bool = False
) -> list[AlertRecord]:
    query = select(AlertRecord)
    if status == "active":
        query = query.where(AlertRecord.status.in_(ACTIVE_STATUSES))
    elif status:
        if status not in ALERT_STATUSES:
            raise ValidationError.keyed(
                "error.monitoring.status_choice",
                field="status",
                choices=", ".join(("active", *ALERT_STATUSES)),
            )
        query = query.where(AlertRecord.status == status)
    if by_level:
        query = query.order_by(AlertRecord.level.desc(), AlertRecord.updated_at.desc())
    query = query.order_by(AlertRecord.updated_at.desc(), AlertRecord.id.desc()).limit(limit)
    return list(session.scalars(query))


def alert_to_dict(row: AlertRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "topic_id": row.topic_id,
        "watch_query_id": row.watch_query_id,
        "level": row.level,
        "score": row.score,
        "reasons": row.reasons,
        "keywords": row.keywords,
        "opened_at": row.opened_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "raised_at": row.raised_at.isoformat(),
        "updates": row.updates,
        "status": row.status,
        "suppressed_until": row.suppressed_until.isoformat() if row.suppressed_until else None,
        "status_by": row.status_by,
        "note": row.note,
        "related_alert_id": row.related_alert_id,
    }


# -- read models -------------------------------------------------------------------------------


@dataclass
class Dashboard:
    start: datetime
    end: datetime
    hours: list[str] = field(default_factory=list)
    by_sentiment: dict[str, list[int]] = field(default_factory=dict)
    by_category: dict[str, list[int]] = field(default_factory=dict)
    topics: list[TopicRecord] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    share_of_voice: list[dict[str, Any]] = field(default_factory=list)
    authors: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0

    def charts(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "hours": self.hours,
            "by_sentiment": self.by_sentiment,
            "by_category": self.by_category,
            "share_of_voice": self.share_of_voice,
            "authors": self.authors,
            "posts": self.posts,
        }


MAX_NOTE_CHARS = 2000


def _hour_label(hour: int) -> str:
    """The chart label of an hour since the epoch, in the Beijing time people read."""
    return datetime.fromtimestamp(hour * 3600, LOCAL_ZONE).strftime("%m-%d %H:00")


def dashboard(session: Session, hours: int = 24) -> Dashboard:
    """The last `hours` of the stream, ending at the newest post (replays run ahead of the
    wall clock, and a quiet night should not show an empty page)."""
    if not 1 <= hours <= 24 * 31:
        raise ValidationError.keyed("error.monitoring.dashboard_hours", field="hours")
    newest = session.scalar(select(func.max(Post.bucket)))
    end_bucket = newest if newest is not None else int(clock.now().timestamp() // BUCKET_SECONDS)
    per_hour = 3600 // BUCKET_SECONDS
    end_hour = end_bucket // per_hour
    first_hour = end_hour - hours + 1
    start_bucket = first_hour * per_hour
    from datetime import UTC

    view = Dashboard(
        start=datetime.fromtimestamp(first_hour * 3600, UTC),
        end=datetime.fromtimestamp((end_hour + 1) * 3600, UTC),
    )
    view.hours = [_hour_label(h) for h in range(first_hour, end_hour + 1)]
    window = Post.bucket >= start_bucket
    for column, names, target in (
        (Post.sentiment, SENTIMENTS, view.by_sentiment),
        (Post.category, CATEGORIES, view.by_category),
    ):
        series: dict[str, list[int]] = {name: [0] * hours for name in names}
        rows = session.execute(
            select(Post.bucket, column, func.count()).where(window).group_by(Post.bucket, column)
        )
        for bucket, label, count in rows:
            index = bucket // per_hour - first_hour
            key = label if label in series else names[-1]
            if 0 <= index < hours:
                series[key][index] += count
        target.update(series)
    view.posts = sum(sum(values) for values in view.by_sentiment.values())
    start = view.start
    view.topics = list(
        session.scalars(
            select(TopicRecord)
            .where(TopicRecord.last_seen >= start, TopicRecord.volume >= 2)
            .order_by(TopicRecord.volume.desc(), TopicRecord.id)
            .limit(10)
        )
    )
    view.alerts = list_alerts(session, "active", limit=20, by_level=True)
    voice = session.execute(
        select(WatchQuery.id, WatchQuery.name, WatchQuery.kind, func.count(PostMatch.item_id))
        .join(PostMatch, PostMatch.watch_query_id == WatchQuery.id)
        .where(PostMatch.bucket >= start_bucket)
        .group_by(WatchQuery.id, WatchQuery.name, WatchQuery.kind)
        .order_by(func.count(PostMatch.item_id).desc())
    ).all()
    view.share_of_voice = [
        {"id": qid, "name": name, "kind": kind, "posts": n} for qid, name, kind, n in voice
    ]
    authors = session.execute(
        select(Post.author, Post.source, func.max(Post.reach), func.count())
        .where(window, Post.author.is_not(None))
        .group_by(Post.author, Post.source)
        .order_by(func.max(Post.reach).desc(), func.count().desc())
        .limit(10)
    ).all()
    view.authors = [
        {"author": a, "source": s, "reach": int(r or 0), "posts": n} for a, s, r, n in authors
    ]
    return view


@dataclass
class TopicView:
    topic: TopicRecord
    posts: list[tuple[Post, Item]]
    alerts: list[AlertRecord]
    timeline: list[tuple[str, int, int, int]]  # time, volume, copies, reach


def topic_view(session: Session, topic_id: str, limit: int = 100) -> TopicView:
    topic = _get(session, TopicRecord, topic_id, "topic")
    posts = session.execute(
        select(Post, Item)
        .join(Item, Item.id == Post.item_id)
        .where(Post.topic_id == topic_id)
        .order_by(Post.reach.desc(), Post.at)
        .limit(limit)
    ).all()
    alerts = list(
        session.scalars(
            select(AlertRecord)
            .where(AlertRecord.topic_id == topic_id)
            .order_by(AlertRecord.opened_at.desc())
        )
    )

    per_hour: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for bucket, (volume, copies, reach) in topic.timeline.items():
        hour = int(bucket) * BUCKET_SECONDS // 3600
        values = per_hour[hour]
        values[0] += volume
        values[1] += copies
        values[2] += reach
    timeline = [(_hour_label(h), *per_hour[h]) for h in sorted(per_hour)]
    return TopicView(topic, [(p, i) for p, i in posts], alerts, timeline)  # type: ignore[misc]


_NOT_FOUND = {
    "watch query": "error.monitoring.no_watch_query",
    "source": "error.monitoring.no_source",
    "alert": "error.monitoring.no_alert",
    "topic": "error.monitoring.no_topic",
}


def _get(session: Session, model: type, key: object, what: str) -> Any:
    row = session.get(model, key)
    if row is None:
        raise NotFoundError.keyed(_NOT_FOUND[what], id=key)
    return row
