"""The pipeline's stages over stored items: intake → analyse → detect.

Every stage is idempotent, because the queue delivers at least once:

- `ingest` stores items (idempotent on source and external id) and, in the same transaction,
  enqueues an `analyse` job for the new ones.
- `analyse` (any worker, in parallel) skips items already analysed, runs the analysis engine
  and the text-only detection features on the batch outside any transaction, then records the
  results and puts the items in the detection inbox (`monitoring_detect_pending`) in one
  transaction.
- detection runs only in the worker holding the detector lease (`clamor.queue.lease`), which
  keeps the detector's state in memory: `detect_pending` takes the oldest inbox rows, fences the
  transaction with the lease, locks the detector's state row, skips items that already have a
  `monitoring_posts` row, and writes posts, watch-query matches, topics, alerts, the detector's
  journal position and the removal of the inbox rows in one transaction: a worker killed before
  the commit leaves nothing behind, one killed after it leaves nothing to redo.

`sweep` finds what a lost queue (e.g. Redis restarted without persistence) would otherwise
forget: items stored but never analysed (and analysed items missing from both the posts and the
inbox, which only an older version could leave).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, defer

from clamor.analysis.pipeline import analyze_many
from clamor.analysis.watch import WatchSet
from clamor.core import clock
from clamor.detection.alerts import AlertLevel
from clamor.detection.features import (
    ESCALATION_PREFIX,
    ESCALATION_QUERIES,
    DetectionFeatures,
    compute_features,
)
from clamor.detection.items import DetectionItem
from clamor.detection.topics import Topic
from clamor.intake.models import Item
from clamor.intake.service import ItemIn, StoredId, store_item_ids
from clamor.monitoring.detector import AlertEvent, Detector
from clamor.monitoring.models import (
    AlertRecord,
    DetectorState,
    DetectPending,
    Post,
    PostMatch,
    TopicRecord,
    WatchQuery,
)
from clamor.queue.base import ParkedJob, Queue
from clamor.queue.lease import Lease, LeaseLost
from clamor.storage.database import Database

ANALYSE = "analyse"
DETECT = "detect"
BATCH_SIZE = 250  # items per job
BUCKET_SECONDS = 300

log = logging.getLogger("clamor.worker")


def _chunks(ids: Sequence[int], size: int = BATCH_SIZE) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


# -- intake ------------------------------------------------------------------------------------


def ingest(session: Session, queue: Queue, batch: Sequence[ItemIn]) -> list[StoredId]:
    """Store items and enqueue the new ones for analysis, in the caller's transaction."""
    stored = store_item_ids(session, batch)
    created = [result.item_id for result in stored if result.created]
    for chunk in _chunks(created):
        queue.enqueue(ANALYSE, {"item_ids": chunk}, session=session)
    return stored


# -- analyse -----------------------------------------------------------------------------------


def analyse(
    db: Database, queue: Queue | None, item_ids: Sequence[int], watch: WatchCache | None = None
) -> int:
    """Analyse the items not analysed yet; returns how many were. (`queue` is not used: the
    analyses enter the detection inbox, a table; an analysis process has no queue to pass.)

    Runs on any worker, in parallel: the analysis engine, and the detection features that depend
    on the text alone (near-duplicate key, escalation words, topic terms, watch-query matches),
    so that the one worker holding the detector lease does as little per item as possible.
    The results and the items' places in the detection inbox are written in one transaction.
    """
    with db.read() as session:
        rows = session.execute(
            select(Item.id, Item.text, Item.title, Item.meta, Item.source, Item.author)
            .where(Item.id.in_(item_ids), Item.analysed_at.is_(None))
            .order_by(Item.id)
        ).all()
        # The watch queries compiled with the escalation words: one scan finds both. None when
        # there are no queries (nothing to match; the escalation words have a faster path).
        watch_set = watch.with_escalation(session) if watch is not None and rows else None
    if not rows:
        request_detection(db, item_ids)  # a redelivered job: make sure detection was asked for
        return 0
    texts = [_full_text(row.title, row.text) for row in rows]
    results = analyze_many(texts, [row.meta for row in rows])
    now = clock.now()
    values = []
    for row, text, result in zip(rows, texts, results, strict=True):
        analysis = result.to_dict()
        detection: dict[str, Any]
        if watch_set is not None:
            fields = {
                "lang": result.language,
                "source": row.source,
                "author": row.author,
                "category": result.category.label,
            }
            matched = [m.query_id for m in watch_set.match(text, fields)]
            queries = sorted(q for q in matched if not q.startswith(ESCALATION_PREFIX))
            detection = compute_features(text, len(queries) < len(matched)).to_dict()
            detection["queries"] = queries
        else:
            detection = compute_features(text).to_dict()
            if watch is not None:
                detection["queries"] = []  # the queries were consulted: there are none
        analysis["detection"] = detection
        values.append({"b_id": row.id, "b_analysis": analysis})
    with db.write() as session:
        fresh = set(
            session.scalars(
                select(Item.id).where(
                    Item.id.in_([v["b_id"] for v in values]), Item.analysed_at.is_(None)
                )
            )
        )
        values = [v for v in values if v["b_id"] in fresh]
        if values:
            table = Item.__table__
            session.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"), table.c.analysed_at.is_(None))
                .values(analysis=bindparam("b_analysis"), analysed_at=now),
                values,
            )
            _insert_pending(session, [v["b_id"] for v in values])
    return len(values)


def _full_text(title: str | None, text: str) -> str:
    return f"{title}\n{text}" if title and title not in text else text


def _insert_pending(session: Session, item_ids: Sequence[int]) -> None:
    if not item_ids:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(DetectPending).on_conflict_do_nothing(index_elements=["item_id"]),
        [{"item_id": item_id} for item_id in item_ids],
    )


def request_detection(db: Database, item_ids: Sequence[int]) -> int:
    """Put analysed, undetected items into the detection inbox (idempotent); returns how many
    were not there yet. For `detect` jobs (the sweep, jobs from an older version)."""
    with db.write() as session:
        ids = session.scalars(
            select(Item.id).where(
                Item.id.in_(list(item_ids)),
                Item.analysed_at.is_not(None),
                ~exists().where(Post.item_id == Item.id),
                ~exists().where(DetectPending.item_id == Item.id),
            )
        ).all()
        _insert_pending(session, ids)
    return len(ids)


# -- detect ------------------------------------------------------------------------------------


SNAPSHOT_ITEMS = 5000  # a snapshot after this many posts …
SNAPSHOT_SECONDS = 300.0  # … or this much time, whichever comes first
DETECT_BATCH = 1000  # items per detection transaction


class DetectorStore:
    """The detector's state, kept in memory and made durable as a journal plus snapshots.

    Every batch appends its posts (with consecutive `seq` numbers) and moves `journal_seq` in
    the same transaction; the full state is written only now and then. A process whose memory
    is behind (another worker detected since, or it just started) replays the posts after its
    own position — the detector is deterministic, so the replay rebuilds the same state. With
    the detector lease, that happens once per takeover, not once per batch.
    """

    def __init__(self) -> None:
        self._detector: Detector | None = None
        self._seq: int | None = None
        self._lock = threading.Lock()

    def load(self, session: Session) -> tuple[Detector, DetectorState]:
        """In a write transaction: the locked state row and the detector brought up to it."""
        row = self.lock(session)
        self._catch_up(session, row.journal_seq)
        assert self._detector is not None
        return self._detector, row

    def prepare(self, session: Session) -> tuple[Detector, int]:
        """Outside the write transaction: the detector brought up to the stored journal, and the
        journal position it is at."""
        journal_seq = session.scalar(select(DetectorState.journal_seq).where(DetectorState.id == 1))
        journal_seq = journal_seq or 0
        self._catch_up(session, journal_seq)
        assert self._detector is not None
        return self._detector, journal_seq

    def _catch_up(self, session: Session, journal_seq: int) -> None:
        """Restore the snapshot when this process's memory is ahead or has nothing (another
        worker detected since, or it just started), then replay the journal up to `journal_seq`."""
        if self._detector is None or self._seq is None or self._seq > journal_seq:
            stored = session.execute(
                select(DetectorState.state, DetectorState.snapshot_seq).where(DetectorState.id == 1)
            ).one_or_none()
            state, snapshot_seq = stored if stored is not None else ("", 0)
            self._detector = Detector.from_dict(json.loads(state)) if state else Detector()
            self._seq = snapshot_seq
        if self._seq < journal_seq:
            replay_journal(session, self._detector, self._seq, journal_seq)
            self._seq = journal_seq

    def lock(self, session: Session) -> DetectorState:
        """In the write transaction: the state row, locked (created on the first batch)."""
        query = (
            select(DetectorState)
            .where(DetectorState.id == 1)
            .options(defer(DetectorState.state))  # megabytes: read only when restoring
        )
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
        return row

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


# What detection reads of an item. Of its analysis (kilobytes of JSON: normalised text, reasons
# with their spans …) only the few values detection uses are extracted by the database — parsing
# the whole document per item was the largest cost of the detection transaction's reads.
ITEM_COLUMNS = (
    Item.id,
    Item.text,
    Item.title,
    Item.meta,
    Item.analysis["language"].label("a_language"),
    Item.analysis[("sentiment", "label")].label("a_sentiment"),
    Item.analysis[("category", "label")].label("a_category"),
    Item.analysis[("severity", "score")].label("a_severity"),
    Item.analysis["detection"].label("a_detection"),
    Item.published_at,
    Item.received_at,
    Item.source,
    Item.author,
)


def replay_journal(session: Session, detector: Detector, after: int, upto: int) -> None:
    """Feed the posts with after < seq ≤ upto to the detector again, in order."""
    position = after
    while position < upto:
        rows = session.execute(
            select(Post.seq, *ITEM_COLUMNS)
            .join(Item, Item.id == Post.item_id)
            .where(Post.seq > position, Post.seq <= upto)
            .order_by(Post.seq)
            .limit(1000)
        ).all()
        if not rows:
            break
        ids = [row.id for row in rows]
        matches: dict[int, list[str]] = {}
        for item_id, query_id in session.execute(
            select(PostMatch.item_id, PostMatch.watch_query_id).where(PostMatch.item_id.in_(ids))
        ):
            matches.setdefault(item_id, []).append(str(query_id))
        for row in rows:
            detector.process(detection_item(row), tuple(sorted(matches.get(row.id, []))))
            position = row.seq
    detector.drain_touched_topics()  # already recorded by whoever detected them first


class WatchCache:
    """The compiled watch queries, recompiled when a query changes."""

    def __init__(self) -> None:
        self._signature: tuple[Any, ...] | None = None
        self._watch = WatchSet.compile({})
        self._queries: dict[str, str] = {}
        self._with_escalation: WatchSet | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> WatchSet:
        signature = tuple(
            session.execute(
                select(func.count(WatchQuery.id), func.max(WatchQuery.updated_at)).where(
                    WatchQuery.enabled.is_(True)
                )
            ).one()
        )
        with self._lock:
            if signature != self._signature:
                queries = session.execute(
                    select(WatchQuery.id, WatchQuery.query).where(WatchQuery.enabled.is_(True))
                ).all()
                self._queries = {str(qid): text for qid, text in queries}
                self._watch = WatchSet.compile(self._queries)
                self._with_escalation = None
                self._signature = signature
            return self._watch

    def with_escalation(self, session: Session) -> WatchSet | None:
        """The queries and `ESCALATION_QUERIES` compiled together; None without queries."""
        self.get(session)
        with self._lock:
            if not self._queries:
                return None
            if self._with_escalation is None:
                self._with_escalation = WatchSet.compile({**self._queries, **ESCALATION_QUERIES})
            return self._with_escalation


@dataclass
class DetectContext:
    store: DetectorStore
    watch: WatchCache
    lease: Lease | None = None  # the detector lease; set by the worker that runs this context


def item_time(item: Any) -> datetime:
    return item.published_at or item.received_at


@dataclass(frozen=True, slots=True)
class _AnalysisParts:
    """The values detection reads of an item's analysis."""

    language: Any
    sentiment: Any
    category: Any
    severity: Any
    detection: Any


def analysis_parts(item: Any) -> _AnalysisParts:
    """From a row of `ITEM_COLUMNS`, or from anything with the whole `analysis` (an `Item`)."""
    if hasattr(item, "a_detection"):
        return _AnalysisParts(
            item.a_language, item.a_sentiment, item.a_category, item.a_severity, item.a_detection
        )
    analysis = item.analysis or {}
    return _AnalysisParts(
        analysis.get("language"),
        (analysis.get("sentiment") or {}).get("label"),
        (analysis.get("category") or {}).get("label"),
        (analysis.get("severity") or {}).get("score"),
        analysis.get("detection"),
    )


def detection_item(item: Any, parts: _AnalysisParts | None = None) -> DetectionItem:
    """What detection sees of an item (a row of `ITEM_COLUMNS`, or an `Item`)."""
    if parts is None:
        parts = analysis_parts(item)
    meta = item.meta or {}
    reach = _count(meta.get("followers")) + _count(meta.get("reposts"))
    severity = parts.severity
    return DetectionItem(
        item_id=str(item.id),
        text=_full_text(item.title, item.text),
        at=item_time(item).timestamp(),
        reach=reach,
        author=item.author,
        source=item.source,
        lang=parts.language,
        sentiment=parts.sentiment,
        category=parts.category,
        severity=severity / 100 if isinstance(severity, int | float) else None,
        features=DetectionFeatures.from_dict(parts.detection),
    )


def _count(value: object) -> int:
    try:
        return max(0, int(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def detect(db: Database, context: DetectContext, item_ids: Sequence[int]) -> int:
    """Ask for detection of these items (the `detect` job); the lease holder detects them.

    Returns how many items this call detected: with the lease held by this context, it runs
    detection on the inbox at once; otherwise 0 (the holder will)."""
    request_detection(db, item_ids)
    if context.lease is None or not context.lease.held:
        return 0
    return detect_pending(db, context)


def pending_count(db: Database) -> int:
    """Items waiting in the detection inbox (parked ones not counted)."""
    with db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DetectPending)
                .where(DetectPending.parked_at.is_(None))
            )
            or 0
        )


# An item whose detection failed this many times on its own is parked (see `detect_pending`).
DETECT_MAX_ATTEMPTS = 3
# Failures that say nothing about the items: the database is unreachable or busy, or another
# worker took the lease over. They fail the call as they are, and no item is charged for them.
SYSTEMIC_ERRORS: tuple[type[BaseException], ...] = (LeaseLost, OperationalError, InterfaceError)


def detect_pending(db: Database, context: DetectContext, limit: int = DETECT_BATCH) -> int:
    """Detect the oldest items of the inbox, in one transaction; returns how many.

    With a lease in the context, the transaction is fenced by it: if another worker took the
    lease over (this one was presumed dead), nothing is written and `LeaseLost` is raised.

    A poison item must not block the inbox: when the batch fails (for another reason than a
    `SYSTEMIC_ERRORS` one), its items are detected one per transaction; each one that fails on
    its own counts an attempt and keeps its error, and is parked after `DETECT_MAX_ATTEMPTS`
    (skipped from then on, listed with the parked jobs until requeued)."""
    with db.read() as session:
        waiting = session.scalars(
            select(DetectPending.item_id)
            .where(DetectPending.parked_at.is_(None))
            .order_by(DetectPending.item_id)
            .limit(limit)
        ).all()
    if not waiting:
        return 0
    try:
        return _detect_batch(db, context, waiting)
    except SYSTEMIC_ERRORS:
        raise
    except Exception as exc:
        if len(waiting) == 1:
            _record_failure(db, waiting[0], exc)
            return 0
        log.warning(
            "detection of %d items failed (%s: %s); detecting them one by one",
            len(waiting), type(exc).__name__, exc,
        )  # fmt: skip
    done = 0
    for item_id in waiting:
        try:
            done += _detect_batch(db, context, [item_id])
        except SYSTEMIC_ERRORS:
            raise
        except Exception as exc:
            _record_failure(db, item_id, exc)
    return done


def _record_failure(db: Database, item_id: int, exc: Exception) -> None:
    """Charge an inbox item one failed attempt; park it after the last."""
    error = f"{type(exc).__name__}: {exc}"[:4000]
    with db.write() as session:
        row = session.get(DetectPending, item_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error
        if row.attempts >= DETECT_MAX_ATTEMPTS:
            row.parked_at = clock.now()
        attempts, parked = row.attempts, row.parked_at is not None
    log.warning(
        "detection of item %s failed (attempt %d%s): %s",
        item_id, attempts, ", parked" if parked else "", error,
        extra={"kind": DETECT, "item_id": item_id, "attempts": attempts, "parked": parked,
               "error": error},
    )  # fmt: skip


def parked_items(db: Database, limit: int = 100) -> list[ParkedJob]:
    """The parked inbox items, shaped as parked jobs (id `detect:<item id>`) for the queue page."""
    with db.read() as session:
        rows = session.execute(
            select(DetectPending)
            .where(DetectPending.parked_at.is_not(None))
            .order_by(DetectPending.parked_at.desc(), DetectPending.item_id.desc())
            .limit(limit)
        ).scalars()
        return [
            ParkedJob(
                f"{PARKED_ITEM_PREFIX}{row.item_id}",
                DETECT,
                {"item_ids": [row.item_id]},
                row.attempts,
                row.last_error or "",
                row.parked_at or clock.now(),
            )
            for row in rows
        ]


PARKED_ITEM_PREFIX = "detect:"


def parked_item_count(db: Database) -> int:
    with db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DetectPending)
                .where(DetectPending.parked_at.is_not(None))
            )
            or 0
        )


def requeue_parked_item(db: Database, item_id: int) -> bool:
    """Give a parked inbox item a fresh set of attempts; False when it is not parked."""
    with db.write() as session:
        changed = session.execute(
            update(DetectPending)
            .where(DetectPending.item_id == item_id, DetectPending.parked_at.is_not(None))
            .values(attempts=0, parked_at=None, last_error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed == 1


def _detect_batch(db: Database, context: DetectContext, waiting: Sequence[int]) -> int:
    """Detect these inbox items: read, run the detector, then write in one transaction (fenced,
    on the locked state row).

    Only the writing holds the database's write lock. The detector's work (a few hundred
    milliseconds per thousand items) runs before it, on what a read transaction saw: on SQLite,
    whose writers take turns, the analysis processes' and intake's writes no longer queue
    behind it. The write transaction checks that the state row is still where the read left it
    (only another detector could have moved it: a lease taken over meanwhile); if not, nothing
    is written and `DetectorMoved` is raised."""
    with context.store._lock:
        try:
            with db.read() as session:
                detector, seq = context.store.prepare(session)
                items = _undetected(session, waiting)
                watch = context.watch.get(session) if any(map(_lacks_queries, items)) else None
            detected = _run_detector(detector, items, seq, watch)
            with db.write() as session, session.no_autoflush:
                if context.lease is not None:
                    context.lease.fence(session)
                row = context.store.lock(session)
                if row.journal_seq != seq:
                    raise DetectorMoved(
                        f"the detector's journal moved from {seq} to {row.journal_seq} "
                        "while this worker detected"
                    )
                if detected.posts:
                    _write_detected(session, detector, detected)
                    context.store.advance(row, detector, detected.last_seq)
                session.execute(
                    DetectPending.__table__.delete().where(DetectPending.item_id.in_(list(waiting)))
                )
                last_seq = row.journal_seq
            context.store.committed(last_seq)
        except BaseException:
            context.store.invalidate()  # the in-memory state may have run ahead of the database
            raise
    return len(detected.posts)


class DetectorMoved(LeaseLost):
    """Another worker detected between this worker's read and its write (see `_detect_batch`)."""


def _undetected(session: Session, item_ids: Sequence[int]) -> list[Any]:
    """The analysed items without a post, in detection order (time, then id)."""
    return list(
        session.execute(
            select(*ITEM_COLUMNS)
            .where(
                Item.id.in_(list(item_ids)),
                Item.analysed_at.is_not(None),
                ~exists().where(Post.item_id == Item.id),
            )
            .order_by(func.coalesce(Item.published_at, Item.received_at), Item.id)
        ).all()
    )


def _stored_queries(item: Any) -> list[Any] | None:
    detection = item.a_detection
    stored = detection.get("queries") if isinstance(detection, dict) else None
    return stored if isinstance(stored, list) else None


def _lacks_queries(item: Any) -> bool:
    """Analysed before watch matching moved to the analysis stage: matched at detection."""
    return _stored_queries(item) is None


@dataclass
class _Detected:
    """What a batch's detection writes."""

    posts: list[dict[str, Any]]
    post_matches: list[dict[str, Any]]
    events: list[AlertEvent]
    last_seq: int
    at: datetime


def _run_detector(
    detector: Detector, items: Sequence[Any], seq: int, watch: WatchSet | None
) -> _Detected:
    """Feed the items to the detector, in order; no database."""
    now = clock.now()
    detected = _Detected([], [], [], seq, now)
    for item in items:
        seq += 1
        parts = analysis_parts(item)
        candidate = detection_item(item, parts)
        stored = _stored_queries(item)
        if stored is not None:
            query_ids = tuple(sorted(str(q) for q in stored))
        else:
            fields = {
                "lang": candidate.lang,
                "source": item.source,
                "author": item.author,
                "category": candidate.category,
            }
            matched = watch.match(candidate.text, fields) if watch else []
            query_ids = tuple(sorted(m.query_id for m in matched))
        outcome = detector.process(candidate, query_ids)  # the journal replays this order
        bucket = int(candidate.at // BUCKET_SECONDS)
        detected.posts.append(
            {
                "item_id": item.id,
                "at": item_time(item),
                "bucket": bucket,
                "source": item.source,
                "author": item.author,
                "reach": candidate.reach,
                "sentiment": candidate.sentiment,
                "category": candidate.category,
                "severity": candidate.severity,
                "topic_id": outcome.topic_id,
                "is_copy": outcome.is_copy,
                "representative_item_id": int(outcome.representative_id)
                if outcome.representative_id
                else None,
                "detected_at": now,
                "seq": seq,
            }
        )
        detected.post_matches += [
            {"item_id": item.id, "watch_query_id": int(q), "bucket": bucket} for q in query_ids
        ]
        detected.events += outcome.alerts
    detected.last_seq = seq
    return detected


def _write_detected(session: Session, detector: Detector, detected: _Detected) -> None:
    # Core statements, one executemany each: the ORM's per-row bookkeeping is not needed for
    # rows this transaction only writes.
    session.execute(insert(Post.__table__), detected.posts)
    if detected.post_matches:
        session.execute(insert(PostMatch.__table__), detected.post_matches)
    _record_alerts(session, detected.events, detected.at)
    _record_topics(session, detector, sorted(detector.drain_touched_topics()), detected.at)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _record_alerts(session: Session, events: Sequence[AlertEvent], now: datetime) -> None:
    """Apply the batch's alert changes in order, with one query for the rows they touch."""
    if not events:
        return
    keys = sorted({event.change.alert.key for event in events})
    rows: dict[tuple[str, str], AlertRecord] = {
        (record.key, record.book_id): record
        for record in session.scalars(select(AlertRecord).where(AlertRecord.key.in_(keys)))
    }
    for event in events:
        _record_alert(session, rows, event, now)


def _record_alert(
    session: Session,
    rows: dict[tuple[str, str], AlertRecord],
    event: AlertEvent,
    now: datetime,
) -> None:
    alert = event.change.alert
    row = rows.get((alert.key, alert.alert_id))
    reasons = [asdict(r) for r in alert.reasons]
    if row is None:
        row = AlertRecord(
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
            related_alert_id=_latest_alert_of_topic(session, event.related_topic_id),
        )
        session.add(row)
        rows[(alert.key, alert.alert_id)] = row
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


def _latest_alert_of_topic(session: Session, topic_id: str | None) -> int | None:
    """The newest stored alert of a topic (a new alert's related one); rare: one query each."""
    if topic_id is None:
        return None
    session.flush()  # the related alert may have been raised earlier in this same batch
    return session.scalar(
        select(AlertRecord.id)
        .where(AlertRecord.key == f"topic:{topic_id}")
        .order_by(AlertRecord.id.desc())
        .limit(1)
    )


def _record_topics(
    session: Session, detector: Detector, topic_ids: Sequence[str], now: datetime
) -> None:
    """Write the latest state of these topics: an INSERT of the new ones and an UPDATE of the
    others, each one statement over all rows (a batch touches hundreds of topics)."""
    values = [
        _topic_values(topic_id, topic, now)
        for topic_id in topic_ids
        if (topic := detector.topics.topics.get(topic_id)) is not None
    ]
    if not values:
        return
    ids = [v["id"] for v in values]
    known = {
        topic_id
        for start in range(0, len(ids), 500)
        for topic_id in session.scalars(
            select(TopicRecord.id).where(TopicRecord.id.in_(ids[start : start + 500]))
        )
    }
    table = TopicRecord.__table__
    fresh = [v for v in values if v["id"] not in known]
    if fresh:
        session.execute(insert(table), fresh)
    changed = [{"b_id": v["id"], **v} for v in values if v["id"] in known]
    if changed:
        for v in changed:
            del v["id"]
        session.execute(table.update().where(table.c.id == bindparam("b_id")), changed)


def _topic_values(topic_id: str, topic: Topic, now: datetime) -> dict[str, Any]:
    return {
        "id": topic_id,
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
                ~exists().where(DetectPending.item_id == Item.id),
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
    # Analysed items enter the detection inbox in the analysis transaction, so this finds only
    # items analysed by an older version, or whose inbox rows were lost: back into the inbox.
    detected = sum(request_detection(db, chunk) for chunk in _chunks(undetected))
    return {ANALYSE: len(unanalysed), DETECT: detected}
