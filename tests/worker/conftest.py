from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clamor.intake.service import ItemIn
from clamor.monitoring import demo
from clamor.monitoring.replay import load
from clamor.queue.redis_streams import RedisQueue
from tests.queue.conftest import redis_client


@pytest.fixture(scope="session")
def demo_items() -> list[ItemIn]:
    return load(Path(demo.STREAM)).items


@pytest.fixture
def redis_queue() -> Iterator[RedisQueue]:
    import uuid

    queue = RedisQueue(redis_client(), prefix=f"clamor-test-{uuid.uuid4().hex[:8]}")
    yield queue
    queue.clear()


def current_detector(db):  # type: ignore[no-untyped-def]
    """The detector as a fresh process would rebuild it: snapshot + journal replay."""
    from clamor.monitoring.pipeline import DetectorStore

    with db.write() as session:
        detector, _row = DetectorStore().load(session)
    return detector
