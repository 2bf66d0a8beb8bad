"""The work queue: one interface (`Queue`), two back ends.

- `TableQueue`: a durable job table in the application's own database (the embedded default),
  claimed by a conditional UPDATE that must change exactly one row — works on SQLite and
  PostgreSQL alike.
- `RedisQueue`: Redis Streams with a consumer group, for any number of `clamor worker`
  processes on any number of machines.

Both deliver at least once: a job is acknowledged only after its handler committed, a claimed
job whose worker died is claimed again after the visibility timeout, a failing job is retried
with exponential back-off and parked with its error after `RetryPolicy.max_attempts`.
Handlers must therefore be idempotent.
"""

from clamor.queue.base import Job, ParkedJob, Queue, QueueStats, RetryPolicy, WorkerBeat

__all__ = ["Job", "ParkedJob", "Queue", "QueueStats", "RetryPolicy", "WorkerBeat", "open_queue"]


def open_queue(settings: object, db: object, policy: RetryPolicy | None = None) -> Queue:
    """The queue an installation uses: Redis Streams when `CLAMOR_REDIS_URL` is set, else the
    job table in its database."""
    redis_url = getattr(settings, "redis_url", None)
    if redis_url:
        from clamor.queue.redis_streams import RedisQueue

        return RedisQueue(redis_url, policy, prefix=getattr(settings, "redis_prefix", "clamor"))
    from clamor.queue.table import TableQueue

    return TableQueue(db, policy)  # type: ignore[arg-type]
