"""Detection runs the detector before its write transaction; the write checks that no other
worker detected in between, and writes nothing (and forgets its memory) if one did."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline
from clamor.monitoring.models import DetectorState, DetectPending, Post
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from clamor.worker.handlers import HANDLERS, PipelineContext
from clamor.worker.loop import Worker
from tests.worker.conftest import current_detector
from tests.worker.test_pipeline import ingest


def _analyse_all(context: PipelineContext) -> None:
    while jobs := context.queue.claim("w", 10):
        for job in jobs:
            HANDLERS[job.kind](context, job.payload)
            context.queue.ack(job)


def _move_journal(db: Database, by: int) -> None:
    with db.write() as session:
        session.get(DetectorState, 1).journal_seq += by


def test_a_batch_is_not_written_when_the_journal_moved_meanwhile(
    db: Database, demo_items: list[ItemIn], monkeypatch
) -> None:
    queue = TableQueue(db)
    items = demo_items[:30]
    ingest(db, queue, items)
    context = PipelineContext(db, queue)
    _analyse_all(context)
    assert pipeline.detect_pending(db, context.detect, limit=10) == 10
    detect_without_lock = pipeline._run_detector

    def while_another_worker_commits(*args):  # type: ignore[no-untyped-def]
        detected = detect_without_lock(*args)
        _move_journal(db, 1)  # as a worker that took the lease over would, meanwhile
        return detected

    monkeypatch.setattr(pipeline, "_run_detector", while_another_worker_commits)
    with pytest.raises(pipeline.DetectorMoved):
        pipeline.detect_pending(db, context.detect)
    monkeypatch.undo()
    with db.read() as session:
        assert session.scalar(select(func.count(Post.item_id))) == 10
        attempts = session.scalars(select(DetectPending.attempts)).all()
    assert sorted(attempts) == [0] * 20  # not the items' fault: nobody charged
    assert context.detect.store._detector is None  # it ran ahead of the database: forgotten
    _move_journal(db, -1)  # (the other worker's batch never existed: undo the simulation)
    Worker(context, name="w", wait=0.05, tick_seconds=0).run(threading.Event(), drain=True)
    with db.read() as session:
        assert session.scalar(select(func.count(Post.item_id))) == len(items)
    in_memory = context.detect.store._detector
    assert in_memory is not None
    assert json.dumps(current_detector(db).to_dict(), sort_keys=True) == json.dumps(
        in_memory.to_dict(), sort_keys=True
    )
