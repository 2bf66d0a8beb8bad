"""The detector lease: one worker detects at a time, a dead owner is replaced once its lease runs
out, and a presumed-dead owner that wakes up cannot write anything (the lease fences its
transaction). On SQLite and PostgreSQL, with the table queue and Redis Streams."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline
from clamor.monitoring.models import DetectorState, DetectPending, Post, TopicRecord
from clamor.queue.lease import Lease, LeaseLost, current_holder
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from clamor.worker.handlers import PipelineContext
from clamor.worker.loop import Worker
from tests.worker.conftest import current_detector


def ingest(db: Database, queue, items: list[ItemIn], batch: int = 50) -> None:
    for start in range(0, len(items), batch):
        with db.write() as session:
            pipeline.ingest(session, queue, items[start : start + batch])


def journal(db: Database) -> dict:
    with db.read() as session:
        topics = session.scalars(select(TopicRecord)).all()
        return {
            "posts": session.scalar(select(func.count(Post.item_id))),
            "seqs": session.scalars(select(Post.seq).order_by(Post.seq)).all(),
            "topic_copies": sum(t.copies for t in topics),
            "pending": session.scalar(select(func.count()).select_from(DetectPending)),
        }


def test_one_holder_at_a_time_and_takeover_after_expiry(db: Database) -> None:
    first = Lease(db, "detector", "w1", seconds=0.6)
    second = Lease(db, "detector", "w2", seconds=0.6)
    assert first.acquire()
    assert not second.acquire()
    assert current_holder(db, "detector")[:2] == ("w1", 1)
    with db.write() as session:
        first.fence(session)  # renewing works while it is ours
    time.sleep(0.8)  # w1 stops renewing (dead, hung, cut off)
    assert second.acquire()
    assert current_holder(db, "detector")[:2] == ("w2", 2)  # a new holder, a new token
    with pytest.raises(LeaseLost), db.write() as session:
        first.fence(session)
    assert not first.held
    assert not first.acquire()  # w2 holds it and keeps renewing
    second.release()
    assert first.acquire()  # released: taken at once, no wait for expiry
    assert current_holder(db, "detector")[:2] == ("w1", 3)


def test_a_worker_restarted_under_its_name_takes_its_lease_back_at_once(db: Database) -> None:
    assert Lease(db, "detector", "box:worker", seconds=60).acquire()
    restarted = Lease(db, "detector", "box:worker", seconds=60)  # same name, new process
    assert restarted.acquire()
    assert current_holder(db, "detector")[:2] == ("box:worker", 2)


def test_a_dead_owner_is_replaced_and_its_late_writes_are_refused(
    db: Database, demo_items: list[ItemIn]
) -> None:
    queue = TableQueue(db)
    items = demo_items[:200]
    owner = Worker(PipelineContext(db, queue), name="owner", wait=0.05, tick_seconds=0)
    owner.lease_seconds = 1.0
    owner.context.detect.lease = Lease(db, "detector", "owner", seconds=1.0)
    ingest(db, queue, items[:100])
    # The owner analyses and detects the first half, then dies without a word (no release).
    while owner.run_once():
        pass
    assert journal(db)["posts"] == 100
    assert current_holder(db, "detector")[0] == "owner"

    ingest(db, queue, items[100:])
    successor_context = PipelineContext(db, queue)
    successor = Worker(successor_context, name="successor", wait=0.05, tick_seconds=0)
    successor.context.detect.lease = Lease(db, "detector", "successor", seconds=1.0)
    began = time.monotonic()
    successor.run(threading.Event(), drain=True)  # waits for the lease to run out, takes over
    assert time.monotonic() - began >= 0.5
    assert current_holder(db, "detector")[0] is None  # released at the end of the drain
    result = journal(db)
    assert result["posts"] == result["topic_copies"] == len(items)
    assert result["seqs"] == list(range(1, len(items) + 1))  # one unbroken journal
    assert result["pending"] == 0
    assert successor.stages["detect"].items == 100
    assert owner.stages["detect"].items == 100

    # The old owner wakes up with work it believes is its own: the fence refuses it.
    extra = [
        ItemIn(kind="post", source="zombie", external_id=str(n), text=f"late post number {n}")
        for n in range(5)
    ]
    ingest(db, queue, extra)
    for claimed in queue.claim("owner", 10):
        pipeline.analyse(db, queue, claimed.payload["item_ids"])
        queue.ack(claimed)
    assert journal(db)["pending"] == 5
    owner.context.detect.lease._valid_until = time.monotonic() + 60  # it believes it holds it
    with pytest.raises(LeaseLost):
        pipeline.detect_pending(db, owner.context.detect)
    assert journal(db)["posts"] == len(items)  # nothing written
    assert journal(db)["pending"] == 5

    # The successor's state equals what the journal rebuilds.
    rebuilt = current_detector(db)
    in_memory = successor_context.detect.store._detector
    assert in_memory is not None
    assert json.dumps(rebuilt.to_dict(), sort_keys=True) == json.dumps(
        in_memory.to_dict(), sort_keys=True
    )
    with db.read() as session:
        assert session.get(DetectorState, 1).journal_seq == len(items)


@pytest.mark.redis
def test_two_workers_analyse_in_parallel_but_only_the_lease_holder_detects(
    db: Database, demo_items: list[ItemIn], redis_queue
) -> None:
    ingest(db, redis_queue, demo_items, batch=20)
    workers = [
        Worker(PipelineContext(db, redis_queue), name=f"w{n}", batch=1, wait=0.05, tick_seconds=0)
        for n in range(2)
    ]
    threads = [
        threading.Thread(target=worker.run, args=(threading.Event(),), kwargs={"drain": True})
        for worker in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    result = journal(db)
    assert result["posts"] == result["topic_copies"] == len(demo_items)
    assert result["seqs"] == list(range(1, len(demo_items) + 1))
    detected = sorted(w.stages["detect"].items if "detect" in w.stages else 0 for w in workers)
    analysed = [w.stages["analyse"].items if "analyse" in w.stages else 0 for w in workers]
    assert sum(analysed) == len(demo_items)
    # One owner for the whole run: no journal replays, no detection done twice.
    assert detected == [0, len(demo_items)]
    detector = current_detector(db)
    assert len(detector.topics._assignments) == len(demo_items)
