"""The worker loop: claim a few jobs, run each one's handler, acknowledge or fail it; now and
then beat the heart (so /metrics shows live workers) and run the scheduler tick.

Detection is not a job any worker may take: its state lives in the memory of one process. Each
loop tries to hold the detector lease (`clamor.queue.lease`); the holder, after its jobs, runs
detection on the inbox the analysis stage fills (`pipeline.detect_pending`), and claims with a
short wait so that it comes back to the inbox quickly. A worker that dies keeps the lease until
it runs out (`lease_seconds`); then another worker takes it over, rebuilds the state from the
snapshot and journal, and carries on. A worker that stops cleanly gives the lease up at once.

Used by `clamor worker` (one process per loop) and by `clamor serve`, which runs one loop in a
background thread over the embedded queue.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from concurrent import futures
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from clamor.core.config import Settings
from clamor.monitoring import pipeline
from clamor.queue.base import Job, Queue
from clamor.queue.lease import Lease, LeaseLost
from clamor.storage.database import Database
from clamor.worker.handlers import HANDLERS, Handler, PipelineContext, payload_item_ids, tick
from clamor.worker.pool import AnalysisPool, can_pool, default_processes

log = logging.getLogger("clamor.worker")


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_frozen = False


def freeze_startup_heap() -> None:
    """Move everything alive now into the cyclic GC's permanent generation (`gc.freeze`), once
    per process, after start-up (modules imported); it loads the analysis models first. Every
    serving process calls it: the app's lifespan (`clamor serve`, with or without the pipeline)
    and `clamor worker`.

    A long-lived worker holds hundreds of thousands of objects that never die (the analysis
    models, modules, compiled watch queries); every full collection would walk all of them again
    while the pipeline allocates and frees analysis dicts at a high rate. Frozen, they are no
    longer scanned: measured complaint batch intake 738 → 1,016 items/s. Objects created later
    (the detector's state included) are collected as usual; reference counting is unaffected.
    """
    global _frozen
    if _frozen:
        return
    _frozen = True
    from clamor.analysis import registry

    registry.preload()  # the models are start-up state too: loaded now, not on the first item
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()


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


@dataclass(frozen=True, slots=True)
class _Pooled:
    """A job handed to the analysis pool, until its result is acknowledged."""

    job: Job
    future: futures.Future[int]
    began: float
    generation: int  # of the pool's children that took it (see `AnalysisPool.generation`)


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
    lease_seconds: float = 15.0  # a dead detector owner is replaced after this long
    detect_wait: float = 0.2  # the lease holder's longest wait for a job
    detect_budget: float = 1.0  # seconds of detection per loop before claiming jobs again
    # With a pool, `analyse` jobs run in its child processes while this loop claims, detects
    # and acknowledges; without one, every job runs here.
    pool: AnalysisPool | None = None
    _in_flight: list[_Pooled] = field(default_factory=list)
    _last_beat: float = 0.0
    _last_tick: float = 0.0
    _last_lease_try: float = 0.0

    def __post_init__(self) -> None:
        if self.context.detect.lease is None:
            self.context.detect.lease = Lease(
                self.context.db, "detector", self.name, self.lease_seconds
            )

    @property
    def lease(self) -> Lease:
        assert self.context.detect.lease is not None
        return self.context.detect.lease

    def owns_detection(self) -> bool:
        """Hold (take, renew) the detector lease; tries to take it at most every half second."""
        now = time.monotonic()
        if not self.lease.held and now - self._last_lease_try < 0.5:
            return False
        self._last_lease_try = now
        try:
            return self.lease.acquire()
        except Exception:
            log.exception("detector lease: database error")
            return False

    def detect(self) -> int:
        """As the lease holder: detect what waits in the inbox, for up to `detect_budget` s."""
        counters = self.stages.setdefault(pipeline.DETECT, StageCounters())
        began = time.perf_counter()
        done = 0
        while True:
            started = time.perf_counter()
            try:
                items = pipeline.detect_pending(self.context.db, self.context.detect)
            except LeaseLost:
                log.warning("detector lease taken over; detection stops here")
                break
            except Exception as exc:
                counters.failures += 1
                log.warning(
                    "detection failed",
                    extra={"kind": pipeline.DETECT, "error": f"{type(exc).__name__}: {exc}",
                           "trace": traceback.format_exc(limit=5)},
                )  # fmt: skip
                break
            if not items:
                break
            elapsed = time.perf_counter() - started
            counters.jobs += 1
            counters.items += items
            counters.seconds += elapsed
            counters.last_latency = elapsed
            done += items
            if items < pipeline.DETECT_BATCH or time.perf_counter() - began > self.detect_budget:
                break
            if self.pool is not None:
                self._refill()  # the children must not run dry while this loop detects
        return done

    def run_once(self) -> int:
        """Claim and run up to `batch` jobs (and detect, as the lease holder); returns how many
        jobs and detected items were handled."""
        owner = self.owns_detection()
        if self.pool is not None:
            return self._run_once_pooled(owner)
        wait = min(self.wait, self.detect_wait) if owner else self.wait
        # The holder takes one job at a time, so that it is back at the inbox soon: detection
        # is the stage only it can run, analysis any worker can.
        limit = 1 if owner else self.batch
        jobs = self.context.queue.claim(self.name, limit, wait=wait)
        for job in jobs:
            self._run_job(job)
        detected = self.detect() if owner and self.lease.held else 0
        self._periodic()
        return len(jobs) + detected

    def _run_once_pooled(self, owner: bool) -> int:
        """One turn with the pool: hand `analyse` jobs to it (up to its capacity), run the
        other jobs here, detect, and acknowledge what the pool finished."""
        assert self.pool is not None
        # Busy children or a holder with detection to do: look, do not wait.
        idle = not self._in_flight
        wait = (min(self.wait, self.detect_wait) if owner else self.wait) if idle else 0.0
        handled, claimed = self._refill(wait)
        detected = self.detect() if owner and self.lease.held else 0
        handled += self._collect_pooled()
        if not claimed and not detected and not handled and self._in_flight:
            # Nothing to do but wait for a child: wake on the first one done (or soon, to
            # look at the queue and the inbox again).
            waiting = [pooled.future for pooled in self._in_flight]
            futures.wait(waiting, timeout=self.detect_wait, return_when=futures.FIRST_COMPLETED)
            handled += self._collect_pooled()
        self._periodic()
        return claimed + detected + handled

    def _refill(self, wait: float = 0.0) -> tuple[int, int]:
        """Acknowledge what the pool finished and claim jobs for its free places: `analyse` jobs
        go to the pool, others run here. Returns (jobs acknowledged, jobs claimed)."""
        assert self.pool is not None
        handled = self._collect_pooled()
        free = self.pool.capacity - len(self._in_flight)
        if free <= 0:
            return handled, 0
        jobs = self.context.queue.claim(self.name, free, wait=wait)
        for job in jobs:
            if job.kind == pipeline.ANALYSE:
                self._submit(job)
            else:
                self._run_job(job)
        return handled, len(jobs)

    def _submit(self, job: Job) -> None:
        assert self.pool is not None
        generation = self.pool.generation
        try:
            future = self.pool.submit(payload_item_ids(job.payload))
        except Exception as exc:  # a bad payload, or a pool that broke just now
            self._restart_pool_if_broken(exc, generation)
            self._failed(job, exc)
            return
        self._in_flight.append(_Pooled(job, future, time.perf_counter(), generation))

    def _collect_pooled(self, *, wait: bool = False) -> int:
        """Acknowledge (or fail) the pooled jobs that are done; with `wait`, all of them."""
        if wait and self._in_flight:
            futures.wait([pooled.future for pooled in self._in_flight])
        done = [pooled for pooled in self._in_flight if pooled.future.done()]
        if not done:
            return 0
        self._in_flight = [pooled for pooled in self._in_flight if not pooled.future.done()]
        for pooled in done:
            error = pooled.future.exception()
            if error is not None:
                self._restart_pool_if_broken(error, pooled.generation)
                self._failed(pooled.job, error)
                continue
            elapsed = time.perf_counter() - pooled.began
            self._succeeded(pooled.job, pooled.future.result(), elapsed)
        return len(done)

    @staticmethod
    def _pool_broken(error: BaseException) -> bool:
        return isinstance(error, futures.process.BrokenProcessPool)

    def _restart_pool_if_broken(self, error: BaseException, generation: int) -> None:
        """Replace the children after one died. Every job they held fails with the same error:
        only the first restarts them (the others belong to an older generation), and each is
        retried after the back-off, like any other failed job."""
        if self.pool is None or not self._pool_broken(error) or generation != self.pool.generation:
            return
        try:
            self.pool.restart_if_broken(error)
        except Exception:
            log.exception("analysis pool could not be restarted; analysing in this process")
            self.pool = None

    def _run_job(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        began = time.perf_counter()
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            items = handler(self.context, job.payload)
        except Exception as exc:
            self._failed(job, exc, trace=traceback.format_exc(limit=5))
            return
        self._succeeded(job, items, time.perf_counter() - began)

    def _succeeded(self, job: Job, items: int, elapsed: float) -> None:
        counters = self.stages.setdefault(job.kind, StageCounters())
        self.context.queue.ack(job)
        counters.jobs += 1
        counters.items += items
        counters.seconds += elapsed
        counters.last_latency = elapsed

    def _failed(self, job: Job, exc: BaseException, trace: str | None = None) -> None:
        counters = self.stages.setdefault(job.kind, StageCounters())
        counters.failures += 1
        error = f"{type(exc).__name__}: {exc}"
        if trace is None:  # an exception from a child: its traceback came along with it
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=5))
        parked = self.context.queue.fail(job, error)
        log.warning(
            "job failed",
            extra={
                "job_id": job.id,
                "kind": job.kind,
                "attempts": job.attempts,
                "parked": parked,
                "error": error,
                "trace": trace,
            },
        )

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
            if drain and handled == 0 and not self._in_flight:
                stats = self.context.queue.stats()
                if stats.ready + stats.claimed == 0 and not pipeline.pending_count(self.context.db):
                    break  # (jobs a dead worker still holds count as claimed: wait for them)
        try:
            self._collect_pooled(wait=True)  # acknowledge what the children are finishing
        except Exception:
            log.exception("could not acknowledge the analysis pool's last jobs")
        try:
            self.lease.release()  # a clean stop: another worker takes detection over at once
        except Exception:
            log.exception("detector lease: could not release")
        self.beat()


class PipelineThread:
    """The embedded pipeline of `clamor serve`: one worker loop in a daemon thread, with
    `processes` analysis processes (`pool.AnalysisPool`; 0: analysis in the thread too)."""

    def __init__(
        self, context: PipelineContext, name: str | None = None, processes: int = 0
    ) -> None:
        self.worker = Worker(context, name=name or f"{default_name()}:embedded")
        self.processes = processes if can_pool(context.db.url) else 0
        self.stop_event = threading.Event()
        # Set once the analysis processes have loaded their models (or there are none): until
        # then the machine's cores are busy starting them.
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="clamor-pipeline", daemon=True)

    def _run(self) -> None:
        # The children load their models here, in the pipeline's thread: the web app serves
        # meanwhile.
        if self.processes and not self.stop_event.is_set():
            try:
                self.worker.pool = AnalysisPool(self.worker.context.db.url, self.processes)
            except Exception:
                log.exception("analysis pool did not start; analysing in this process")
        self.ready.set()
        try:
            self.worker.run(self.stop_event)
        finally:
            pool, self.worker.pool = self.worker.pool, None
            if pool is not None:
                pool.close()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def embedded_pipeline(
    db: Database, queue: Queue, settings: Settings | None = None
) -> Callable[[Any], Any]:
    """A FastAPI lifespan that runs the pipeline in a thread while the app serves (the app's own
    lifespan settles the heap first)."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        processes = settings.analysis_processes if settings is not None else None
        runner = PipelineThread(
            PipelineContext(db, queue, settings=settings),
            processes=default_processes() if processes is None else processes,
        )
        app.state.pipeline = runner
        runner.start()
        try:
            yield
        finally:
            runner.stop()

    return lifespan
