"""Topics: online clustering of items into events (single pass, one item at a time).

Each item becomes a sparse TF-IDF vector — Chinese as character bigrams, other languages as
words (hashtags also split at case changes) — with an IDF learned online from the items seen so
far. It joins the most similar live topic when the cosine similarity reaches the threshold, or
opens a new topic. A topic's centroid is the sum of its items' vectors, decayed with a half-life
so that an event that drifts (new facts, new words) follows its latest posts; only its heaviest
terms are kept, which bounds memory and makes the keywords. Topics that stop receiving items
expire: a one-item topic soon, a real topic after a longer quiet spell.

Near-copies (`item.representative_id`) add to the copies and reach of their original's topic
but not to its volume or centroid: a story copied 10,000 times counts once, its reach adds up.

`add` is idempotent on the item id; items older than the longest TTL before the tracker's clock
are refused as stale (their topic may be gone, so they could otherwise be counted twice).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from clamor.analysis.dedup import strip_noise
from clamor.detection.items import DetectionItem

_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD_RE = re.compile(r"#?[^\W\d_][\w'’]*", re.UNICODE)
_WEIBO_TAG_RE = re.compile(r"#([^#\s]{1,40})#")
_TWITTER_TAG_RE = re.compile(r"(?<![#\w])#([^\W\d_][\w]{1,40})(?![#\w])")
HASHTAG_WEIGHT = 2
_CAMEL_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_STOPWORD_TEXT = """a an the and or but if of at by for with about against between into
    through during
    before after above below to from up down in out on off over under again further then once
    here there when where why how all any both each few more most other some such no nor not
    only own same so than too very can will just don should now is are was were be been being
    have has had having do does did doing i me my myself we our ours you your yours he him his
    she her hers it its they them their what which who whom this that these those am im i'm
    it's dont can't cant rt via amp get got would could u ur"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def text_features(text: str) -> Counter[str]:
    """Term counts: CJK character bigrams, lower-cased words without stopwords, hashtags.

    A hashtag (`#Ferguson`, Weibo's `#话题#`) is the author's own label for the event, so it is
    also kept whole as a feature of weight `HASHTAG_WEIGHT`.
    """
    content = strip_noise(text)
    terms: Counter[str] = Counter()
    for tag in _WEIBO_TAG_RE.findall(content) + _TWITTER_TAG_RE.findall(content):
        terms["#" + tag.casefold()] += HASHTAG_WEIGHT
    for run in _CJK_RUN_RE.findall(content):
        if len(run) == 1:
            terms[run] += 1
        for index in range(len(run) - 1):
            terms[run[index : index + 2]] += 1
    for match in _WORD_RE.findall(_CJK_RUN_RE.sub(" ", content)):
        word = match.lstrip("#").rstrip("'’")
        folded = word.casefold()
        if len(folded) > 1 and folded not in STOPWORDS:
            terms[folded] += 1
        if match.startswith("#"):
            for part in _CAMEL_RE.findall(word):
                if len(part) > 2 and part.casefold() != folded:
                    terms[part.casefold()] += 1
    return terms


@dataclass(frozen=True, slots=True)
class TopicConfig:
    similarity: float = 0.3  # cosine needed to join a topic (words)
    # Character bigrams of Chinese carry cross-word noise ("行A", "的身"), which lowers the cosine
    # of two posts on one event: measured 0.23–0.42 for Chinese against 0.3–0.6 for English.
    similarity_cjk: float = 0.2
    half_life_seconds: float = 6 * 3600  # centroid memory
    bucket_seconds: int = 300  # time buckets for volume and reach
    singleton_ttl_seconds: float = 6 * 3600  # a topic with < 3 items expires after this silence
    topic_ttl_seconds: float = 48 * 3600  # a larger topic expires after this silence
    centroid_terms: int = 40  # heaviest terms kept per centroid
    keywords: int = 8
    representatives: int = 5
    candidate_posting_limit: int = 150  # terms in more topics than this do not propose candidates
    max_candidates: int = 8  # scored exactly, after the partial scores from rarer terms


@dataclass(slots=True)
class Topic:
    topic_id: str
    first_seen: float
    last_seen: float
    centroid: dict[str, float] = field(default_factory=dict)
    centroid_norm: float = 0.0
    centroid_at: float = 0.0
    volume: int = 0  # distinct stories (near-copies excluded)
    copies: int = 0  # items including near-copies
    reach: int = 0
    buckets: dict[int, list[int]] = field(default_factory=dict)  # bucket → [volume, copies, reach]
    sentiment: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    authors: dict[str, int] = field(default_factory=dict)
    escalation: int = 0
    severity_sum: float = 0.0
    severity_count: int = 0
    first_item_id: str = ""
    top_items: list[list[Any]] = field(default_factory=list)  # [reach, item_id], best first

    def keywords(self, count: int = 8) -> list[str]:
        ranked = sorted(self.centroid.items(), key=lambda pair: (-pair[1], pair[0]))
        return [term for term, _ in ranked[:count]]

    def representative_ids(self) -> list[str]:
        ids = [self.first_item_id] + [item_id for _, item_id in self.top_items]
        return list(dict.fromkeys(ids))

    def negative_share(self) -> float | None:
        total = sum(self.sentiment.values())
        return self.sentiment.get("negative", 0) / total if total else None

    def window(self, end_bucket: int, buckets: int) -> tuple[int, int, int]:
        """(volume, copies, reach) over the `buckets` buckets ending with `end_bucket`."""
        volume = copies = reach = 0
        for bucket in range(end_bucket - buckets + 1, end_bucket + 1):
            values = self.buckets.get(bucket)
            if values:
                volume, copies, reach = volume + values[0], copies + values[1], reach + values[2]
        return volume, copies, reach

    def to_dict(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        state["buckets"] = {str(bucket): values for bucket, values in self.buckets.items()}
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Topic:
        values = dict(state)
        values["buckets"] = {int(bucket): list(v) for bucket, v in state["buckets"].items()}
        return cls(**values)


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    item_id: str
    topic_id: str | None  # None when the item was refused as stale
    is_new_topic: bool
    similarity: float
    is_copy: bool
    counted: bool  # False for a replayed or stale item: nothing changed


class TopicTracker:
    """Single-pass clustering with an online IDF; `to_dict`/`from_dict` persist the whole state."""

    def __init__(self, config: TopicConfig | None = None) -> None:
        self.config = config or TopicConfig()
        self.topics: dict[str, Topic] = {}
        self.document_frequency: dict[str, int] = {}
        self.documents = 0
        self.clock = 0.0
        self._next_topic = 1
        self._assignments: dict[str, str] = {}
        self._stale_assignments = 0  # assignments whose topic has expired
        self._expired_at: dict[str, float] = {}
        self._next_forget = 0.0
        self._postings: dict[str, dict[str, float]] = {}
        self._next_expiry = 0.0
        self._deadlines: list[tuple[float, int, str]] = []  # see `_due_topics`
        self._members: dict[str, list[str]] = {}  # topic id → its assigned item ids
        self._opened = 0  # topics scheduled so far: their opening order
        self.expired_ids: list[str] = []  # topics expired since the caller last cleared this

    # -- public ---------------------------------------------------------------------------------

    def add(self, item: DetectionItem) -> TopicAssignment:
        known = self._assignments.get(item.item_id)
        if known is not None:
            return TopicAssignment(item.item_id, known, False, 0.0, False, counted=False)
        if item.at < self.clock - self.config.topic_ttl_seconds:
            return TopicAssignment(item.item_id, None, False, 0.0, False, counted=False)
        self.clock = max(self.clock, item.at)
        if item.at >= self._next_expiry:
            self.expire(item.at)
            self._next_expiry = item.at + self.config.bucket_seconds
        copy_of = self._copy_target(item)
        if copy_of is not None:
            self._record(copy_of, item, is_copy=True)
            self._assign(item.item_id, copy_of.topic_id)
            return TopicAssignment(item.item_id, copy_of.topic_id, False, 1.0, True, True)
        features = item.features.terms if item.features is not None else None
        if features is None:
            features = tuple(text_features(item.text).items())
        vector = self._vectorize(features)
        topic, similarity = self._best_topic(vector, self._threshold(features))
        is_new = topic is None
        if topic is None:
            topic = self._open_topic(item)
        self._absorb(topic, vector, item.at)
        self._record(topic, item, is_copy=False)
        self._assign(item.item_id, topic.topic_id)
        return TopicAssignment(item.item_id, topic.topic_id, is_new, similarity, False, True)

    def topic_of(self, item_id: str) -> Topic | None:
        topic_id = self._assignments.get(item_id)
        return self.topics.get(topic_id) if topic_id else None

    def idf(self, term: str) -> float:
        return math.log((1 + self.documents) / (self.document_frequency.get(term, 0) + 1)) + 1.0

    def specificity(self, topic_id: str, terms: int = 5) -> float:
        """How specific a topic's keywords are: their mean IDF over the largest possible IDF.

        Events are about particular things (names, places, products): rare words. A topic held
        together by common words ("please", "thanks", "dm") is chatter, not an event.
        """
        topic = self.topics.get(topic_id)
        if topic is None or not topic.centroid or self.documents == 0:
            return 0.0
        keywords = topic.keywords(terms)
        top = math.log(1 + self.documents) + 1.0
        return sum(self.idf(term) for term in keywords) / (len(keywords) * top)

    def similarity(self, first_id: str, second_id: str) -> float:
        """Cosine similarity of two live topics' centroids (0 when either is gone)."""
        first, second = self.topics.get(first_id), self.topics.get(second_id)
        if not first or not second or not first.centroid_norm or not second.centroid_norm:
            return 0.0
        small, large = sorted((first.centroid, second.centroid), key=len)
        dot = sum(weight * large.get(term, 0.0) for term, weight in small.items())
        return dot / (first.centroid_norm * second.centroid_norm)

    def closest(self, topic_id: str, candidates: list[str], threshold: float) -> str | None:
        """The candidate topic most similar to `topic_id`, if at least `threshold` similar.

        An event often splits into a few topics (different angles, languages, phrasings); the
        alert layer uses this to update the alert of a sibling topic instead of raising another.
        """
        scored = [(self.similarity(topic_id, other), other) for other in sorted(candidates)]
        scored = [pair for pair in scored if pair[0] >= threshold and pair[1] != topic_id]
        return max(scored)[1] if scored else None

    def expire(self, now: float) -> list[Topic]:
        """Remove topics silent for longer than their TTL; returns them (e.g. to persist), in
        the order they were opened."""
        expired = self._due_topics(now)
        for topic in expired:
            self._unindex(topic)
            del self.topics[topic.topic_id]
            self.expired_ids.append(topic.topic_id)
            self._expired_at[topic.topic_id] = now
            self._stale_assignments += topic.copies
        self._forget_assignments(now)
        return expired

    def _due_topics(self, now: float) -> list[Topic]:
        """The topics with `now - last_seen > ttl`, without looking at every live topic.

        The heap holds one (deadline, opening order, id) entry per live topic, its deadline
        `last_seen + ttl` as it was when pushed. A topic's real deadline only moves later (its
        last item and its volume only grow), so a stored one is never late: an entry still
        ahead of `now` (by more than a second: float rounding) cannot be due. Entries that come
        up are checked with the exact test and, if the topic lives on, pushed again with its
        current deadline.
        """
        heap = self._deadlines
        due: list[tuple[int, Topic]] = []
        alive: list[tuple[float, int, str]] = []
        while heap and heap[0][0] <= now + 1.0:
            _, order, topic_id = heapq.heappop(heap)
            topic = self.topics.get(topic_id)
            if topic is None:
                continue
            if now - topic.last_seen > self._ttl(topic):
                due.append((order, topic))
            else:
                alive.append((topic.last_seen + self._ttl(topic), order, topic_id))
        for entry in alive:
            heapq.heappush(heap, entry)
        due.sort(key=lambda pair: pair[0])
        return [topic for _, topic in due]

    def _assign(self, item_id: str, topic_id: str) -> None:
        self._assignments[item_id] = topic_id
        self._members.setdefault(topic_id, []).append(item_id)

    def _schedule(self, topic: Topic) -> None:
        self._opened += 1
        heapq.heappush(
            self._deadlines, (topic.last_seen + self._ttl(topic), self._opened, topic.topic_id)
        )

    def _forget_assignments(self, now: float) -> None:
        """Drop the item ids of topics that expired longer than the stale horizon ago.

        Until then a replayed item of an expired topic is still recognised and not counted
        again; after it, the item is older than the horizon and refused as stale anyway. Batched,
        because rebuilding the map costs O(items).
        """
        if now < self._next_forget or self._stale_assignments * 2 <= len(self._assignments):
            return
        self._next_forget = now + 3600.0  # at most hourly: each attempt scans every assignment
        horizon = now - self.config.topic_ttl_seconds
        gone = {tid for tid, at in self._expired_at.items() if at < horizon}
        if not gone:
            return
        # Deleted in place (the order of what stays is kept): only the gone topics' items
        # are visited, not every assignment.
        for topic_id in gone:
            for item_id in self._members.pop(topic_id, ()):
                del self._assignments[item_id]
            del self._expired_at[topic_id]
        self._stale_assignments = len(self._assignments) - sum(
            topic.copies for topic in self.topics.values()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "topics": [topic.to_dict() for topic in self.topics.values()],
            "document_frequency": dict(self.document_frequency),
            "documents": self.documents,
            "clock": self.clock,
            "next_topic": self._next_topic,
            "assignments": dict(self._assignments),
            "next_expiry": self._next_expiry,
            "stale_assignments": self._stale_assignments,
            "expired_at": dict(self._expired_at),
            "next_forget": self._next_forget,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any], config: TopicConfig | None = None) -> TopicTracker:
        tracker = cls(config)
        for raw in state["topics"]:
            topic = Topic.from_dict(raw)
            tracker.topics[topic.topic_id] = topic
            tracker._index(topic)
            tracker._schedule(topic)
        tracker.document_frequency = dict(state["document_frequency"])
        tracker.documents = state["documents"]
        tracker.clock = state["clock"]
        tracker._next_topic = state["next_topic"]
        tracker._assignments = dict(state["assignments"])
        for item_id, topic_id in tracker._assignments.items():
            tracker._members.setdefault(topic_id, []).append(item_id)
        tracker._next_expiry = state["next_expiry"]
        # Keys added after the first release default, so that older saved states still load.
        tracker._stale_assignments = state.get("stale_assignments", 0)
        tracker._expired_at = dict(state.get("expired_at", {}))
        tracker._next_forget = state.get("next_forget", 0.0)
        return tracker

    # -- vectors ----------------------------------------------------------------------------------

    def _vectorize(self, counts: tuple[tuple[str, int], ...]) -> dict[str, float]:
        """Unit-length TF-IDF with the IDF as learned so far; then the IDF learns this item."""
        documents = self.documents + 1
        vector = {}
        frequencies = self.document_frequency
        for term, count in counts:
            frequency = frequencies.get(term, 0) + 1
            vector[term] = (1.0 + math.log(count)) * (math.log((1 + documents) / frequency) + 1.0)
        for term, _ in counts:
            frequencies[term] = frequencies.get(term, 0) + 1
        self.documents = documents
        norm = math.sqrt(sum(weight * weight for weight in vector.values()))
        return {term: weight / norm for term, weight in vector.items()} if norm else {}

    def _threshold(self, features: tuple[tuple[str, int], ...]) -> float:
        cjk = sum(1 for term, _ in features if _CJK_RUN_RE.match(term))
        return self.config.similarity_cjk if cjk * 2 > len(features) else self.config.similarity

    def _best_topic(self, vector: dict[str, float], threshold: float) -> tuple[Topic | None, float]:
        """The most similar live topic: rarer terms propose candidates, all terms score them."""
        partial: dict[str, float] = {}
        get = partial.get
        limit = self.config.candidate_posting_limit
        topics = self.topics
        postings = self._postings
        for term, weight in vector.items():
            posting = postings.get(term)
            if posting and len(posting) <= limit:
                for topic_id, normalized in posting.items():
                    partial[topic_id] = get(topic_id, 0.0) + weight * normalized
        # Each partial sum is accumulated in the item's term order, so it does not depend on the
        # order of the posting sets (hash seed); ties are broken by topic id.
        count = self.config.max_candidates
        if len(partial) > count:
            # The `count` largest (score, id) pairs all score at least the count-th largest
            # score: find it with a sort in C, then rank only the pairs that reach it.
            floor = sorted(partial.values())[-count]
            ranked = heapq.nlargest(
                count, [(score, tid) for tid, score in partial.items() if score >= floor]
            )
        else:
            ranked = [(score, tid) for tid, score in partial.items()]
        terms = list(vector.items())
        best: tuple[float, str] | None = None
        for _, topic_id in ranked:
            topic = topics[topic_id]
            centroid = topic.centroid
            # Terms missing from the centroid add 0.0, which leaves a float sum unchanged: only
            # the shared ones are multiplied (in the item's term order, as before).
            dot = sum([weight * centroid[term] for term, weight in terms if term in centroid])
            similarity = round(dot / topic.centroid_norm, 9)
            if best is None or (similarity, topic_id) > best:
                best = (similarity, topic_id)
        if best is None or best[0] < threshold:
            return None, best[0] if best else 0.0
        return topics[best[1]], best[0]

    def _absorb(self, topic: Topic, vector: dict[str, float], at: float) -> None:
        decay = 0.5 ** (max(0.0, at - topic.centroid_at) / self.config.half_life_seconds)
        merged = {term: weight * decay for term, weight in topic.centroid.items()}
        for term, weight in vector.items():
            merged[term] = merged.get(term, 0.0) + weight
        # The heaviest terms, heaviest first, ties by term: (weight, term) pairs sorted in C
        # (terms are unique, so the order is total and equals a sort on that key).
        ranked = sorted(zip(merged.values(), merged.keys(), strict=True), reverse=True)
        del ranked[self.config.centroid_terms :]
        old_terms = topic.centroid
        topic.centroid = {term: weight for weight, term in ranked}
        topic.centroid_norm = math.sqrt(sum(weight * weight for weight, _ in ranked))
        topic.centroid_at = max(topic.centroid_at, at)
        self._reindex(topic, old_terms)

    def _index(self, topic: Topic) -> None:
        # Postings hold each topic's unit-length centroid weight: candidates get exact partial
        # cosines without touching the topics.
        norm = topic.centroid_norm or 1.0
        for term, weight in topic.centroid.items():
            self._postings.setdefault(term, {})[topic.topic_id] = weight / norm

    def _reindex(self, topic: Topic, old_terms: dict[str, float]) -> None:
        """`_unindex` of the old centroid and `_index` of the new one, touching only the terms
        that left (the others are overwritten; a posting's order does not matter)."""
        postings = self._postings
        topic_id = topic.topic_id
        centroid = topic.centroid
        for term in old_terms:
            if term not in centroid:
                posting = postings.get(term)
                if posting is not None:
                    posting.pop(topic_id, None)
                    if not posting:
                        del postings[term]
        norm = topic.centroid_norm or 1.0
        for term, weight in centroid.items():
            posting = postings.get(term)
            if posting is None:
                postings[term] = {topic_id: weight / norm}
            else:
                posting[topic_id] = weight / norm

    def _unindex(self, topic: Topic) -> None:
        for term in topic.centroid:
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(topic.topic_id, None)
                if not posting:
                    del self._postings[term]

    # -- bookkeeping ----------------------------------------------------------------------------

    def _copy_target(self, item: DetectionItem) -> Topic | None:
        if not item.representative_id or item.representative_id == item.item_id:
            return None
        return self.topic_of(item.representative_id)

    def _open_topic(self, item: DetectionItem) -> Topic:
        topic_id = f"t{self._next_topic}"
        self._next_topic += 1
        topic = Topic(topic_id, item.at, item.at, centroid_at=item.at, first_item_id=item.item_id)
        self.topics[topic_id] = topic
        self._schedule(topic)
        return topic

    def _record(self, topic: Topic, item: DetectionItem, *, is_copy: bool) -> None:
        bucket = int(item.at // self.config.bucket_seconds)
        values = topic.buckets.setdefault(bucket, [0, 0, 0])
        values[1] += 1
        values[2] += item.reach
        topic.copies += 1
        topic.reach += item.reach
        topic.first_seen = min(topic.first_seen, item.at)
        topic.last_seen = max(topic.last_seen, item.at)
        if is_copy:
            return
        values[0] += 1
        topic.volume += 1
        _count(topic.sentiment, item.sentiment)
        _count(topic.categories, item.category)
        _count(topic.authors, item.author)
        topic.escalation += int(item.escalation)
        if item.severity is not None:
            topic.severity_sum += item.severity
            topic.severity_count += 1
        topic.top_items.append([item.reach, item.item_id])
        topic.top_items.sort(key=lambda pair: (-pair[0], pair[1]))
        del topic.top_items[self.config.representatives :]

    def _ttl(self, topic: Topic) -> float:
        if topic.volume < 3:
            return self.config.singleton_ttl_seconds
        return self.config.topic_ttl_seconds


def _count(counts: dict[str, int], label: str | None) -> None:
    if label:
        counts[label] = counts.get(label, 0) + 1
