"""The pipeline end to end over real storage and real queues: intake → analyse → detect, with
redelivered jobs, a restarted worker, a lost queue and a poison job."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from clamor.core.principal import SYSTEM
from clamor.intake.models import Item
from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline, service
from clamor.monitoring.models import (
    AlertRecord,
    DetectorState,
    DetectPending,
    Post,
    PostMatch,
    TopicRecord,
)
from clamor.queue.base import RetryPolicy
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from clamor.worker.handlers import HANDLERS, PipelineContext
from clamor.worker.loop import Worker
from tests.worker.conftest import current_detector


def ingest(db: Database, queue, items: list[ItemIn], batch: int = 100) -> None:
    for start in range(0, len(items), batch):
        with db.write() as session:
            pipeline.ingest(session, queue, items[start : start + batch])


def drain(context: PipelineContext, name: str = "test-worker") -> Worker:
    worker = Worker(context, name=name, wait=0.05, tick_seconds=0)
    worker.run(threading.Event(), drain=True)
    return worker


def snapshot(db: Database) -> dict:
    with db.read() as session:
        topics = session.scalars(select(TopicRecord)).all()
        return {
            "items": session.scalar(select(func.count(Item.id))),
            "analysed": session.scalar(
                select(func.count(Item.id)).where(Item.analysed_at.is_not(None))
            ),
            "posts": session.scalar(select(func.count(Post.item_id))),
            "copies": session.scalar(select(func.count(Post.item_id)).where(Post.is_copy)),
            "topic_copies": sum(t.copies for t in topics),
            "topic_volume": sum(t.volume for t in topics),
            "alerts": sorted((a.key, a.level) for a in session.scalars(select(AlertRecord))),
            "matches": session.scalar(select(func.count(PostMatch.item_id))),
        }


def add_queries(db: Database) -> None:
    with db.write() as session:
        service.create_query(session, SYSTEM, "Germanwings", "other", "germanwings OR a320")
        service.create_query(session, SYSTEM, "United", "competitor", "united")


def test_intake_to_alert_on_the_embedded_queue(db: Database, demo_items: list[ItemIn]) -> None:
    add_queries(db)
    queue = TableQueue(db)
    ingest(db, queue, demo_items)
    worker = drain(PipelineContext(db, queue))
    result = snapshot(db)
    assert result["items"] == result["analysed"] == result["posts"] == len(demo_items)
    assert result["topic_copies"] == len(demo_items)  # every post counted in exactly one topic
    assert result["topic_volume"] == len(demo_items) - result["copies"]
    assert result["matches"] > 0
    with db.read() as session:
        alerts = session.scalars(select(AlertRecord)).all()
        germanwings = [a for a in alerts if "germanwings" in a.keywords]
    assert germanwings, [a.keywords for a in alerts]
    assert germanwings[0].level >= 3 and germanwings[0].reasons
    assert worker.stages["analyse"].items == len(demo_items)
    assert worker.stages["detect"].items == len(demo_items)
    stats = queue.stats()
    assert (stats.ready, stats.claimed, stats.parked) == (0, 0, 0)


def test_redelivered_jobs_change_nothing(db: Database, demo_items: list[ItemIn]) -> None:
    queue = TableQueue(db)
    items = demo_items[:150]
    ingest(db, queue, items)
    context = PipelineContext(db, queue)
    drain(context)
    before = snapshot(db)
    with db.read() as session:
        ids = list(session.scalars(select(Item.id)))
        seq = session.get(DetectorState, 1).journal_seq
    # At-least-once delivery: the same jobs arrive again (worker died after commit, before ack).
    assert HANDLERS["analyse"](context, {"item_ids": ids}) == 0
    assert HANDLERS["detect"](context, {"item_ids": ids}) == 0
    drain(context)  # and the detect job the redelivered analyse job enqueued
    assert snapshot(db) == before
    with db.read() as session:
        assert session.get(DetectorState, 1).journal_seq == seq == len(items)


@pytest.mark.parametrize("snapshot_every", [50, 100_000])
def test_a_restarted_worker_continues_from_the_stored_state(
    db: Database, demo_items: list[ItemIn], snapshot_every: int, monkeypatch
) -> None:
    monkeypatch.setattr(pipeline, "SNAPSHOT_ITEMS", snapshot_every)
    queue = TableQueue(db)
    half = len(demo_items) // 2
    ingest(db, queue, demo_items[:half])
    drain(PipelineContext(db, queue))
    ingest(db, queue, demo_items[half:])
    second = PipelineContext(db, queue)  # a new process: nothing in memory
    drain(second)
    restarted = snapshot(db)
    assert restarted["posts"] == restarted["topic_copies"] == len(demo_items)
    assert any(level >= 3 for _, level in restarted["alerts"])
    in_memory = second.detect.store._detector
    assert in_memory is not None
    rebuilt = current_detector(db)  # snapshot + journal, as a third process would see it
    assert json.dumps(rebuilt.to_dict(), sort_keys=True) == json.dumps(
        in_memory.to_dict(), sort_keys=True
    )
    with db.read() as session:
        row = session.get(DetectorState, 1)
        assert row.journal_seq == len(demo_items)
        assert (row.snapshot_seq > 0) is (snapshot_every < len(demo_items))


def test_sweep_recovers_what_a_lost_queue_forgot(db: Database, demo_items: list[ItemIn]) -> None:
    queue = TableQueue(db)
    from clamor.intake.service import store_items

    with db.write() as session:  # stored, but the jobs were lost (e.g. Redis restarted empty)
        store_items(session, demo_items[:40])
    assert pipeline.sweep(db, queue, older_than_seconds=0) == {"analyse": 40, "detect": 0}
    # While those jobs wait, a second sweep adds nothing (a backlog is not a loss).
    assert pipeline.sweep(db, queue, older_than_seconds=0) == {"analyse": 0, "detect": 0}
    context = PipelineContext(db, queue)
    job = queue.claim("w")[0]
    HANDLERS[job.kind](context, job.payload)
    queue.ack(job)  # analysed: the items entered the detection inbox in the same transaction
    for lost in queue.claim("w", 10):
        queue.ack(lost)
    assert pipeline.sweep(db, queue, older_than_seconds=0) == {"analyse": 0, "detect": 0}
    with db.write() as session:  # inbox rows lost (only an older version could lose them)
        session.execute(DetectPending.__table__.delete())
    assert pipeline.sweep(db, queue, older_than_seconds=0) == {"analyse": 0, "detect": 40}
    drain(context)
    assert snapshot(db)["posts"] == 40


def test_a_poison_job_is_parked_with_its_error(db: Database) -> None:
    queue = TableQueue(db, RetryPolicy(max_attempts=2, base_delay_seconds=0))
    queue.enqueue("analyse", {"item_ids": "not a list"})
    queue.enqueue("mystery", {})
    drain(PipelineContext(db, queue))
    parked = {job.kind: job for job in queue.parked()}
    assert set(parked) == {"analyse", "mystery"}
    assert parked["analyse"].error.startswith("ValueError: payload.item_ids must be a list")
    assert parked["mystery"].error == "LookupError: no handler for job kind 'mystery'"
    assert parked["analyse"].attempts == 2


def test_a_poison_item_in_the_detection_inbox_is_parked_and_the_others_go_on(
    db: Database, demo_items: list[ItemIn]
) -> None:
    queue = TableQueue(db)
    items = demo_items[:60]
    ingest(db, queue, items)
    context = PipelineContext(db, queue)
    while jobs := queue.claim("w", 10):  # analysed: all 60 wait in the detection inbox
        for job in jobs:
            HANDLERS[job.kind](context, job.payload)
            queue.ack(job)
    with db.write() as session:  # one item's stored detection features are corrupt
        poison = session.scalars(select(Item).order_by(Item.id).offset(7).limit(1)).one()
        poison.analysis = {**poison.analysis, "detection": {"v": 1, "dup": ["x", 1], "terms": []}}
    # Every try: the batch fails, its items are detected one by one, the poison one is charged.
    assert pipeline.detect_pending(db, context.detect) == len(items) - 1
    for _attempt in range(2, pipeline.DETECT_MAX_ATTEMPTS + 1):
        assert pipeline.detect_pending(db, context.detect) == 0
    with db.read() as session:
        row = session.get(DetectPending, poison.id)
        assert row.attempts == pipeline.DETECT_MAX_ATTEMPTS and row.parked_at is not None
        assert row.last_error.startswith("ValueError")
    assert pipeline.pending_count(db) == 0  # parked: no longer waiting (a drain ends)
    drain(context)
    result = snapshot(db)
    assert result["posts"] == result["topic_copies"] == len(items) - 1
    [parked] = pipeline.parked_items(db)
    assert (parked.id, parked.kind, parked.attempts) == (f"detect:{poison.id}", "detect", 3)
    assert parked.payload == {"item_ids": [poison.id]} and "ValueError" in parked.error
    with db.write() as session:  # repaired, requeued from the parked list: detected
        fixed = session.get(Item, poison.id)
        fixed.analysis = {k: v for k, v in fixed.analysis.items() if k != "detection"}
    assert pipeline.requeue_parked_item(db, poison.id)
    assert not pipeline.requeue_parked_item(db, poison.id)  # not parked any more
    drain(context)
    assert snapshot(db)["posts"] == len(items) and pipeline.parked_items(db) == []
    in_memory = context.detect.store._detector  # the failed tries left nothing behind
    assert in_memory is not None
    assert json.dumps(current_detector(db).to_dict(), sort_keys=True) == json.dumps(
        in_memory.to_dict(), sort_keys=True
    )


def test_a_batch_of_good_items_is_not_charged_for_a_database_outage(
    db: Database, demo_items: list[ItemIn], monkeypatch
) -> None:
    from sqlalchemy.exc import OperationalError

    queue = TableQueue(db)
    ingest(db, queue, demo_items[:20])
    context = PipelineContext(db, queue)
    while jobs := queue.claim("w", 10):
        for job in jobs:
            HANDLERS[job.kind](context, job.payload)
            queue.ack(job)

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(pipeline, "_write_detected", unreachable)
    with pytest.raises(OperationalError):
        pipeline.detect_pending(db, context.detect)
    with db.read() as session:
        assert {row.attempts for row in session.scalars(select(DetectPending))} == {0}
    monkeypatch.undo()
    drain(context)
    assert snapshot(db)["posts"] == 20


@pytest.mark.redis
def test_intake_to_alert_on_redis_streams_with_two_workers(
    db: Database, demo_items: list[ItemIn], redis_queue
) -> None:
    add_queries(db)
    ingest(db, redis_queue, demo_items)
    threads = [
        threading.Thread(target=drain, args=(PipelineContext(db, redis_queue), f"w{n}"))
        for n in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = snapshot(db)
    assert result["posts"] == result["topic_copies"] == len(demo_items)
    assert any(level >= 3 for _, level in result["alerts"])
    detector = current_detector(db)
    assert len(detector.topics._assignments) == len(demo_items)


def test_serve_runs_the_pipeline_in_process(settings, db: Database, seeded) -> None:
    import time

    from fastapi.testclient import TestClient

    from clamor.accounts import service as accounts
    from clamor.app import create_app

    with db.write() as session:
        secret = accounts.create_token(session, SYSTEM, "pr_manager", "t", ["monitoring:write"])
    posts = [
        {"platform": "weibo", "id": str(n), "text": f"诺瓦手机电池第{n}次鼓包，客服不理"}
        for n in range(20)
    ]
    with TestClient(create_app(settings, db=db, pipeline=True)) as client:
        response = client.post(
            "/api/v1/posts", json=posts, headers={"Authorization": f"Bearer {secret.secret}"}
        )
        assert response.status_code == 202
        deadline = time.monotonic() + 60
        while snapshot(db)["posts"] < len(posts):
            assert time.monotonic() < deadline, snapshot(db)
            time.sleep(0.1)
    with db.read() as session:
        analysed = session.scalars(select(Item)).all()
    assert all(item.analysis["language"] == "zh" for item in analysed)
