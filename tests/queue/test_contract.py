"""The queue contract, run against the table back end (SQLite, PostgreSQL) and Redis Streams."""

from __future__ import annotations

import threading
import time

from clamor.intake.models import Item
from clamor.storage.database import Database
from tests.queue.conftest import Harness


def test_enqueue_claim_ack(harness: Harness) -> None:
    queue = harness.queue
    for n in range(3):
        queue.enqueue("analyse", {"item_ids": [n], "note": "舆情"})
    jobs = queue.claim("w1", limit=10)
    assert [job.payload["item_ids"] for job in jobs] == [[0], [1], [2]]
    assert {job.kind for job in jobs} == {"analyse"}
    assert [job.attempts for job in jobs] == [1, 1, 1]
    assert jobs[0].payload["note"] == "舆情"
    assert queue.claim("w2", limit=10) == []  # claimed jobs are not handed out twice
    stats = queue.stats()
    assert (stats.ready, stats.claimed, stats.by_kind) == (0, 3, {"analyse": 3})
    for job in jobs:
        queue.ack(job)
    stats = queue.stats()
    assert (stats.ready, stats.claimed, stats.parked, stats.oldest_age_seconds) == (0, 0, 0, 0)


def test_claim_respects_the_limit_and_order(harness: Harness) -> None:
    for n in range(5):
        harness.queue.enqueue("detect", {"n": n})
    first = harness.queue.claim("w1", limit=2)
    second = harness.queue.claim("w1", limit=10)
    assert [j.payload["n"] for j in first] == [0, 1]
    assert [j.payload["n"] for j in second] == [2, 3, 4]


def test_enqueue_with_a_session_follows_its_transaction(harness: Harness, db: Database) -> None:
    queue = harness.queue
    with db.write() as session:
        queue.enqueue("analyse", {"kept": True}, session=session)
    try:
        with db.write() as session:
            queue.enqueue("analyse", {"kept": False}, session=session)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    jobs = queue.claim("w1", limit=10)
    assert [job.payload for job in jobs] == [{"kept": True}]
    with db.read() as session:  # the session was a real one: nothing else leaked into it
        assert session.query(Item).count() == 0


def test_failed_job_is_retried_after_a_back_off(harness: Harness) -> None:
    queue = harness.queue
    queue.enqueue("analyse", {"x": 1})
    [job] = queue.claim("w1")
    assert queue.fail(job, "ValueError: boom") is False
    assert queue.claim("w1") == []  # waiting out the back-off (30 s)
    assert queue.stats().ready == 1
    harness.make_retries_due()
    [again] = queue.claim("w1")
    assert again.payload == {"x": 1} and again.attempts == 2


def test_poison_job_is_parked_with_its_error_and_can_be_requeued(harness: Harness) -> None:
    queue = harness.queue
    queue.enqueue("detect", {"poison": True})
    for attempt in range(1, queue.policy.max_attempts + 1):
        [job] = queue.claim("w1")
        assert job.attempts == attempt
        parked = queue.fail(job, f"KeyError: attempt {attempt}")
        assert parked is (attempt == queue.policy.max_attempts)
        harness.make_retries_due()
    assert queue.claim("w1") == []
    [parked_job] = queue.parked()
    assert parked_job.payload == {"poison": True}
    assert parked_job.error == f"KeyError: attempt {queue.policy.max_attempts}"
    assert parked_job.attempts == queue.policy.max_attempts
    assert queue.stats().parked == 1
    assert queue.requeue_parked(parked_job.id) is True
    assert queue.requeue_parked(parked_job.id) is False
    [fresh] = queue.claim("w1")
    assert fresh.payload == {"poison": True} and fresh.attempts == 1
    queue.fail(fresh, "again")
    harness.make_retries_due()
    [job] = queue.claim("w1")
    queue.fail(job, "again")
    harness.make_retries_due()
    [job] = queue.claim("w1")
    queue.fail(job, "for good")
    [parked_again] = queue.parked()
    assert queue.discard_parked(parked_again.id) is True
    assert queue.parked() == [] and queue.stats().parked == 0


def test_a_dead_workers_job_is_claimed_again_after_the_visibility_timeout(
    harness: Harness,
) -> None:
    queue = harness.queue
    queue.enqueue("analyse", {"x": 1})
    [_job] = queue.claim("crashed-worker")
    assert queue.claim("w2") == []
    harness.expire_claims()
    [again] = queue.claim("w2")
    assert again.payload == {"x": 1} and again.attempts == 2
    queue.ack(again)
    assert queue.stats().claimed == 0


def test_a_job_that_kills_every_worker_is_parked(harness: Harness) -> None:
    queue = harness.queue
    queue.enqueue("analyse", {"kills": "workers"})
    for _ in range(queue.policy.max_attempts):
        assert len(queue.claim("doomed")) == 1  # claimed, never acknowledged
        harness.expire_claims()
    assert queue.claim("w2") == []
    [parked] = queue.parked()
    assert parked.payload == {"kills": "workers"}
    assert "never acknowledged" in parked.error


def test_concurrent_consumers_never_share_a_job(harness: Harness) -> None:
    queue = harness.queue
    for n in range(120):
        queue.enqueue("analyse", {"n": n})
    seen: list[int] = []
    lock = threading.Lock()

    def consume(name: str) -> None:
        while True:
            jobs = queue.claim(name, limit=7)
            if not jobs:
                return
            for job in jobs:
                queue.ack(job)
            with lock:
                seen.extend(job.payload["n"] for job in jobs)

    threads = [threading.Thread(target=consume, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(120))


def test_heartbeats_are_kept_per_worker(harness: Harness) -> None:
    queue = harness.queue
    queue.heartbeat("w1", {"analyse": {"items": 3}})
    queue.heartbeat("w2", {})
    queue.heartbeat("w1", {"analyse": {"items": 5}})
    beats = {beat.name: beat for beat in queue.workers()}
    assert set(beats) == {"w1", "w2"}
    assert beats["w1"].counters == {"analyse": {"items": 5}}
    assert beats["w1"].last_seen.tzinfo is not None


def test_oldest_age_is_reported(harness: Harness) -> None:
    queue = harness.queue
    queue.enqueue("analyse", {})
    if harness.fake_clock is not None:
        harness.fake_clock.advance(42)
        assert 41 <= queue.stats().oldest_age_seconds <= 43
    else:
        time.sleep(0.2)
        assert queue.stats().oldest_age_seconds >= 0.2
