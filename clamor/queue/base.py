"""The queue's contract, shared by both back ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a job is tried and how long to wait between tries."""

    max_attempts: int = 5
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 300.0
    visibility_seconds: float = 60.0  # a claimed job not acknowledged by then is claimed again

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed try (1, 2, …): exponential, capped."""
        return min(self.max_delay_seconds, self.base_delay_seconds * 2 ** max(0, attempts - 1))


@dataclass(frozen=True, slots=True)
class Job:
    id: str  # back-end specific: a row id, or a stream entry id
    kind: str
    payload: dict[str, Any]
    attempts: int  # deliveries so far, this one included
    enqueued_at: datetime


@dataclass(frozen=True, slots=True)
class ParkedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    error: str
    parked_at: datetime


@dataclass(frozen=True, slots=True)
class QueueStats:
    ready: int  # waiting to be claimed (includes jobs waiting out a back-off)
    claimed: int  # being worked on
    parked: int
    oldest_age_seconds: float  # of the oldest job not yet acknowledged; 0 when empty
    by_kind: dict[str, int] = field(default_factory=dict)  # ready + claimed, per kind


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    name: str
    last_seen: datetime
    counters: dict[str, Any]


class Queue(Protocol):
    """What the pipeline needs from a queue."""

    policy: RetryPolicy

    def enqueue(
        self, kind: str, payload: dict[str, Any], *, session: Session | None = None
    ) -> None:
        """Add a job. With `session`, the job becomes visible only if that transaction commits
        (the table back end writes it in the same transaction; Redis adds it after commit)."""

    def claim(self, consumer: str, limit: int = 10, wait: float = 0.0) -> list[Job]:
        """Up to `limit` jobs for `consumer`: new ones, due retries, and jobs whose claim
        expired (their worker died). Waits up to `wait` seconds for one when there is none."""

    def ack(self, job: Job) -> None:
        """The job is done; it will not be delivered again."""

    def fail(self, job: Job, error: str) -> bool:
        """The job failed: retry after a back-off, or park it when out of attempts.
        Returns True when parked."""

    def parked(self, limit: int = 100) -> Sequence[ParkedJob]: ...

    def requeue_parked(self, job_id: str) -> bool:
        """Give a parked job a fresh set of attempts; False when no such parked job."""

    def discard_parked(self, job_id: str) -> bool: ...

    def stats(self) -> QueueStats: ...

    def heartbeat(self, worker: str, counters: dict[str, Any]) -> None: ...

    def workers(self) -> Sequence[WorkerBeat]: ...
