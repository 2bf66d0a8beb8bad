"""The scaled-out back end: Redis Streams with one consumer group shared by every worker.

Keys (under a prefix, `clamor` by default):

    {prefix}:jobs        stream of jobs (fields kind, payload, failures, enqueued)
    {prefix}:delayed     sorted set of jobs waiting out a back-off, scored by when they are due
    {prefix}:parked      stream of parked jobs with their error
    {prefix}:heartbeats  hash worker → JSON {last_seen, counters}

A claim first moves due retries from `delayed` into the stream (one Lua script, atomic), then
takes back jobs another consumer left pending for longer than the visibility timeout
(XAUTOCLAIM: that worker crashed), then reads new ones (XREADGROUP). A job's attempts are its
failures so far plus its deliveries as this stream entry (XPENDING), so a job that kills its
worker every time is parked too. Acknowledged entries are deleted, so the stream holds only
work not yet done.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from clamor.queue.base import Job, ParkedJob, QueueStats, RetryPolicy, WorkerBeat

GROUP = "workers"
log = logging.getLogger("clamor.queue")

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local job = cjson.decode(member)
  redis.call('XADD', KEYS[2], '*', 'kind', job.kind, 'payload', job.payload,
             'failures', tostring(job.failures), 'enqueued', tostring(job.enqueued))
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class RedisQueue:
    def __init__(
        self,
        url_or_client: str | redis.Redis,
        policy: RetryPolicy | None = None,
        prefix: str = "clamor",
    ) -> None:
        self.redis = (
            redis.Redis.from_url(url_or_client, decode_responses=True)
            if isinstance(url_or_client, str)
            else url_or_client
        )
        self.policy = policy or RetryPolicy()
        self.prefix = prefix
        self.stream = f"{prefix}:jobs"
        self.delayed = f"{prefix}:delayed"
        self.parked_stream = f"{prefix}:parked"
        self.beats = f"{prefix}:heartbeats"
        self._promote = self.redis.register_script(_PROMOTE)
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # -- producing ------------------------------------------------------------------------------

    def _fields(self, kind: str, payload: dict[str, Any], failures: int, enqueued: float) -> dict:
        return {
            "kind": kind,
            "payload": json.dumps(payload, ensure_ascii=False),
            "failures": str(failures),
            "enqueued": repr(enqueued),
        }

    def enqueue(
        self, kind: str, payload: dict[str, Any], *, session: Session | None = None
    ) -> None:
        fields = self._fields(kind, payload, 0, time.time())
        if session is None:
            self.redis.xadd(self.stream, fields)
            return

        # Only once the items the job names are committed: a worker must be able to see them.
        def add_after_commit(_session: Session) -> None:
            try:
                self.redis.xadd(self.stream, fields)
            except redis.RedisError:
                # The items are stored; the pipeline's sweep finds and enqueues them again.
                log.warning("Redis unavailable: job %s left to the sweep", kind, exc_info=True)

        event.listen(session, "after_commit", add_after_commit, once=True)

    # -- consuming ------------------------------------------------------------------------------

    def claim(self, consumer: str, limit: int = 10, wait: float = 0.0) -> list[Job]:
        try:
            return self._claim(consumer, limit, wait)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # Redis restarted empty: recreate the group, try again
            return self._claim(consumer, limit, wait)

    def _claim(self, consumer: str, limit: int, wait: float) -> list[Job]:
        self._ensure_group()
        self._promote(keys=[self.delayed, self.stream], args=[repr(time.time()), 1000])
        jobs = self._reclaim(consumer, limit)
        if len(jobs) < limit:
            answer = self.redis.xreadgroup(
                GROUP,
                consumer,
                {self.stream: ">"},
                count=limit - len(jobs),
                block=int(wait * 1000) if wait > 0 else None,
            )
            for _stream, entries in answer or []:
                for entry_id, fields in entries:
                    if fields:
                        jobs.append(self._job(entry_id, fields, deliveries=1))
        return jobs

    def _reclaim(self, consumer: str, limit: int) -> list[Job]:
        idle_ms = int(self.policy.visibility_seconds * 1000)
        _next, entries, _deleted = self.redis.xautoclaim(
            self.stream, GROUP, consumer, idle_ms, start_id="0-0", count=limit
        )
        jobs = []
        for entry_id, fields in entries:
            if not fields:
                continue
            pending = self.redis.xpending_range(self.stream, GROUP, entry_id, entry_id, 1)
            deliveries = pending[0]["times_delivered"] if pending else 1
            job = self._job(entry_id, fields, deliveries)
            if job.attempts > self.policy.max_attempts:
                self._park(
                    job,
                    f"delivered {job.attempts} times and never acknowledged "
                    "(its worker crashed or timed out every time)",
                )
                continue
            jobs.append(job)
        return jobs

    def _job(self, entry_id: str, fields: dict[str, str], deliveries: int) -> Job:
        return Job(
            entry_id,
            fields["kind"],
            json.loads(fields["payload"]),
            int(fields.get("failures", "0")) + deliveries,
            _at(float(fields.get("enqueued", "0"))),
        )

    def ack(self, job: Job) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.stream, GROUP, job.id)
        pipe.xdel(self.stream, job.id)
        pipe.execute()

    def fail(self, job: Job, error: str) -> bool:
        if job.attempts >= self.policy.max_attempts:
            self._park(job, error)
            return True
        member = json.dumps(
            {
                "kind": job.kind,
                "payload": json.dumps(job.payload, ensure_ascii=False),
                "failures": job.attempts,
                "enqueued": job.enqueued_at.timestamp(),
                "nonce": uuid.uuid4().hex,
            }
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self.delayed, {member: time.time() + self.policy.delay(job.attempts)})
        pipe.xack(self.stream, GROUP, job.id)
        pipe.xdel(self.stream, job.id)
        pipe.execute()
        return False

    def _park(self, job: Job, error: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(
            self.parked_stream,
            {
                "kind": job.kind,
                "payload": json.dumps(job.payload, ensure_ascii=False),
                "attempts": str(job.attempts),
                "error": error[:4000],
                "parked_at": repr(time.time()),
                "enqueued": repr(job.enqueued_at.timestamp()),
            },
        )
        pipe.xack(self.stream, GROUP, job.id)
        pipe.xdel(self.stream, job.id)
        pipe.execute()

    # -- parked jobs ----------------------------------------------------------------------------

    def parked(self, limit: int = 100) -> Sequence[ParkedJob]:
        entries = self.redis.xrevrange(self.parked_stream, count=limit)
        return [
            ParkedJob(
                entry_id,
                f["kind"],
                json.loads(f["payload"]),
                int(f["attempts"]),
                f["error"],
                _at(float(f["parked_at"])),
            )
            for entry_id, f in entries
        ]

    def requeue_parked(self, job_id: str) -> bool:
        entries = self.redis.xrange(self.parked_stream, job_id, job_id)
        if not entries:
            return False
        fields = entries[0][1]
        if not self.redis.xdel(self.parked_stream, job_id):
            return False  # someone else requeued or discarded it just now
        self.redis.xadd(
            self.stream, self._fields(fields["kind"], json.loads(fields["payload"]), 0, time.time())
        )
        return True

    def discard_parked(self, job_id: str) -> bool:
        return bool(self.redis.xdel(self.parked_stream, job_id))

    # -- observing ------------------------------------------------------------------------------

    def stats(self) -> QueueStats:
        self._ensure_group()
        group = next((g for g in self.redis.xinfo_groups(self.stream) if g["name"] == GROUP), None)
        claimed = int(group["pending"]) if group else 0
        lag = int(group.get("lag") or 0) if group else 0
        delayed = int(self.redis.zcard(self.delayed))
        parked = int(self.redis.xlen(self.parked_stream))
        oldest = self.redis.xrange(self.stream, count=1)
        age = 0.0
        if oldest:
            age = max(0.0, time.time() - float(oldest[0][1].get("enqueued", time.time())))
        by_kind: dict[str, int] = {}
        for _entry_id, fields in self.redis.xrange(self.stream, count=10_000):
            by_kind[fields["kind"]] = by_kind.get(fields["kind"], 0) + 1
        return QueueStats(lag + delayed, claimed, parked, age, by_kind)

    def heartbeat(self, worker: str, counters: dict[str, Any]) -> None:
        self.redis.hset(
            self.beats, worker, json.dumps({"last_seen": time.time(), "counters": counters})
        )

    def workers(self) -> Sequence[WorkerBeat]:
        beats = []
        for name, raw in sorted(self.redis.hgetall(self.beats).items()):
            value = json.loads(raw)
            beats.append(WorkerBeat(name, _at(value["last_seen"]), value["counters"]))
        return beats

    def clear(self) -> None:
        """Delete every key of this queue (tests, and `clamor worker --reset-queue`)."""
        self.redis.delete(self.stream, self.delayed, self.parked_stream, self.beats)
        self._group_ready = False
