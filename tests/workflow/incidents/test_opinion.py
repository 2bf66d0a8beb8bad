"""The incident's live opinion chart: posts per hour by sentiment since a day before it opened,
from the monitoring tables, through the JSON route the page polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clamor.core import clock
from clamor.intake.service import ItemIn, store_items
from clamor.monitoring.models import Post
from clamor.workflow.incidents import service
from clamor.workflow.incidents.opinion import opinion_series
from tests.conftest import PASSWORD
from tests.web.conftest import Browser
from tests.workflow.incidents.conftest import opened

OPENED = datetime(2026, 3, 9, 2, 10, tzinfo=UTC)


def _posts(db, *posts: tuple[datetime, str, str, str | None]) -> None:
    with db.write() as session:
        stored = store_items(
            session,
            [ItemIn("post", "weibo", f"p{i}", f"帖子 {i}") for i in range(len(posts))],
        )
        for seq, (item, (at, sentiment, category, topic)) in enumerate(
            zip(stored, posts, strict=True)
        ):
            session.add(
                Post(
                    item_id=item.item.id,
                    at=at,
                    bucket=int(at.timestamp()) // 300,
                    source="weibo",
                    sentiment=sentiment,
                    category=category,
                    topic_id=topic,
                    detected_at=at,
                    seq=seq,
                )
            )


def test_posts_per_hour_by_sentiment_around_the_incident(db, people, client) -> None:
    clock.freeze(OPENED)
    try:
        incident_id = opened(db, people["analyst"])
        _posts(
            db,
            (OPENED - timedelta(hours=2), "negative", "data_privacy", "t1"),
            (OPENED + timedelta(minutes=5), "negative", "data_privacy", "t1"),
            (OPENED + timedelta(minutes=20), "positive", "data_privacy", None),
            (OPENED + timedelta(minutes=30), "negative", "product_quality", None),
            (OPENED - timedelta(days=2), "negative", "data_privacy", None),  # too early
        )
        now = OPENED + timedelta(minutes=40)
        with db.read() as session:
            series = opinion_series(session, service.get(session, incident_id), now)
        assert series.basis == "category" and series.posts == 3
        assert (
            len(series.hours) == 25 and series.hours[-1] == "03-09 10:00"
        )  # 02:00 UTC, labelled in Beijing time
        assert series.by_sentiment["negative"][-1] == 1 and series.by_sentiment["negative"][-3] == 1
        assert series.by_sentiment["positive"][-1] == 1
        assert series.topics == [{"id": "t1", "posts": 2, "keywords": []}]
        clock.freeze(now)
        browser = Browser(client)
        browser.login("gm", PASSWORD)
        answer = client.get(f"/api/v1/incidents/{incident_id}/opinion")
        assert answer.status_code == 200 and answer.json()["posts"] == 3
        assert 'id="opinion-chart"' in browser.get(f"/incidents/{incident_id}").text
    finally:
        clock.freeze(None)
