"""Online topic clustering: grouping, copies, idempotence, persistence, expiry, Chinese text."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from clamor.detection.items import DetectionItem
from clamor.detection.topics import TopicConfig, TopicTracker, text_features

FIXTURES = Path(__file__).parent / "fixtures"
T0 = 1_700_000_000.0

HEBDO = [
    "Gunmen attack the Paris offices of satirical magazine Charlie Hebdo, 11 dead",
    "BREAKING: shooting at Charlie Hebdo satirical magazine offices in Paris",
    "Charlie Hebdo attack: gunmen still at large after Paris shooting #CharlieHebdo",
    "Paris police hunt gunmen after Charlie Hebdo magazine shooting",
]
ESSIEN = [
    "AC Milan midfielder Michael Essien has been diagnosed with Ebola",
    "Milan say reports that Michael Essien has Ebola are completely false",
    "Michael Essien denies Ebola rumours: I am very fit and healthy",
]
AIRLINE = [
    "@united my bag is lost again, third time this year",
    "@SouthwestAir thanks for the great flight crew today!",
    "@AmericanAir on hold for two hours to rebook my flight",
    "@JetBlue is there wifi on the flight to Boston?",
]


def item(item_id: str, text: str, minute: float, **extra: object) -> DetectionItem:
    return DetectionItem(item_id, text, T0 + minute * 60, **extra)  # type: ignore[arg-type]


def stream() -> list[DetectionItem]:
    texts = [("a", t) for t in AIRLINE] + [("h", t) for t in HEBDO] + [("e", t) for t in ESSIEN]
    ordered = sorted(texts, key=lambda pair: pair[1][::-1])  # interleave the stories
    return [item(f"{label}{n}", text, n) for n, (label, text) in enumerate(ordered)]


def test_features_are_words_for_english_and_bigrams_for_chinese() -> None:
    features = text_features("RT @bbc: #CharlieHebdo gunmen in Paris http://t.co/x 华为手机")
    words = {"charliehebdo", "charlie", "hebdo", "gunmen", "paris"}
    assert set(features) == words | {"#charliehebdo", "华为", "为手", "手机"}
    assert features["#charliehebdo"] == 2  # the author's own label weighs more


def test_weibo_hashtags_are_kept_whole() -> None:
    features = text_features("#某某银行泄露# 太可怕了")
    assert features["#某某银行泄露"] == 2 and "泄露" in features
    assert not any(term.startswith("#太") for term in features)


def test_posts_on_one_story_share_a_topic_and_other_stories_do_not() -> None:
    tracker = TopicTracker()
    topics_by_label: dict[str, set[str]] = defaultdict(set)
    for entry in stream():
        topics_by_label[entry.item_id[0]].add(tracker.add(entry).topic_id or "")
    assert len(topics_by_label["h"]) == 1
    assert len(topics_by_label["e"]) == 1
    assert topics_by_label["h"].isdisjoint(topics_by_label["e"])
    assert topics_by_label["a"].isdisjoint(topics_by_label["h"] | topics_by_label["e"])
    [hebdo_id] = topics_by_label["h"]
    topic = tracker.topics[hebdo_id]
    assert {"charlie", "hebdo", "paris"} <= set(topic.keywords(6))
    assert topic.volume == 4 and topic.representative_ids()[0].startswith("h")


def test_clustering_is_deterministic() -> None:
    first, second = TopicTracker(), TopicTracker()
    assert [first.add(e) for e in stream()] == [second.add(e) for e in stream()]


def test_near_copies_add_reach_but_not_volume() -> None:
    tracker = TopicTracker()
    tracker.add(item("1", HEBDO[0], 0, reach=1000, sentiment="negative"))
    assignment = tracker.add(item("2", HEBDO[0], 1, reach=500, representative_id="1"))
    topic = tracker.topics[assignment.topic_id or ""]
    assert assignment.is_copy
    assert (topic.volume, topic.copies, topic.reach) == (1, 2, 1500)
    assert topic.sentiment == {"negative": 1}
    assert topic.window(int((T0 + 60) // 300), 3) == (1, 2, 1500)


def test_add_is_idempotent_on_the_item_id() -> None:
    tracker = TopicTracker()
    for entry in stream():
        tracker.add(entry)
    before = json.dumps(tracker.to_dict(), sort_keys=True)
    for entry in stream():
        assert not tracker.add(entry).counted
    assert json.dumps(tracker.to_dict(), sort_keys=True) == before


def test_a_restored_tracker_continues_exactly_like_an_uninterrupted_one() -> None:
    items = stream()
    uninterrupted = TopicTracker()
    expected = [uninterrupted.add(entry) for entry in items]
    first = TopicTracker()
    got = [first.add(entry) for entry in items[:6]]
    restored = TopicTracker.from_dict(json.loads(json.dumps(first.to_dict())))
    got += [restored.add(entry) for entry in items[4:6]]  # replayed: not counted again
    got += [restored.add(entry) for entry in items[6:]]
    assert [g for g in got if g.counted] == expected
    assert restored.to_dict() == uninterrupted.to_dict()


def test_silent_topics_expire_and_stale_items_are_refused() -> None:
    config = TopicConfig(singleton_ttl_seconds=3600, topic_ttl_seconds=7200)
    tracker = TopicTracker(config)
    tracker.add(item("old", AIRLINE[0], 0))
    for n, text in enumerate(HEBDO):
        tracker.add(item(f"h{n}", text, 10 + n))
    tracker.add(item("late", AIRLINE[1], 100))  # 100 minutes on: the singleton has expired
    assert tracker.topic_of("old") is None and tracker.topic_of("h0") is not None
    assert tracker.expired_ids == ["t1"]
    assert not tracker.add(item("old", AIRLINE[0], 0)).counted  # replayed after expiry
    tracker.add(item("later", AIRLINE[2], 300))
    assert tracker.topic_of("h0") is None
    assert tracker.add(item("ancient", HEBDO[0], 100)).topic_id is None


def test_sibling_topics_can_be_found_for_alert_grouping() -> None:
    tracker = TopicTracker(TopicConfig(similarity=0.9))  # force one topic per post
    ids = [tracker.add(item(f"h{n}", text, n)).topic_id or "" for n, text in enumerate(HEBDO)]
    other = tracker.add(item("a", AIRLINE[0], 5)).topic_id or ""
    assert tracker.closest(ids[0], [*ids[1:], other], threshold=0.1) in ids[1:]
    assert tracker.closest(other, ids, threshold=0.1) is None


def _chinese_tracker() -> tuple[TopicTracker, dict[str, list[str]]]:
    reviews = json.loads((FIXTURES / "zh_reviews.json").read_text(encoding="utf-8"))
    tracker = TopicTracker()
    for n, text in enumerate(reviews["background"]):  # learn the IDF on ordinary posts first
        tracker.add(item(f"b{n}", text, n / 10))
    return tracker, reviews


def test_chinese_posts_about_one_event_form_one_main_topic() -> None:
    tracker, _ = _chinese_tracker()
    events = json.loads((FIXTURES / "zh_events.json").read_text(encoding="utf-8"))
    labelled = [(label, text) for label, texts in events.items() for text in texts]
    labelled.sort(key=lambda pair: pair[1])  # interleave the two events
    topics: dict[str, Counter[str]] = defaultdict(Counter)
    for n, (label, text) in enumerate(labelled):
        topics[label][tracker.add(item(f"z{n}", text, 60 + n)).topic_id or ""] += 1
    for label, counts in topics.items():
        _, biggest = counts.most_common(1)[0]
        assert biggest >= len(events[label]) - 2, (label, counts)
    assert set(topics["breach"]).isdisjoint(topics["recall"])


def test_chinese_reviews_of_different_domains_never_share_a_topic() -> None:
    tracker, reviews = _chinese_tracker()
    labels: dict[str, set[str]] = defaultdict(set)
    mixed = sorted(
        [("hotel", t) for t in reviews["hotel_breakfast"]]
        + [("delivery", t) for t in reviews["delivery_late"]],
        key=lambda pair: pair[1],
    )
    for n, (label, text) in enumerate(mixed):
        labels[label].add(tracker.add(item(f"r{n}", text, 60 + n)).topic_id or "")
    assert labels["hotel"].isdisjoint(labels["delivery"])
