"""The pure detection chain on a Chinese stream: dedup → topics → bursts → graded alerts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from clamor.analysis.dedup import NearDuplicateIndex, duplicate_key
from clamor.detection.alerts import AlertBook, AlertLevel, AlertSignals, escalation_terms, grade
from clamor.detection.bursts import BurstDetector
from clamor.detection.items import DetectionItem
from clamor.detection.topics import TopicTracker

FIXTURES = Path(__file__).parent / "fixtures"
T0 = 1_700_006_400.0


def run_chain(items: list[DetectionItem]) -> list[tuple[str, AlertLevel, tuple[str, ...]]]:
    dedup, topics, bursts, book = NearDuplicateIndex(), TopicTracker(), BurstDetector(), AlertBook()
    raised = []
    for item in items:
        duplicate = dedup.add(item.item_id, duplicate_key(item.text), item.at, item.reach)
        item = replace(
            item,
            escalation=bool(escalation_terms(item.text)),
            representative_id=duplicate.representative_id if duplicate.is_copy else None,
        )
        assignment = topics.add(item)
        if assignment.topic_id is None or assignment.is_copy or not assignment.counted:
            continue
        key = f"topic:{assignment.topic_id}"
        [status] = bursts.add(item.item_id, item.at, [key], item.author)
        if not status.is_burst:
            continue
        topic = topics.topics[assignment.topic_id]
        signals = AlertSignals(
            key,
            status.count,
            status.expected,
            status.authors,
            topic.negative_share(),
            topic.reach,
            topic.escalation / topic.volume,
            topic.categories.get("data_privacy", 0) / topic.volume,
            specificity=topics.specificity(assignment.topic_id),
        )
        change = book.offer(key, item.at, grade(signals))
        if change is not None and change.kind == "raised":
            raised.append((assignment.topic_id, change.alert.level, tuple(topic.keywords(5))))
    return raised


def chinese_stream() -> list[DetectionItem]:
    reviews = json.loads((FIXTURES / "zh_reviews.json").read_text(encoding="utf-8"))
    events = json.loads((FIXTURES / "zh_events.json").read_text(encoding="utf-8"))
    background = reviews["background"] + reviews["hotel_breakfast"] + reviews["delivery_late"]
    items = [
        DetectionItem(f"bg{n}", text, T0 + n * 600.0, author=f"user{n}", lang="zh")
        for n, text in enumerate(background)  # one ordinary post every 10 minutes, 2.4 days
    ]
    start = T0 + 2 * 86400.0
    breach = events["breach"] + [events["breach"][0]]  # the last one is a copy
    for n, text in enumerate(breach):
        items.append(
            DetectionItem(
                f"breach{n}",
                text,
                start + n * 90.0,
                reach=5000,
                author=f"netizen{n}",
                lang="zh",
                sentiment="negative",
                category="data_privacy",
            )
        )
    return sorted(items, key=lambda item: item.at)


def test_a_chinese_data_leak_story_raises_one_graded_alert_and_background_none() -> None:
    raised = run_chain(chinese_stream())
    assert len(raised) == 1, raised
    _, level, keywords = raised[0]
    assert {"泄露", "银行"} & set(keywords)
    assert level >= AlertLevel.ORANGE  # negative, data privacy, escalation words (报警, 起诉)


def test_replaying_the_stream_twice_raises_nothing_more() -> None:
    stream = chinese_stream()
    assert run_chain(stream + stream) == run_chain(stream)
