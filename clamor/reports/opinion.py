"""The public-opinion part of a briefing (舆情简报), as pure functions over plain rows.

`briefing.build` reads the rows with a few aggregate queries; this module folds them into the
figures that are kept with the briefing (plain JSON: numbers, strings, lists) and decides what
deserves the leadership's attention. Each attention item carries a code and the numbers that
triggered it, so the reason can be written in the reader's language when the briefing is read —
and reads the same a month later, because the figures are kept, not recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clamor.analysis.category import CATEGORIES
from clamor.analysis.sentiment import LABELS as SENTIMENTS

TOP_TOPICS = 10
BUCKET_SECONDS = 300  # the monitoring posts' time bucket (`Post.bucket`)

# Attention thresholds: small enough to catch an event on its first day, large enough that a
# handful of posts does not raise a flag.
URGENT_ALERT_LEVEL = 3  # orange (II) and red (I)
GROWING_TOPIC_MIN_POSTS = 5
GROWING_TOPIC_RATIO = 2.0  # at least twice the previous period's posts
GROWING_TOPIC_NEGATIVE_SHARE = 0.5
PRIVACY_MIN_POSTS = 3
PRIVACY_RISE_RATIO = 1.5


def change(current: int, previous: int) -> float | None:
    """Relative change against the previous period; None when there was nothing to compare."""
    if previous == 0:
        return None
    return round((current - previous) / previous, 4)


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def trend_unit(period: str) -> str:
    """A day is read hour by hour; a week day by day."""
    return "hour" if period == "daily" else "day"


def fold_trend(
    rows: Iterable[tuple[int, str | None, int]], start: datetime, end: datetime, unit: str
) -> dict[str, Any]:
    """(5-minute bucket, sentiment, posts) rows → posts per hour (or day) by sentiment.

    Slots start at `start` (local midnight), so a day slot is a Beijing calendar day. A post
    without a sentiment counts as neutral, as the dashboard shows it."""
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    slots = int((end - start) / step)
    series = {name: [0] * slots for name in SENTIMENTS}
    origin, width = start.timestamp(), step.total_seconds()
    for bucket, sentiment, count in rows:
        index = int((bucket * BUCKET_SECONDS - origin) // width)
        if 0 <= index < slots:
            series[sentiment if sentiment in series else "neutral"][index] += count
    starts = [(start + i * step).isoformat() for i in range(slots)]
    return {"unit": unit, "starts": starts, "series": series}


def category_mix(rows: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    """(category, posts) rows → posts per risk category; unknown or missing go to `other`."""
    mix = dict.fromkeys(CATEGORIES, 0)
    for category, count in rows:
        mix[category if category in mix else "other"] += count
    return mix


@dataclass(frozen=True)
class TopicRow:
    id: str
    keywords: list[str]
    first_seen: datetime | None
    posts: int
    reach: int
    negative: int
    previous_posts: int = 0


def rank_topics(rows: Iterable[TopicRow], limit: int = TOP_TOPICS) -> list[dict[str, Any]]:
    """The period's topics by posts (then reach, then id, so equal topics keep one order)."""
    ranked = sorted(rows, key=lambda r: (-r.posts, -r.reach, r.id))[:limit]
    return [
        {
            "id": r.id,
            "keywords": list(r.keywords)[:8],
            "posts": r.posts,
            "previous_posts": r.previous_posts,
            "reach": r.reach,
            "negative": r.negative,
            "negative_share": share(r.negative, r.posts),
            "first_seen": r.first_seen.isoformat() if r.first_seen else None,
        }
        for r in ranked
    ]


def _alert_words(alert: dict[str, Any]) -> str:
    """An alert's keywords, or its key (`category:data_privacy`) when it has none."""
    return " ".join(alert["keywords"][:4]) or str(alert.get("key", ""))


def _growing(topic: dict[str, Any]) -> bool:
    posts, previous = topic["posts"], topic["previous_posts"]
    return (
        posts >= GROWING_TOPIC_MIN_POSTS
        and posts >= GROWING_TOPIC_RATIO * previous
        and topic["negative_share"] >= GROWING_TOPIC_NEGATIVE_SHARE
    )


def attention(
    *,
    open_alerts: list[dict[str, Any]],
    topics: list[dict[str, Any]],
    categories: dict[str, int],
    previous_categories: dict[str, int],
    overdue_tasks: int,
) -> list[dict[str, Any]]:
    """What the leadership should look at, most pressing first, each with why (code + figures).

    - an orange or red alert nobody has acknowledged yet;
    - a topic that at least doubled against the previous period with mostly negative posts;
    - a rise of data-privacy posts (the plan weighs privacy leaks heaviest);
    - incident tasks past their deadline."""
    items: list[dict[str, Any]] = []
    for alert in sorted(open_alerts, key=lambda a: (-a["level"], a["id"])):
        if alert["status"] == "open" and alert["level"] >= URGENT_ALERT_LEVEL:
            items.append(
                {
                    "code": "alert_unacknowledged",
                    "level": alert["level"],
                    "params": {"id": alert["id"], "keywords": _alert_words(alert)},
                    "target": {"alert": alert["id"]},
                }
            )
    for topic in topics:
        if _growing(topic):
            items.append(
                {
                    "code": "topic_growing",
                    "params": {
                        "keywords": " ".join(topic["keywords"][:4]),
                        "posts": topic["posts"],
                        "previous": topic["previous_posts"],
                        "negative": round(topic["negative_share"] * 100),
                    },
                    "target": {"topic": topic["id"]},
                }
            )
    privacy, before = categories.get("data_privacy", 0), previous_categories.get("data_privacy", 0)
    if privacy >= PRIVACY_MIN_POSTS and privacy >= PRIVACY_RISE_RATIO * before and privacy > before:
        items.append(
            {
                "code": "privacy_rise",
                "params": {"posts": privacy, "previous": before},
                "target": {"category": "data_privacy"},
            }
        )
    if overdue_tasks > 0:
        items.append(
            {"code": "overdue_tasks", "params": {"count": overdue_tasks}, "target": {"tasks": 1}}
        )
    return items
