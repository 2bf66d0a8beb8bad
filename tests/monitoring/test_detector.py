"""The detection stage as one value: one event → one topic and one alert; state round-trips."""

from __future__ import annotations

import json

from clamor.detection.items import DetectionItem
from clamor.monitoring.detector import Detector

BASE = 1_760_000_000.0  # some Tuesday in 2025


def background(count: int, start: float, step: float) -> list[DetectionItem]:
    topics = ["coffee", "weather", "football", "movie", "holiday", "music", "traffic", "garden"]
    return [
        DetectionItem(
            item_id=f"bg{n}",
            text=f"{topics[n % len(topics)]} chat number {n} about {topics[(n * 3) % 8]} things",
            at=start + n * step,
            author=f"user{n % 50}",
            sentiment="neutral",
            category="other",
        )
        for n in range(count)
    ]


def story(prefix: str, text: str, count: int, start: float) -> list[DetectionItem]:
    """`count` posts of one story, each told a little differently (no two are near-copies)."""
    return [
        DetectionItem(
            item_id=f"{prefix}{n}",
            text=text.format(n=n),
            at=start + n * 20,
            reach=5000,
            author=f"{prefix}-witness{n}",
            sentiment="negative",
            category="product_quality",
        )
        for n in range(count)
    ]


def event(count: int, start: float) -> list[DetectionItem]:
    text = "Battery of the Nova X phone exploded while charging, report {n} by witness {n}"
    return story("ev", text, count, start)


def run(
    items: list[DetectionItem],
    detector: Detector,
    queries: dict[str, tuple[str, ...]] | None = None,
):
    outcomes = []
    for item in items:
        outcomes.append(detector.process(item, (queries or {}).get(item.item_id, ())))
    return outcomes


def test_an_event_opens_one_topic_and_raises_one_alert_that_updates() -> None:
    detector = Detector()
    quiet = background(300, BASE, 240)  # 20 hours of quiet chatter
    burst = event(30, BASE + 300 * 240)
    outcomes = run(quiet + burst, detector)
    event_topics = {o.topic_id for o in outcomes if o.item_id.startswith("ev")}
    assert len(event_topics) == 1
    raised = [a for o in outcomes for a in o.alerts if a.change.kind == "raised"]
    assert len(raised) == 1, [a.change.alert.key for a in raised]
    alert = raised[0]
    assert alert.topic_id in event_topics
    assert "exploded" in alert.keywords or "battery" in alert.keywords
    updates = [a for o in outcomes for a in o.alerts if a.change.kind != "raised"]
    assert updates and all(
        a.change.alert.alert_id == alert.change.alert.alert_id
        for a in updates
        if a.topic_id == alert.topic_id
    )
    assert not any(a.topic_id for o in outcomes[:300] for a in o.alerts)


def test_near_copies_add_reach_but_not_volume() -> None:
    detector = Detector()
    text = "Official statement: the data breach affected customer phone numbers and addresses"
    items = [
        DetectionItem(
            item_id=f"c{n}", text=f"RT @user{n}: {text}", at=BASE + n, reach=100, author=f"a{n}"
        )
        for n in range(5)
    ]
    outcomes = run(items, detector)
    assert [o.is_copy for o in outcomes] == [False, True, True, True, True]
    topic = detector.topics.topics[outcomes[0].topic_id]
    assert (topic.volume, topic.copies, topic.reach) == (1, 5, 500)


def test_processing_an_item_twice_changes_nothing() -> None:
    detector = Detector()
    items = background(50, BASE, 60) + event(10, BASE + 3000)
    run(items, detector)
    before = json.dumps(detector.to_dict(), sort_keys=True)
    outcomes = run(items[-5:], detector)
    assert all(not o.alerts for o in outcomes)
    assert json.dumps(detector.to_dict(), sort_keys=True) == before


def test_state_round_trips_and_continues_identically() -> None:
    items = background(200, BASE, 240) + event(30, BASE + 200 * 240)
    straight = Detector()
    expected = run(items, straight)
    resumed = Detector()
    first = run(items[:210], resumed)
    resumed = Detector.from_dict(json.loads(json.dumps(resumed.to_dict())))
    rest = run(items[210:], resumed)
    assert [(o.topic_id, o.is_copy, len(o.alerts)) for o in first + rest] == [
        (o.topic_id, o.is_copy, len(o.alerts)) for o in expected
    ]
    assert json.dumps(resumed.to_dict(), sort_keys=True) == json.dumps(
        straight.to_dict(), sort_keys=True
    )


def test_one_event_matching_a_watch_query_still_raises_one_alert() -> None:
    detector = Detector()
    burst = event(30, BASE + 300 * 240)
    queries = {item.item_id: ("7",) for item in burst}
    outcomes = run(background(300, BASE, 240) + burst, detector, queries)
    raised = [a for o in outcomes for a in o.alerts if a.change.kind == "raised"]
    assert [a.change.alert.key.split(":")[0] for a in raised] == ["topic"]


def test_a_watch_query_busy_across_many_topics_raises_its_own_alert() -> None:
    subjects = [
        "screen flickers at night", "refund still not paid", "camera app crashes often",
        "courier lost the parcel", "warranty claim refused", "speaker crackles loudly",
        "hotline kept me waiting", "update wiped my photos", "charger stopped working",
        "store staff were rude", "price dropped after purchase", "fingerprint reader fails",
    ]  # fmt: skip
    detector = Detector()
    mentions = [
        DetectionItem(
            item_id=f"m{n}",
            text=f"Nova {subjects[n % len(subjects)]} {['today', 'again', 'seriously'][n % 3]}",
            at=BASE + 300 * 240 + n * 25,
            author=f"customer{n}",
            sentiment="negative",
        )
        for n in range(36)
    ]
    queries = {item.item_id: ("7",) for item in mentions}
    outcomes = run(background(300, BASE, 240) + mentions, detector, queries)
    raised = [a for o in outcomes for a in o.alerts if a.change.kind == "raised"]
    assert "query:7" in {a.change.alert.key for a in raised}
    [query_alert] = [a for a in raised if a.change.alert.key == "query:7"]
    assert query_alert.query_id == "7"


def test_a_sub_story_raises_its_own_alert_naming_the_related_one(monkeypatch) -> None:
    import clamor.monitoring.detector as detector_module

    monkeypatch.setattr(detector_module, "SIBLING_SIMILARITY", 0.99)  # never share an alert
    detector = Detector()
    start = BASE + 300 * 240
    first = event(30, start)
    recall = story(
        "rc",
        "Nova X battery recall ordered by regulators after the phone fires "
        "(source {n}, seen {n} minutes ago)",
        30,
        start + 900,
    )
    unrelated = story(
        "cf",
        "Hostages held in a Sydney cafe siege as police surround Martin Place; update {n} live",
        30,
        start + 1800,
    )
    outcomes = run(background(300, BASE, 240) + first + recall + unrelated, detector)
    raised = {a.topic_id: a for o in outcomes for a in o.alerts if a.change.kind == "raised"}
    topic_of = {o.item_id: o.topic_id for o in outcomes}
    event_topic, recall_topic, siege_topic = topic_of["ev29"], topic_of["rc29"], topic_of["cf29"]
    assert {event_topic, recall_topic, siege_topic} <= set(raised)
    assert raised[event_topic].related_topic_id is None  # the first alert has nothing beside it
    assert raised[recall_topic].related_topic_id == event_topic
    assert raised[siege_topic].related_topic_id is None  # another event entirely
