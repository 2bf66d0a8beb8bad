"""The public opinion around an incident, for its live chart (plan §4.4: PR monitors opinion):
posts per hour by sentiment since a day before the incident opened, and the topics involved.

Which posts: those of the alert's topic (or of its watch query) when the incident came from an
alert; otherwise the posts of the incident's risk category. Read-only over the monitoring
tables.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clamor.core.clock import LOCAL_ZONE
from clamor.core.errors import NotFoundError
from clamor.monitoring.models import AlertRecord, Post, PostMatch, TopicRecord
from clamor.workflow.incidents.models import Incident
from clamor.workflow.vocabulary import RiskCategory

LEAD = timedelta(days=1)  # show the day before the incident opened
SENTIMENTS = ("negative", "neutral", "positive")
BUCKETS_PER_HOUR = 12  # Post.bucket is UNIX seconds // 300


@dataclass(frozen=True)
class OpinionSeries:
    basis: str  # topic | query | category
    hours: list[str]
    by_sentiment: dict[str, list[int]]
    topics: list[dict[str, Any]]
    posts: int


def _filter(session: Session, incident: Incident) -> tuple[str, Any]:
    alert = session.get(AlertRecord, incident.alert_id) if incident.alert_id else None
    if alert is not None and alert.topic_id:
        return "topic", Post.topic_id == alert.topic_id
    if alert is not None and alert.watch_query_id is not None:
        matched = select(PostMatch.item_id).where(PostMatch.watch_query_id == alert.watch_query_id)
        return "query", Post.item_id.in_(matched)
    return "category", Post.category == incident.category


ALERT_LEVELS = {4: "I", 3: "II", 2: "III", 1: "IV"}  # the detector grades 1 (blue) … 4 (red)


def alert_incident_fields(session: Session, alert_id: int) -> dict[str, Any]:
    """What `service.open_from_alert` needs, read from a stored monitoring alert: a title from
    its keywords, its category (from the alert's key or its topic), its graded level and
    reasons."""
    alert = session.get(AlertRecord, alert_id)
    if alert is None:
        raise NotFoundError.keyed("error.incidents.alert_not_found", id=alert_id)
    category = "other"
    kind, _, value = alert.key.partition(":")
    if kind == "category":
        category = value
    elif alert.topic_id:
        topic = session.get(TopicRecord, alert.topic_id)
        if topic is not None and topic.categories:
            category = max(topic.categories.items(), key=lambda kv: kv[1])[0]
    words = "、".join(alert.keywords[:3]) or alert.key
    reasons = [str(r.get("text") or r.get("code")) for r in alert.reasons if isinstance(r, dict)]
    return {
        "alert_id": alert.id,
        "title": f"舆情预警：{words}"[:300],
        "summary": "；".join(reasons),
        "category": category if category in _CATEGORIES else "other",
        "suggested_level": ALERT_LEVELS.get(alert.level),
        "reasons": reasons,
    }


_CATEGORIES = {c.value for c in RiskCategory}


def opinion_series(session: Session, incident: Incident, now: datetime) -> OpinionSeries:
    basis, condition = _filter(session, incident)
    since = incident.opened_at - LEAD
    first_hour = int(since.timestamp()) // 3600
    last_hour = int(now.timestamp()) // 3600
    rows = session.execute(
        select(Post.bucket, Post.sentiment, func.count())
        .where(condition, Post.at >= since, Post.at <= now, Post.is_copy.is_(False))
        .group_by(Post.bucket, Post.sentiment)
    ).all()
    counts: Counter[tuple[int, str]] = Counter()
    for bucket, sentiment, count in rows:
        counts[(bucket // BUCKETS_PER_HOUR, sentiment or "neutral")] += count
    hours = list(range(first_hour, last_hour + 1))
    # Labelled in the hours people read (Beijing time; a whole-hour offset keeps the buckets).
    labels = [datetime.fromtimestamp(h * 3600, LOCAL_ZONE).strftime("%m-%d %H:00") for h in hours]
    by_sentiment = {s: [counts[(h, s)] for h in hours] for s in SENTIMENTS}
    topic_rows = session.execute(
        select(Post.topic_id, func.count())
        .where(condition, Post.at >= since, Post.topic_id.is_not(None))
        .group_by(Post.topic_id)
        .order_by(func.count().desc())
        .limit(5)
    ).all()
    keywords = {
        t.id: t.keywords
        for t in session.scalars(
            select(TopicRecord).where(TopicRecord.id.in_([r[0] for r in topic_rows]))
        )
    }
    topics = [{"id": tid, "posts": n, "keywords": keywords.get(tid, [])} for tid, n in topic_rows]
    return OpinionSeries(basis, labels, by_sentiment, topics, sum(counts.values()))
