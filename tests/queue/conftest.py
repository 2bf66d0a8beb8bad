"""Both queue back ends behind one fixture, so the same contract tests run against each: the
table back end on SQLite and PostgreSQL, and Redis Streams on a real Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis

from clamor.core import clock
from clamor.queue.base import RetryPolicy
from clamor.queue.redis_streams import RedisQueue
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from tests.conftest import service_missing

REDIS_URL = os.environ.get("CLAMOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POLICY = RetryPolicy(max_attempts=3, base_delay_seconds=30, visibility_seconds=60)
REDIS_POLICY = RetryPolicy(max_attempts=3, base_delay_seconds=30, visibility_seconds=0.3)


class FakeClock:
    def __init__(self) -> None:
        self.at = clock.now()

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


@pytest.fixture
def redis_queue() -> Iterator[RedisQueue]:
    queue = RedisQueue(redis_client(), REDIS_POLICY, prefix=f"clamor-test-{uuid.uuid4().hex[:8]}")
    yield queue
    queue.clear()


@dataclass
class Harness:
    """A queue plus the two ways a test moves time on for it."""

    queue: Any
    kind: str
    fake_clock: FakeClock | None = None

    def make_retries_due(self) -> None:
        if self.fake_clock is not None:
            self.fake_clock.advance(self.queue.policy.max_delay_seconds + 1)
        else:
            members = self.queue.redis.zrange(self.queue.delayed, 0, -1)
            if members:
                self.queue.redis.zadd(self.queue.delayed, dict.fromkeys(members, 0))

    def expire_claims(self) -> None:
        if self.fake_clock is not None:
            self.fake_clock.advance(self.queue.policy.visibility_seconds + 1)
        else:
            time.sleep(self.queue.policy.visibility_seconds + 0.1)  # Redis measures idle time


@pytest.fixture(params=["table", "redis"])
def harness(request: pytest.FixtureRequest, db: Database) -> Iterator[Harness]:
    if request.param == "table":
        fake = FakeClock()
        yield Harness(TableQueue(db, POLICY, now=fake), "table", fake)
    else:
        yield Harness(request.getfixturevalue("redis_queue"), "redis")
