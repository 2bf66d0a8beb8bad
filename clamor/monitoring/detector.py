"""The detection stage as one value: near-duplicates → topics → bursts → graded alerts.

Pure and deterministic: `Detector.process` takes one item (with the watch queries it matched)
and returns what became of it; the whole state round-trips through `to_dict`/`from_dict`, so
the worker can persist it in the same transaction as the item's results and a restarted worker
continues exactly where the last commit left off. Every part is idempotent on the item id.

Burst keys per item: its topic (`topic:t3`), each watch query it matched (`query:2`) and its
risk category (`category:data_privacy`, not for `other`). Near-copies add reach to their topic
but are not counted again in any burst. A bursting key offers a graded alert to the alert book;
a bursting topic feeds the open alert of a similar sibling topic if there is one, and a bursting
watch query or category feeds the open alert of the item's topic if there is one — so that one
event raises one alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from clamor.analysis.dedup import NearDuplicateIndex
from clamor.detection.alerts import (
    AlertBook,
    AlertChange,
    AlertPolicy,
    AlertSignals,
    grade,
)
from clamor.detection.bursts import BurstConfig, BurstDetector, BurstStatus
from clamor.detection.features import compute_features
from clamor.detection.items import DetectionItem
from clamor.detection.topics import TopicConfig, TopicTracker

STATE_VERSION = 1
SIBLING_SIMILARITY = 0.2
# A topic this similar to one with an open alert raises its own alert (it may be a distinct
# risk) but names that one as related: sub-stories of one event measured 0.07–0.19 in the
# detection benchmark, different events at most 0.02.
RELATED_SIMILARITY = 0.05
DEDUP_MEMORY_SECONDS = 2 * 86400.0
# A watch query or category is busy or quiet only against its own history: none of its bursts
# count before the stream has run this long (a topic is new by nature and needs no warm-up).
WARMUP_SECONDS = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class AlertEvent:
    change: AlertChange
    topic_id: str | None
    query_id: str | None
    keywords: tuple[str, ...]
    item_id: str
    related_topic_id: str | None = None  # a new alert's closest sibling with an open alert


@dataclass(frozen=True, slots=True)
class Outcome:
    item_id: str
    topic_id: str | None
    is_copy: bool
    representative_id: str | None
    escalation: bool
    alerts: tuple[AlertEvent, ...]


class Detector:
    def __init__(
        self,
        topic_config: TopicConfig | None = None,
        burst_config: BurstConfig | None = None,
        policy: AlertPolicy | None = None,
    ) -> None:
        self.policy = policy or AlertPolicy()
        self.dedup = NearDuplicateIndex()
        self.topics = TopicTracker(topic_config)
        self.bursts = BurstDetector(burst_config)
        self.book = AlertBook()
        self.touched_topics: set[str] = set()
        self._dedup_expired_at = 0.0
        self.started_at: float | None = None  # stream time of the first item

    def process(self, item: DetectionItem, query_ids: tuple[str, ...] = ()) -> Outcome:
        if self.started_at is None or item.at < self.started_at:
            self.started_at = item.at
        features = item.features
        if features is None:  # computed ahead by the analysis stage, normally
            features = compute_features(item.text)
        duplicate = self.dedup.add(item.item_id, features.duplicate, item.at, item.reach)
        representative = duplicate.representative_id if duplicate.is_copy else None
        item = replace(
            item,
            escalation=features.escalation,
            representative_id=representative,
            features=features,
        )
        assignment = self.topics.add(item)
        topic_id = assignment.topic_id
        if assignment.counted and topic_id is not None:
            self.touched_topics.add(topic_id)
        keys: list[str] = []
        if assignment.counted and not duplicate.is_copy:
            if topic_id is not None:
                keys.append(f"topic:{topic_id}")
            keys += [f"query:{query_id}" for query_id in query_ids]
            if item.category and item.category != "other":
                keys.append(f"category:{item.category}")
        alerts = []
        if keys:
            for status in self.bursts.add(item.item_id, item.at, keys, item.author):
                if status.is_burst:
                    event = self._offer(status, item)
                    if event is not None:
                        alerts.append(event)
        self._housekeeping(item.at)
        return Outcome(
            item.item_id,
            topic_id,
            duplicate.is_copy,
            representative,
            item.escalation,
            tuple(alerts),
        )

    def _offer(self, status: BurstStatus, item: DetectionItem) -> AlertEvent | None:
        kind, _, name = status.key.partition(":")
        if kind == "topic":
            topic = self.topics.topics.get(name)
            if topic is None:
                return None
            bucket = int(item.at // self.bursts.config.bucket_seconds)
            _, _, reach = topic.window(bucket, self.bursts.config.window_buckets)
            volume = max(topic.volume, 1)
            signals = AlertSignals(
                key=status.key,
                count=status.count,
                expected=status.expected,
                authors=status.authors,
                negative_share=topic.negative_share(),
                reach=reach,
                escalation_share=topic.escalation / volume,
                privacy_share=topic.categories.get("data_privacy", 0) / volume,
                severity=topic.severity_sum / topic.severity_count
                if topic.severity_count
                else None,
                specificity=self.topics.specificity(name),
            )
            key = self._topic_alert_key(name, item.at)
            change = self.book.offer(key, item.at, grade(signals, self.policy))
            if change is None:
                return None
            owner = key.removeprefix("topic:")
            owner_topic = self.topics.topics.get(owner, topic)
            related = self._related_topic(owner, item.at) if change.kind == "raised" else None
            keywords = tuple(owner_topic.keywords(8))
            return AlertEvent(change, owner, None, keywords, item.item_id, related)
        assert self.started_at is not None
        if item.at - self.started_at < WARMUP_SECONDS:
            return None
        # Graded on volume only (which tops out at yellow): the audience signals describe an
        # event, and a watch query's or category's burst may mix several.
        signals = AlertSignals(
            key=status.key, count=status.count, expected=status.expected, authors=status.authors
        )
        topic = self.topics.topic_of(item.item_id)
        key = status.key
        owner: str | None = None
        if topic is not None:
            topic_key = self._topic_alert_key(topic.topic_id, item.at)
            if topic_key in {alert.key for alert in self.book.active(item.at)}:
                # The item's event already has an alert: this burst updates it (one event, one
                # alert), instead of raising a second one for its watch query or category.
                key, owner = topic_key, topic_key.removeprefix("topic:")
        change = self.book.offer(key, item.at, grade(signals, self.policy))
        if change is None:
            return None
        if owner is not None:
            owner_topic = self.topics.topics.get(owner, topic)
            keywords = tuple(owner_topic.keywords(8)) if owner_topic else ()
            return AlertEvent(change, owner, None, keywords, item.item_id)
        keywords = tuple(topic.keywords(8)) if topic else ()
        query_id = name if kind == "query" else None
        return AlertEvent(change, None, query_id, keywords, item.item_id)

    def _topic_alert_key(self, topic_id: str, now: float) -> str:
        """The alert a bursting topic feeds: its own, or the open one of a sibling topic."""
        key = f"topic:{topic_id}"
        if key in {alert.key for alert in self.book.active(now)}:
            return key
        sibling = self._closest_alerted(topic_id, now, SIBLING_SIMILARITY)
        return f"topic:{sibling}" if sibling else key

    def _related_topic(self, topic_id: str, now: float) -> str | None:
        """For a topic that just raised its own alert: the most similar other topic with an
        open alert, if related enough to show beside it (not enough to share its alert)."""
        return self._closest_alerted(topic_id, now, RELATED_SIMILARITY)

    def _closest_alerted(self, topic_id: str, now: float, threshold: float) -> str | None:
        """The live topic most similar to `topic_id` (at least `threshold`) among the other
        topics with an open alert."""
        candidates = [
            alert.key.removeprefix("topic:")
            for alert in self.book.active(now)
            if alert.key.startswith("topic:") and alert.key != f"topic:{topic_id}"
        ]
        candidates = [c for c in candidates if c in self.topics.topics]
        return self.topics.closest(topic_id, candidates, threshold)

    def _housekeeping(self, now: float) -> None:
        for expired_id in self.topics.expired_ids:
            self.bursts.forget(f"topic:{expired_id}")
        self.topics.expired_ids.clear()
        if now - self._dedup_expired_at > 3600:
            self.dedup.expire(now - DEDUP_MEMORY_SECONDS)
            self._dedup_expired_at = now

    def drain_touched_topics(self) -> set[str]:
        touched, self.touched_topics = self.touched_topics, set()
        return touched

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "dedup": self.dedup.to_dict(),
            "topics": self.topics.to_dict(),
            "bursts": self.bursts.to_dict(),
            "book": self.book.to_dict(),
            "dedup_expired_at": self._dedup_expired_at,
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Detector:
        detector = cls()
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"detector state version {state.get('version')} is not supported")
        detector.dedup = NearDuplicateIndex.from_dict(state["dedup"])
        detector.topics = TopicTracker.from_dict(state["topics"])
        detector.bursts = BurstDetector.from_dict(state["bursts"])
        detector.book = AlertBook.from_dict(state["book"])
        detector._dedup_expired_at = state["dedup_expired_at"]
        detector.started_at = state.get("started_at")
        return detector
