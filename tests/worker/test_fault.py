"""Fault tests with real processes: a `clamor worker` killed with SIGKILL in the middle of its
work and restarted; every item ends up processed exactly once in effect (no loss, no double
counting in topics or bursts). Runs on SQLite with the embedded queue and on PostgreSQL with
Redis Streams."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from clamor.intake.models import Item
from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline
from clamor.monitoring.models import Post, TopicRecord
from clamor.queue.redis_streams import RedisQueue
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from tests.conftest import TEST_SECRET
from tests.queue.conftest import redis_client
from tests.worker.conftest import current_detector

REDIS_DB_URL = "redis://127.0.0.1:6379/13"


def worker_process(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from clamor.cli.main import run; run()", "worker", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def worker_setup(
    db: Database, data_dir: Path, backend: str
) -> tuple[dict[str, str], TableQueue | RedisQueue]:
    """The environment a `clamor worker` process needs for `backend`, and that queue."""
    env = {
        **os.environ,
        "CLAMOR_DATABASE_URL": db.url,
        "CLAMOR_SECRET_KEY": TEST_SECRET,
        "CLAMOR_DATA_DIR": str(data_dir),
    }
    env.pop("CLAMOR_REDIS_URL", None)
    if backend != "redis":
        return env, TableQueue(db)
    redis_client()  # skips (or fails in CI) when Redis is absent
    client = redis.Redis.from_url(REDIS_DB_URL, decode_responses=True)
    # Keys of this run's own: other runs on the machine may use the same Redis database.
    prefix = f"clamor-fault-{uuid.uuid4().hex[:8]}"
    env.update(CLAMOR_REDIS_URL=REDIS_DB_URL, CLAMOR_REDIS_PREFIX=prefix)
    return env, RedisQueue(client, prefix=prefix)


def count(db: Database, query) -> int:
    with db.read() as session:
        return session.scalar(query) or 0


@pytest.mark.parametrize("backend", ["table", "redis"])
def test_a_worker_killed_mid_batch_loses_and_double_counts_nothing(
    db: Database, demo_items: list[ItemIn], tmp_path: Path, backend: str
) -> None:
    env, queue = worker_setup(db, tmp_path, backend)
    items = demo_items * 1
    for start in range(0, len(items), 25):  # small jobs: the kill lands between and inside them
        with db.write() as session:
            pipeline.ingest(session, queue, items[start : start + 25])

    first = worker_process(env, "--batch", "1", "--visibility", "3", "--name", "doomed")
    deadline = time.monotonic() + 120
    while count(db, select(func.count(Post.item_id))) == 0:
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        assert time.monotonic() < deadline, "the worker never got to detection"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    detected_at_kill = count(db, select(func.count(Post.item_id)))
    assert detected_at_kill < len(items), "killed too late to test anything"

    second = worker_process(env, "--batch", "2", "--visibility", "3", "--drain", "--name", "next")
    _, errors = second.communicate(timeout=300)
    assert second.returncode == 0, errors.decode()

    with db.read() as session:
        posts = session.scalar(select(func.count(Post.item_id)))
        analysed = session.scalar(select(func.count(Item.id)).where(Item.analysed_at.is_not(None)))
        originals = session.scalar(select(func.count(Post.item_id)).where(Post.is_copy.is_(False)))
        topics = session.scalars(select(TopicRecord)).all()
        seqs = session.scalars(select(Post.seq).order_by(Post.seq)).all()
    assert posts == analysed == len(items)
    assert sum(topic.copies for topic in topics) == len(items)  # each post in one topic, once
    assert seqs == list(range(1, len(items) + 1))  # one unbroken journal
    detector = current_detector(db)
    assert len(detector.topics._assignments) == len(items)
    total_seen = detector.bursts._keys["*"].seen
    assert len(total_seen) == originals  # bursts counted each original once (copies: never)
    stats = queue.stats()
    assert (stats.ready, stats.claimed, stats.parked) == (0, 0, 0)
    if isinstance(queue, RedisQueue):
        queue.clear()


@pytest.mark.parametrize("backend", ["table", "redis"])
def test_a_worker_with_analysis_processes_drains_the_queue(
    db: Database, demo_items: list[ItemIn], tmp_path: Path, backend: str
) -> None:
    env, queue = worker_setup(db, tmp_path, backend)
    for start in range(0, len(demo_items), 25):
        with db.write() as session:
            pipeline.ingest(session, queue, demo_items[start : start + 25])

    pooled = worker_process(env, "--processes", "1", "--drain", "--name", "pooled")
    _, errors = pooled.communicate(timeout=300)
    assert pooled.returncode == 0, errors.decode()

    with db.read() as session:
        analysed = session.scalar(select(func.count(Item.id)).where(Item.analysed_at.is_not(None)))
        posts = session.scalar(select(func.count(Post.item_id)))
    assert analysed == posts == len(demo_items)
    stats = queue.stats()
    assert (stats.ready, stats.claimed, stats.parked) == (0, 0, 0)
    if isinstance(queue, RedisQueue):
        queue.clear()
