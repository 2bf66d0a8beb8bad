"""The posts list behind every number of a briefing: stored posts filtered by period, topic,
sentiment, category, language, source and a keyword, newest first, 50 a page.

`PostFilter.parse` turns query parameters into a filter (a ValidationError names the bad field);
`list_posts` reads one page with keyset pagination — the cursor is the (time, item id) of the
last post shown, so a page costs the same however deep the reader goes and posts arriving
meanwhile do not shift the pages. Read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from clamor.analysis.category import CATEGORIES as ALL_CATEGORIES
from clamor.analysis.category import OTHER
from clamor.analysis.sentiment import LABELS as SENTIMENTS
from clamor.core.clock import LOCAL_ZONE
from clamor.core.errors import ValidationError
from clamor.intake.models import Item
from clamor.monitoring.models import Post
from clamor.monitoring.pipeline import BUCKET_SECONDS

PAGE_SIZE = 50
# The plan's four risks; a post with none (or "other") is filtered as "other".
CATEGORIES = tuple(c for c in ALL_CATEGORIES if c != OTHER)
FORM_FIELDS = ("from", "to", "topic", "sentiment", "category", "language", "source", "q")
UNDETERMINED = (
    "und"  # posts without a category are listed with "other", as the dashboard counts them
)


def bucket_of(moment: datetime) -> int:
    """The 5-minute bucket of a moment, as detection stores it with each post."""
    return int(moment.timestamp() // BUCKET_SECONDS)


def parse_moment(value: str, name: str) -> datetime | None:
    """ISO 8601 with a zone, or without one (a form's datetime-local: Beijing time) → UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        # A "+" typed into an address arrives as a space: "…T08:00:00 08:00".
        value = re.sub(r" (\d\d:\d\d)$", r"+\1", value.replace("Z", "+00:00"))
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError.keyed(
            "error.monitoring.not_a_moment", field=name, value=value
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_ZONE)
    return moment.astimezone(UTC)


def _parse_cursor(value: str) -> tuple[datetime, int] | None:
    if not value:
        return None
    moment, _, item_id = value.rpartition("~")
    parsed = parse_moment(moment, "cursor") if moment else None
    if parsed is None or not item_id.isdigit():
        raise ValidationError.keyed("error.monitoring.bad_cursor", field="cursor")
    return parsed, int(item_id)


@dataclass(frozen=True)
class PostFilter:
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    topic: str = ""
    sentiment: str = ""
    category: str = ""
    language: str = ""
    source: str = ""
    q: str = ""

    @classmethod
    def parse(cls, params: dict[str, str]) -> PostFilter:
        def value(name: str) -> str:
            return (params.get(name) or "").strip()

        sentiment, category = value("sentiment"), value("category")
        if sentiment and sentiment not in SENTIMENTS:
            raise ValidationError.keyed(
                "error.monitoring.sentiment_choice",
                field="sentiment",
                choices=", ".join(SENTIMENTS),
            )
        if category and category not in (*CATEGORIES, OTHER):
            raise ValidationError.keyed(
                "error.monitoring.category_choice",
                field="category",
                choices=", ".join((*CATEGORIES, OTHER)),
            )
        start, end = parse_moment(value("from"), "from"), parse_moment(value("to"), "to")
        if start and end and end <= start:
            raise ValidationError.keyed("error.monitoring.to_before_from", field="to")
        return cls(
            start=start,
            end=end,
            topic=value("topic")[:32],
            sentiment=sentiment,
            category=category,
            language=value("language")[:16],
            source=value("source")[:64],
            q=value("q")[:200],
        )

    def params(self) -> dict[str, str]:
        """The filter as query parameters (UTC times with their zone), for links and forms."""
        out: dict[str, str] = {}
        for spec in fields(self):
            current = getattr(self, spec.name)
            if not current:
                continue
            name = {"start": "from", "end": "to"}.get(spec.name, spec.name)
            out[name] = current.isoformat() if isinstance(current, datetime) else current
        return out


def posts_query_string(**params: Any) -> str:
    """`from=…&to=…&sentiment=…` for a link to the posts list (datetimes as ISO 8601)."""
    cleaned = {
        ("from" if k == "start" else "to" if k == "end" else k): (
            v.astimezone(UTC).isoformat() if isinstance(v, datetime) else str(v)
        )
        for k, v in params.items()
        if v not in (None, "")
    }
    return urlencode(cleaned)


def _conditions(chosen: PostFilter) -> list[Any]:
    # The bucket bounds repeat the time bounds so that the database can use the bucket index.
    conditions: list[Any] = []
    if chosen.start is not None:
        conditions += [Post.bucket >= bucket_of(chosen.start), Post.at >= chosen.start]
    if chosen.end is not None:
        last = bucket_of(chosen.end - timedelta(microseconds=1))
        conditions += [Post.bucket <= last, Post.at < chosen.end]
    if chosen.topic:
        conditions.append(Post.topic_id == chosen.topic)
    if chosen.sentiment:
        conditions.append(Post.sentiment == chosen.sentiment)
    if chosen.category == OTHER:
        conditions.append(or_(Post.category.is_(None), Post.category.not_in(CATEGORIES)))
    elif chosen.category:
        conditions.append(Post.category == chosen.category)
    if chosen.source:
        conditions.append(Post.source == chosen.source)
    language = Item.analysis["language"].as_string()
    if chosen.language == UNDETERMINED:  # what the briefing counts as "und": none detected
        conditions.append(or_(language.is_(None), language == UNDETERMINED))
    elif chosen.language:
        conditions.append(language == chosen.language)
    if chosen.q:
        conditions.append(Item.text.icontains(chosen.q, autoescape=True))
    return conditions


@dataclass(frozen=True)
class PostPage:
    rows: list[tuple[Post, Item]]
    next_cursor: str | None  # None on the last page


def list_posts(
    session: Session, chosen: PostFilter, cursor: str = "", size: int = PAGE_SIZE
) -> PostPage:
    """One page of the posts matching `chosen`, newest first, after `cursor`."""
    after = _parse_cursor(cursor.strip())
    query = select(Post, Item).join(Item, Item.id == Post.item_id).where(*_conditions(chosen))
    if after is not None:
        moment, item_id = after
        query = query.where(or_(Post.at < moment, and_(Post.at == moment, Post.item_id < item_id)))
    query = query.order_by(Post.at.desc(), Post.item_id.desc()).limit(size + 1)
    rows = [(post, item) for post, item in session.execute(query).all()]
    if len(rows) <= size:
        return PostPage(rows, None)
    last = rows[size - 1][0]
    return PostPage(rows[:size], f"{last.at.isoformat()}~{last.item_id}")
