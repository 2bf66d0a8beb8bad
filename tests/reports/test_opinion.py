"""The opinion briefing's pure part: comparison, trend folding, topic ranking and the attention
rules, each at its boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clamor.reports import opinion

START = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)  # 00:00 on 9 March in Shanghai


def bucket(moment: datetime) -> int:
    return int(moment.timestamp()) // opinion.BUCKET_SECONDS


def test_buckets_are_the_pipelines() -> None:
    from clamor.monitoring.pipeline import BUCKET_SECONDS

    assert opinion.BUCKET_SECONDS == BUCKET_SECONDS


def test_change_and_share() -> None:
    assert opinion.change(15, 10) == 0.5
    assert opinion.change(5, 10) == -0.5
    assert opinion.change(3, 0) is None  # nothing to compare with, not "infinitely more"
    assert opinion.share(1, 3) == 0.3333
    assert opinion.share(0, 0) == 0.0


def test_trend_folds_buckets_into_hours_and_days() -> None:
    rows = [
        (bucket(START), "negative", 2),
        (bucket(START + timedelta(minutes=55)), "negative", 1),  # same hour
        (bucket(START + timedelta(hours=23, minutes=59)), "positive", 4),  # last hour
        (bucket(START + timedelta(hours=24)), "positive", 9),  # the next period: left out
        (bucket(START - timedelta(minutes=5)), "negative", 9),  # the one before: left out
        (bucket(START + timedelta(hours=3)), None, 5),  # no sentiment counts as neutral
    ]
    hourly = opinion.fold_trend(rows, START, START + timedelta(days=1), "hour")
    assert len(hourly["starts"]) == 24 and hourly["starts"][0] == START.isoformat()
    assert hourly["series"]["negative"][0] == 3
    assert hourly["series"]["positive"][23] == 4
    assert hourly["series"]["neutral"][3] == 5
    assert sum(map(sum, hourly["series"].values())) == 12
    daily = opinion.fold_trend(
        [*rows, (bucket(START + timedelta(days=6, hours=23)), "neutral", 7)],
        START,
        START + timedelta(days=7),
        "day",
    )
    assert len(daily["starts"]) == 7
    assert daily["series"]["positive"][1] == 9  # what was "next period" for a day is day 2
    assert daily["series"]["neutral"][6] == 7


def test_category_mix_puts_unknown_and_missing_in_other() -> None:
    mix = opinion.category_mix([("data_privacy", 3), (None, 2), ("weather", 1), ("other", 1)])
    assert mix["data_privacy"] == 3 and mix["other"] == 4
    assert list(mix) == list(opinion.CATEGORIES)


def _topic(topic_id: str, posts: int, reach: int = 0, negative: int = 0, previous: int = 0):
    return opinion.TopicRow(topic_id, [topic_id, "kw"], START, posts, reach, negative, previous)


def test_topics_rank_by_posts_then_reach_then_id_and_stop_at_ten() -> None:
    rows = [_topic(f"t{i}", posts=i % 4, reach=i) for i in range(12)]
    ranked = opinion.rank_topics(rows)
    assert len(ranked) == 10
    assert [t["id"] for t in ranked[:3]] == ["t11", "t7", "t3"]  # 3 posts each, by reach
    tie = opinion.rank_topics([_topic("b", 2, 5), _topic("a", 2, 5)])
    assert [t["id"] for t in tie] == ["a", "b"]
    assert tie[0]["negative_share"] == 0.0 and tie[0]["first_seen"] == START.isoformat()


def _attention(**overrides):
    arguments = {
        "open_alerts": [],
        "topics": [],
        "categories": {},
        "previous_categories": {},
        "overdue_tasks": 0,
    }
    arguments.update(overrides)
    return opinion.attention(**arguments)


def _alert(alert_id: int, level: int, status: str = "open") -> dict:
    return {"id": alert_id, "level": level, "status": status, "keywords": ["电池", "起火"]}


def test_urgent_unacknowledged_alerts_need_attention_most_severe_first() -> None:
    items = _attention(
        open_alerts=[_alert(1, 3), _alert(2, 4), _alert(3, 2), _alert(4, 4, "acknowledged")]
    )
    assert [(i["code"], i["params"]["id"]) for i in items] == [
        ("alert_unacknowledged", 2),
        ("alert_unacknowledged", 1),
    ]
    assert items[0]["params"]["keywords"] == "电池 起火"


def _ranked(posts: int, previous: int, negative: int) -> dict:
    return opinion.rank_topics([_topic("t1", posts, 10, negative, previous)])[0]


def test_a_topic_needs_attention_when_it_doubles_with_mostly_negative_posts() -> None:
    assert [i["code"] for i in _attention(topics=[_ranked(6, 3, 3)])] == ["topic_growing"]
    assert _attention(topics=[_ranked(6, 4, 6)]) == []  # grew, but less than twice
    assert _attention(topics=[_ranked(6, 0, 2)]) == []  # mostly not negative
    assert _attention(topics=[_ranked(4, 0, 4)]) == []  # too few posts to call it growth
    [item] = _attention(topics=[_ranked(10, 0, 8)])
    assert item["params"] == {"keywords": "t1 kw", "posts": 10, "previous": 0, "negative": 80}
    assert item["target"] == {"topic": "t1"}


def test_a_rise_of_data_privacy_posts_needs_attention() -> None:
    def rise(now: int, before: int) -> list[str]:
        found = _attention(
            categories={"data_privacy": now}, previous_categories={"data_privacy": before}
        )
        return [i["code"] for i in found]

    assert rise(3, 0) == ["privacy_rise"]
    assert rise(3, 2) == ["privacy_rise"]  # 1.5 times
    assert rise(4, 3) == []  # less than 1.5 times
    assert rise(2, 0) == []  # too few
    assert rise(5, 5) == []  # no rise


def test_overdue_tasks_need_attention_and_rules_keep_their_order() -> None:
    items = _attention(
        open_alerts=[_alert(7, 3)],
        topics=[_ranked(8, 1, 8)],
        categories={"data_privacy": 6},
        overdue_tasks=2,
    )
    assert [i["code"] for i in items] == [
        "alert_unacknowledged",
        "topic_growing",
        "privacy_rise",
        "overdue_tasks",
    ]
    assert items[-1]["params"] == {"count": 2}
