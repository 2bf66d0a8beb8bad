"""The worker loop: claim a few jobs, run each one's handler, acknowledge or fail it; now and
then beat the heart (so /metrics shows live workers) and run the scheduler tick.

Used by `clamor worker` (one process per loop) and by `clamor serve`, which runs one loop in a
background thread over the embedded queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from clamor.queue.base import Queue
from clamor.storage.database import Database
from clamor.worker.handlers import HANDLERS, Handler, PipelineContext, tick

log = logging.getLogger("clamor.worker")


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class StageCounters:
    jobs: int = 0
    items: int = 0
    failures: int = 0
    seconds: float = 0.0  # summed handler time
    last_latency: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "items": self.items,
            "failures": self.failures,
            "seconds": round(self.seconds, 6),
            "last_latency": round(self.last_latency, 6),
        }


@dataclass
class Worker:
    context: PipelineContext
    name: str = field(default_factory=default_name)
    handlers: dict[str, Handler] = field(default_factory=lambda: dict(HANDLERS))
    batch: int = 4
    wait: float = 1.0
    heartbeat_seconds: float = 5.0
    tick_seconds: float = 30.0
    stages: dict[str, StageCounters] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    _last_beat: float = 0.0
    _last_tick: float = 0.0

    def run_once(self) -> int:
        """Claim and run up to `batch` jobs; returns how many were handled."""
        jobs = self.context.queue.claim(self.name, self.batch, wait=self.wait)
        for job in jobs:
            counters = self.stages.setdefault(job.kind, StageCounters())
            handler = self.handlers.get(job.kind)
            began = time.perf_counter()
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                items = handler(self.context, job.payload)
            except Exception as exc:
                counters.failures += 1
                error = f"{type(exc).__name__}: {exc}"
                parked = self.context.queue.fail(job, error)
                log.warning(
                    "job failed",
                    extra={
                        "job_id": job.id,
                        "kind": job.kind,
                        "attempts": job.attempts,
                        "parked": parked,
                        "error": error,
                        "trace": traceback.format_exc(limit=5),
                    },
                )
                continue
            elapsed = time.perf_counter() - began
            self.context.queue.ack(job)
            counters.jobs += 1
            counters.items += items
            counters.seconds += elapsed
            counters.last_latency = elapsed
        self._periodic()
        return len(jobs)

    def _periodic(self) -> None:
        now = time.time()
        if now - self._last_beat >= self.heartbeat_seconds:
            self.beat()
        if self.tick_seconds and now - self._last_tick >= self.tick_seconds:
            self._last_tick = now
            try:
                done = tick(self.context)
                if any(done.values()):
                    log.info("scheduler tick", extra=done)
            except Exception:
                log.exception("scheduler tick failed")

    def beat(self) -> None:
        self._last_beat = time.time()
        counters = {kind: c.as_dict() for kind, c in self.stages.items()}
        counters["_started"] = self.started  # type: ignore[assignment]
        try:
            self.context.queue.heartbeat(self.name, counters)
        except Exception:
            log.exception("heartbeat failed")

    def run(self, stop: threading.Event, *, drain: bool = False) -> None:
        """Loop until `stop` is set (or, with `drain`, until the queue is empty)."""
        failures_in_a_row = 0
        while not stop.is_set():
            try:
                handled = self.run_once()
                failures_in_a_row = 0
            except Exception:  # the queue itself is unreachable (Redis restarting, DB down)
                failures_in_a_row += 1
                log.exception("worker loop error; retrying")
                stop.wait(min(30.0, 0.5 * 2**failures_in_a_row))
                continue
            if drain and handled == 0:
                stats = self.context.queue.stats()
                if stats.ready + stats.claimed == 0:
                    break  # (jobs a dead worker still holds count as claimed: wait for them)
        self.beat()


class PipelineThread:
    """The embedded pipeline of `clamor serve`: one worker loop in a daemon thread."""

    def __init__(self, context: PipelineContext, name: str | None = None) -> None:
        self.worker = Worker(context, name=name or f"{default_name()}:embedded")
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="clamor-pipeline", daemon=True)

    def _run(self) -> None:
        self.worker.run(self.stop_event)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def embedded_pipeline(db: Database, queue: Queue) -> Callable[[Any], Any]:
    """A FastAPI lifespan that runs the pipeline in a thread while the app serves."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        runner = PipelineThread(PipelineContext(db, queue))
        runner.start()
        try:
            yield
        finally:
            runner.stop()

    return lifespan
