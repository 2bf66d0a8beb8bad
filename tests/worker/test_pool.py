"""The analysis pool of `clamor serve`: the same stored analyses as the in-process stage, the
whole pipeline drained through it, a killed child replaced, a clean shutdown."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from clamor.intake.models import Item
from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline
from clamor.monitoring.models import DetectPending, Post, TopicRecord
from clamor.queue.base import RetryPolicy
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from clamor.worker.handlers import PipelineContext
from clamor.worker.loop import PipelineThread, Worker
from clamor.worker.pool import AnalysisPool, can_pool
from tests.worker.test_pipeline import add_queries, ingest


def _analyses(db: Database, prefix: str) -> dict[str, dict]:
    """Stored analyses by external id without `prefix` (the same post stored twice)."""
    with db.read() as session:
        rows = session.execute(
            select(Item.external_id, Item.analysis).where(Item.external_id.like(f"{prefix}%"))
        ).all()
    return {external_id.removeprefix(prefix): analysis for external_id, analysis in rows}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids: list[int], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_child_stores_the_same_analysis_as_the_in_process_stage(
    db: Database, demo_items: list[ItemIn]
) -> None:
    add_queries(db)  # watch matching and escalation words run in the analysis stage too
    queue = TableQueue(db)
    items = demo_items[:120]
    ingest(db, queue, [replace(i, external_id=f"here-{i.external_id}") for i in items])
    ingest(db, queue, [replace(i, external_id=f"pool-{i.external_id}") for i in items])
    with db.read() as session:
        here = session.scalars(select(Item.id).where(Item.external_id.like("here-%"))).all()
        pooled = session.scalars(select(Item.id).where(Item.external_id.like("pool-%"))).all()
    context = PipelineContext(db, queue)
    assert pipeline.analyse(db, queue, here, context.detect.watch) == len(items)
    pool = AnalysisPool(db.url, 1)
    try:
        assert pool.submit(list(pooled)).result(timeout=120) == len(items)
        assert pool.submit(list(pooled)).result(timeout=120) == 0  # redelivered: nothing to do
    finally:
        pool.close()
    in_process, in_child = _analyses(db, "here-"), _analyses(db, "pool-")
    assert len(in_child) == len(items)
    assert in_child == in_process
    assert any(a["detection"]["queries"] for a in in_child.values())
    with db.read() as session:  # both went to the detection inbox
        assert session.scalar(select(func.count()).select_from(DetectPending)) == 2 * len(items)


def test_a_worker_with_a_pool_drains_the_pipeline(db: Database, demo_items: list[ItemIn]) -> None:
    queue = TableQueue(db)
    ingest(db, queue, demo_items)
    pool = AnalysisPool(db.url, 2)
    pids = pool.pids()
    assert len(set(pids)) == 2 and all(_alive(pid) for pid in pids)
    worker = Worker(PipelineContext(db, queue), name="pooled", wait=0.05, tick_seconds=0, pool=pool)
    try:
        worker.run(threading.Event(), drain=True)
    finally:
        pool.close()
    assert _wait_gone(pids)
    with db.read() as session:
        analysed = session.scalar(select(func.count(Item.id)).where(Item.analysed_at.is_not(None)))
        posts = session.scalar(select(func.count(Post.item_id)))
        copies = sum(t.copies for t in session.scalars(select(TopicRecord)))
    assert analysed == posts == copies == len(demo_items)  # each item once, in one topic
    assert worker.stages["analyse"].items == worker.stages["detect"].items == len(demo_items)
    stats = queue.stats()
    assert (stats.ready, stats.claimed, stats.parked) == (0, 0, 0)


def test_a_killed_child_is_replaced_and_its_job_retried(
    db: Database, demo_items: list[ItemIn]
) -> None:
    queue = TableQueue(db, RetryPolicy(base_delay_seconds=0.0))
    pool = AnalysisPool(db.url, 1)
    (victim,) = pool.pids()
    os.kill(victim, signal.SIGKILL)  # out of memory, or an operator's mistake
    assert _wait_gone([victim])
    items = demo_items[:60]
    ingest(db, queue, items)
    worker = Worker(PipelineContext(db, queue), name="pooled", wait=0.05, tick_seconds=0, pool=pool)
    try:
        worker.run(threading.Event(), drain=True)
        replacement = pool.pids()
    finally:
        pool.close()
    assert replacement and victim not in replacement
    assert worker.stages["analyse"].failures >= 1  # the job the dead child could not take
    with db.read() as session:
        assert session.scalar(select(func.count(Post.item_id))) == len(items)
    assert queue.stats().parked == 0


def test_the_serve_pipeline_stops_its_children(db: Database) -> None:
    queue = TableQueue(db)
    runner = PipelineThread(PipelineContext(db, queue), name="serve-test", processes=1)
    runner.worker.wait = 0.05
    assert not runner.ready.is_set()
    runner.start()
    assert runner.ready.wait(180)  # set once the children have loaded their models
    assert runner.worker.pool is not None
    pids = runner.worker.pool.pids()
    runner.stop(timeout=60)
    assert not runner.thread.is_alive()
    assert runner.worker.pool is None
    assert _wait_gone(pids)


def test_an_in_memory_database_is_not_shared_with_children() -> None:
    assert not can_pool("sqlite://")
    assert not can_pool("sqlite:///:memory:")
    assert can_pool("sqlite:////tmp/clamor.db")
    assert can_pool("postgresql+psycopg://postgres@127.0.0.1/clamor")
    with pytest.raises(ValueError):
        AnalysisPool("sqlite://", 1)
    memory = Database("sqlite://")
    runner = PipelineThread(PipelineContext(memory, TableQueue(memory)), processes=2)
    assert runner.processes == 0  # analysis stays in the pipeline's thread
    runner.start()
    assert runner.ready.wait(30)  # nothing to start: ready at once
    runner.stop(timeout=30)
