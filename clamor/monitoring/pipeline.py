"""The pipeline's stages over stored items: intake → analyse → detect.

Every stage is idempotent, because the queue delivers at least once:

- `ingest` stores items (idempotent on source and external id) and, in the same transaction,
  enqueues an `analyse` job for the new ones.
- `analyse` skips items already analysed, runs the analysis engine on the batch outside any
  transaction, then records the results and enqueues `detect` in one transaction.
- `detect` locks the detector's state row, skips items that already have a `monitoring_posts`
  row, and writes posts, watch-query matches, topics, alerts and the detector's new state in one
  transaction: a worker killed before the commit leaves nothing behind, one killed after it
  leaves a job whose items are all marked done.

`sweep` finds what a lost queue (e.g. Redis restarted without persistence) would otherwise
forget: items stored but never analysed, analysed but never detected.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clamor.analysis.pipeline import analyze_many
from clamor.analysis.watch import WatchSet
from clamor.core import clock
from clamor.detection.alerts import AlertLevel
from clamor.detection.items import DetectionItem
from clamor.intake.models import Item
from clamor.intake.service import ItemIn, Stored, record_analysis, store_items
from clamor.monitoring.detector import AlertEvent, Detector
from clamor.monitoring.models import (
    AlertRecord,
    DetectorState,
    Post,
    PostMatch,
    TopicRecord,
    WatchQuery,
)
from clamor.queue.base import Queue
from clamor.storage.database import Database

ANALYSE = "analyse"
DETECT = "detect"
BATCH_SIZE = 250  # items per job
BUCKET_SECONDS = 300


def _chunks(ids: Sequence[int], size: int = BATCH_SIZE) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


# -- intake ------------------------------------------------------------------------------------


def ingest(session: Session, queue: Queue, batch: Sequence[ItemIn]) -> list[Stored]:
    """Store items and enqueue the new ones for analysis, in the caller's transaction."""
    stored = store_items(session, batch)
    created = [result.item.id for result in stored if result.created]
    for chunk in _chunks(created):
        queue.enqueue(ANALYSE, {"item_ids": chunk}, session=session)
    return stored


# -- analyse -----------------------------------------------------------------------------------


def analyse(db: Database, queue: Queue, item_ids: Sequence[int]) -> int:
    """Analyse the items not analysed yet; returns how many were."""
    with db.read() as session:
        rows = session.execute(
            select(Item.id, Item.text, Item.title, Item.meta)
            .where(Item.id.in_(item_ids), Item.analysed_at.is_(None))
            .order_by(Item.id)
        ).all()
    if not rows:
        with db.write() as session:  # a redelivered job: make sure detection was asked for
            queue.enqueue(DETECT, {"item_ids": list(item_ids)}, session=session)
        return 0
    texts = [_full_text(title, text) for _, text, title, _ in rows]
    results = analyze_many(texts, [meta for _, _, _, meta in rows])
    by_id = {row[0]: result.to_dict() for row, result in zip(rows, results, strict=True)}
    with db.write() as session:
        items = session.scalars(
            select(Item).where(Item.id.in_(list(by_id)), Item.analysed_at.is_(None))
        ).all()
        for item in items:
            record_analysis(session, item, by_id[item.id])
        queue.enqueue(DETECT, {"item_ids": list(item_ids)}, session=session)
    return len(items)


def _full_text(title: str | None, text: str) -> str:
    return f"{title}\n{text}" if title and title not in text else text


# -- detect ------------------------------------------------------------------------------------


SNAPSHOT_ITEMS = 5000  # a snapshot after this many posts …
SNAPSHOT_SECONDS = 300.0  # … or this much time, whichever comes first


class DetectorStore:
    """The detector's state, kept in memory and made durable as a journal plus snapshots.

    Every batch appends its posts (with consecutive `seq` numbers) and moves `journal_seq` in
    the same transaction; the full state is written only now and then. A process whose memory
    is behind (another worker detected since, or it just started) replays the posts after its
    own position — the detector is deterministic, so the replay rebuilds the same state.
    """

    def __init__(self) -> None:
        self._detector: Detector | None = None
        self._seq: int | None = None
        self._lock = threading.Lock()

    def load(self, session: Session) -> tuple[Detector, DetectorState]:
        query = select(DetectorState).where(DetectorState.id == 1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        DetectorState(
                            id=1, journal_seq=0, snapshot_seq=0, state="", snapshot_at=clock.now()
                        )
                    )
            except IntegrityError:
                pass  # another worker created it just now
            row = session.scalar(query)
            assert row is not None
        if self._detector is None or self._seq is None or self._seq > row.journal_seq:
            self._detector = Detector.from_dict(json.loads(row.state)) if row.state else Detector()
            self._seq = row.snapshot_seq
        if self._seq < row.journal_seq:
            replay_journal(session, self._detector, self._seq, row.journal_seq)
            self._seq = row.journal_seq
        return self._detector, row

    def advance(self, row: DetectorState, detector: Detector, last_seq: int) -> None:
        """Record the batch's journal position; snapshot when due (same transaction)."""
        row.journal_seq = last_seq
        now = clock.now()
        due = (now - row.snapshot_at).total_seconds() >= SNAPSHOT_SECONDS
        if last_seq - row.snapshot_seq >= SNAPSHOT_ITEMS or due:
            row.state = json.dumps(detector.to_dict(), separators=(",", ":"), ensure_ascii=False)
            row.snapshot_seq = last_seq
            row.snapshot_at = now

    def committed(self, last_seq: int) -> None:
        self._seq = last_seq

    def invalidate(self) -> None:
        self._detector = None
        self._seq = None


def replay_journal(session: Session, detector: Detector, after: int, upto: int) -> None:
    """Feed the posts with after < seq ≤ upto to the detector again, in order."""
    position = after
    while position < upto:
        rows = session.execute(
            select(Post.seq, Item)
            .join(Item, Item.id == Post.item_id)
            .where(Post.seq > position, Post.seq <= upto)
            .order_by(Post.seq)
            .limit(1000)
        ).all()
        if not rows:
            break
        ids = [item.id for _, item in rows]
        matches: dict[int, list[str]] = {}
        for item_id, query_id in session.execute(
            select(PostMatch.item_id, PostMatch.watch_query_id).where(PostMatch.item_id.in_(ids))
        ):
            matches.setdefault(item_id, []).append(str(query_id))
        for seq, item in rows:
            detector.process(detection_item(item), tuple(sorted(matches.get(item.id, []))))
            position = seq
    detector.drain_touched_topics()  # already recorded by whoever detected them first


class WatchCache:
    """The compiled watch queries, recompiled when a query changes."""

    def __init__(self) -> None:
        self._signature: tuple[Any, ...] | None = None
        self._watch = WatchSet.compile({})

    def get(self, session: Session) -> WatchSet:
        signature = tuple(
            session.execute(
                select(func.count(WatchQuery.id), func.max(WatchQuery.updated_at)).where(
                    WatchQuery.enabled.is_(True)
                )
            ).one()
        )
        if signature != self._signature:
            queries = session.execute(
                select(WatchQuery.id, WatchQuery.query).where(WatchQuery.enabled.is_(True))
            ).all()
            self._watch = WatchSet.compile({str(qid): text for qid, text in queries})
            self._signature = signature
        return self._watch


@dataclass
class DetectContext:
    store: DetectorStore
    watch: WatchCache


def item_time(item: Item) -> datetime:
    return item.published_at or item.received_at


def detection_item(item: Item) -> DetectionItem:
    analysis = item.analysis or {}
    meta = item.meta or {}
    reach = _count(meta.get("followers")) + _count(meta.get("reposts"))
    severity = (analysis.get("severity") or {}).get("score")
    return DetectionItem(
        item_id=str(item.id),
        text=_full_text(item.title, item.text),
        at=item_time(item).timestamp(),
        reach=reach,
        author=item.author,
        source=item.source,
        lang=analysis.get("language"),
        sentiment=(analysis.get("sentiment") or {}).get("label"),
        category=(analysis.get("category") or {}).get("label"),
        severity=severity / 100 if isinstance(severity, int | float) else None,
    )


def _count(value: object) -> int:
    try:
        return max(0, int(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def detect(db: Database, context: DetectContext, item_ids: Sequence[int]) -> int:
    """Run detection on the items not detected yet, in one transaction."""
    with context.store._lock:
        try:
            with db.write() as session, session.no_autoflush:
                detector, row = context.store.load(session)
                count = _detect(session, context, detector, row, item_ids)
                last_seq = row.journal_seq
            context.store.committed(last_seq)
        except BaseException:
            context.store.invalidate()  # the in-memory state may have run ahead of the database
            raise
    return count


def _detect(
    session: Session,
    context: DetectContext,
    detector: Detector,
    row: DetectorState,
    item_ids: Sequence[int],
) -> int:
    items = session.scalars(
        select(Item)
        .where(
            Item.id.in_(item_ids),
            Item.analysed_at.is_not(None),
            ~exists().where(Post.item_id == Item.id),
        )
        .order_by(func.coalesce(Item.published_at, Item.received_at), Item.id)
    ).all()
    if not items:
        return 0
    watch = context.watch.get(session)
    now = clock.now()
    seq = row.journal_seq
    for item in items:
        seq += 1
        candidate = detection_item(item)
        fields = {
            "lang": candidate.lang,
            "source": item.source,
            "author": item.author,
            "category": candidate.category,
        }
        matched = watch.match(candidate.text, fields) if watch else []
        query_ids = tuple(sorted(m.query_id for m in matched))  # the journal replays this order
        outcome = detector.process(candidate, query_ids)
        bucket = int(candidate.at // BUCKET_SECONDS)
        session.add(
            Post(
                item_id=item.id,
                at=item_time(item),
                bucket=bucket,
                source=item.source,
                author=item.author,
                reach=candidate.reach,
                sentiment=candidate.sentiment,
                category=candidate.category,
                severity=candidate.severity,
                topic_id=outcome.topic_id,
                is_copy=outcome.is_copy,
                representative_item_id=int(outcome.representative_id)
                if outcome.representative_id
                else None,
                detected_at=now,
                seq=seq,
            )
        )
        for query_id in query_ids:
            session.add(PostMatch(item_id=item.id, watch_query_id=int(query_id), bucket=bucket))
        for event in outcome.alerts:
            _record_alert(session, event, now)
    touched = sorted(detector.drain_touched_topics())
    known = {
        record.id: record
        for start in range(0, len(touched), 500)
        for record in session.scalars(
            select(TopicRecord).where(TopicRecord.id.in_(touched[start : start + 500]))
        )
    }
    for topic_id in touched:
        _record_topic(session, detector, topic_id, known.get(topic_id), now)
    context.store.advance(row, detector, seq)
    return len(items)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _record_alert(session: Session, event: AlertEvent, now: datetime) -> None:
    alert = event.change.alert
    row = session.scalar(
        select(AlertRecord).where(
            AlertRecord.key == alert.key, AlertRecord.book_id == alert.alert_id
        )
    )
    reasons = [
        {"code": r.code, "value": r.value, "points": r.points, "text": r.text}
        for r in alert.reasons
    ]
    if row is None:
        session.add(
            AlertRecord(
                key=alert.key,
                book_id=alert.alert_id,
                topic_id=event.topic_id,
                watch_query_id=int(event.query_id) if event.query_id else None,
                level=int(alert.level),
                score=alert.score,
                reasons=reasons,
                keywords=list(event.keywords),
                opened_at=_at(alert.opened_at),
                updated_at=_at(alert.updated_at),
                raised_at=now,
                first_item_id=int(event.item_id),
                updates=alert.updates,
                status="open",
            )
        )
        session.flush()
        return
    if row.suppressed_until is not None and row.suppressed_until > now:
        return  # snoozed or marked false: the analyst does not want to hear about it now
    row.level = max(row.level, int(alert.level))
    row.score = alert.score
    row.reasons = reasons
    row.updated_at = _at(alert.updated_at)
    row.updates = alert.updates
    if event.keywords:
        row.keywords = list(event.keywords)
    if row.status == "snoozed":
        row.status = "open"


def _record_topic(
    session: Session,
    detector: Detector,
    topic_id: str,
    row: TopicRecord | None,
    now: datetime,
) -> None:
    topic = detector.topics.topics.get(topic_id)
    if topic is None:
        return
    values = {
        "keywords": topic.keywords(8),
        "first_seen": _at(topic.first_seen),
        "last_seen": _at(topic.last_seen),
        "volume": topic.volume,
        "copies": topic.copies,
        "reach": topic.reach,
        "sentiment": dict(topic.sentiment),
        "categories": dict(topic.categories),
        "timeline": {str(b): list(v) for b, v in topic.buckets.items()},
        "representative_item_ids": topic.representative_ids(),
        "updated_at": now,
    }
    if row is None:
        session.add(TopicRecord(id=topic_id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


LEVEL_NAMES = {level.value: level.colour for level in AlertLevel}


# -- recovery ----------------------------------------------------------------------------------


def sweep(db: Database, queue: Queue, older_than_seconds: float = 120.0) -> dict[str, int]:
    """Re-enqueue work a lost queue forgot; returns how many items per stage.

    A stage with jobs still waiting is left alone: its backlog, not a loss, explains the items
    (and enqueuing them again would only grow it); what was really lost is found once it drains.
    """
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    waiting = queue.stats().by_kind
    with db.read() as session:
        unanalysed = session.scalars(
            select(Item.id)
            .where(Item.analysed_at.is_(None), Item.received_at <= cutoff)
            .order_by(Item.id)
            .limit(50_000)
        ).all()
        undetected = session.scalars(
            select(Item.id)
            .where(
                Item.analysed_at.is_not(None),
                Item.analysed_at <= cutoff,
                ~exists().where(Post.item_id == Item.id),
            )
            .order_by(Item.id)
            .limit(50_000)
        ).all()
    if waiting.get(ANALYSE):
        unanalysed = []
    if waiting.get(ANALYSE) or waiting.get(DETECT):
        undetected = []
    for chunk in _chunks(unanalysed):
        queue.enqueue(ANALYSE, {"item_ids": chunk})
    for chunk in _chunks(undetected):
        queue.enqueue(DETECT, {"item_ids": chunk})
    return {ANALYSE: len(unanalysed), DETECT: len(undetected)}
