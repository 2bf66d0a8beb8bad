"""Redis restarted (empty: no persistence) while items stream in: no item is lost, because
items are stored before any job exists and the sweep enqueues what the queue forgot."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline
from clamor.monitoring.models import Post, TopicRecord
from clamor.queue.base import RetryPolicy
from clamor.queue.redis_streams import RedisQueue
from clamor.storage.database import Database
from clamor.worker.handlers import PipelineContext
from clamor.worker.loop import Worker
from tests.conftest import service_missing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own, so that restarting it disturbs nobody else."""

    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        service_missing("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_no_item_is_lost_when_redis_restarts_under_load(
    db: Database, demo_items: list[ItemIn], private_redis: PrivateRedis
) -> None:
    client = redis.Redis(port=private_redis.port, decode_responses=True, socket_timeout=5)
    queue = RedisQueue(client, RetryPolicy(visibility_seconds=2))
    context = PipelineContext(db, queue, sweep_after_seconds=1.0)
    worker = Worker(context, name="survivor", wait=0.1, tick_seconds=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    chunks = [demo_items[start : start + 20] for start in range(0, len(demo_items), 20)]
    for number, chunk in enumerate(chunks):
        if number == len(chunks) // 3:
            private_redis.kill()  # everything queued or in flight is gone with it
        if number == len(chunks) // 2:
            private_redis.start()  # back, empty
        with db.write() as session:
            pipeline.ingest(session, queue, chunk)  # stored even while Redis is down
    deadline = time.monotonic() + 180
    while True:
        with db.read() as session:
            done = session.scalar(select(func.count(Post.item_id)))
        if done == len(demo_items):
            break
        assert time.monotonic() < deadline, f"only {done} of {len(demo_items)} items detected"
        time.sleep(0.2)
    stop.set()
    thread.join(timeout=30)
    with db.read() as session:
        topics = session.scalars(select(TopicRecord)).all()
    assert sum(topic.copies for topic in topics) == len(demo_items)
