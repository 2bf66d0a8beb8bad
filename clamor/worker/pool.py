"""A pool of analysis processes for one worker loop (`clamor serve`'s embedded pipeline).

Analysis is the pipeline's largest CPU cost, and it parallelises: items are analysed one by
one, with no shared state. In one Python process it competes for the GIL with the web app,
intake and detection. The pool moves it into child processes: each child runs exactly the
in-process stage (`pipeline.analyse`: read the batch, analyse it, write the analyses and the
detection inbox rows in one transaction) over its own database connection, and returns only how
many items it analysed — no texts or analyses cross the process boundary. Meanwhile the parent
keeps claiming jobs and detecting, so the analysis of batch N+1 overlaps the detection of
batch N.

Children are started with `spawn`, not `fork`: the parent has threads (the web server, the
pipeline loop) and open database connections, neither of which survives a fork safely. Each
child loads the models once, in its initializer, and freezes its start-up heap as every serving
process does.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

log = logging.getLogger("clamor.worker")

# Jobs in flight per child: one being analysed and two waiting, so that a child does not run
# dry while the parent is busy with a detection batch (it refills between batches).
JOBS_PER_PROCESS = 3
START_TIMEOUT_SECONDS = 180.0  # model loading on a busy machine

# -- the child side (module-level functions: `spawn` pickles them by name) ----------------------

_child: dict[str, Any] = {}


def _start_child(database_url: str, started: Any) -> None:
    # Ctrl+C reaches the whole process group: the parent stops the pool in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from clamor.monitoring.pipeline import WatchCache
    from clamor.storage.database import Database
    from clamor.worker.loop import freeze_startup_heap

    freeze_startup_heap()  # loads the models, then keeps the GC off them
    _child["db"] = Database(database_url)
    _child["watch"] = WatchCache()
    _child["started"] = started


def _ping() -> int:
    # Every child's ping waits for the others': the pings land on distinct children, so when
    # they all return, every child has loaded its models.
    _child["started"].wait(START_TIMEOUT_SECONDS)
    return os.getpid()


def _analyse(item_ids: list[int]) -> int:
    from clamor.monitoring import pipeline

    return pipeline.analyse(_child["db"], None, item_ids, _child["watch"])


# -- the parent side ----------------------------------------------------------------------------


def can_pool(database_url: str) -> bool:
    """Children need a database they can open themselves: not an in-memory SQLite one."""
    if not database_url.startswith("sqlite"):
        return True
    path = database_url.split("///", 1)[1] if "///" in database_url else ""
    return bool(path) and path != ":memory:" and "mode=memory" not in database_url


def default_processes() -> int:
    """As many children as CPUs, none on a single CPU (they would only take turns with the
    parent)."""
    cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(cpus, 8)


class AnalysisPool:
    def __init__(self, database_url: str, processes: int) -> None:
        if processes < 1:
            raise ValueError("an analysis pool needs at least one process")
        if not can_pool(database_url):
            raise ValueError("an in-memory database cannot be shared with child processes")
        self.database_url = database_url
        self.processes = processes
        self._pids: list[int] = []
        self.generation = 0  # children started so far: 0, then one more per restart
        self._executor = self._start()

    @property
    def capacity(self) -> int:
        """Jobs worth keeping in flight."""
        return self.processes * JOBS_PER_PROCESS

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start_child,
            initargs=(self.database_url, context.Barrier(self.processes)),
        )
        # Start every child now (the executor spawns one per submission until it has them all),
        # so that the first batches do not wait for model loading.
        pings = [executor.submit(_ping) for _ in range(self.processes)]
        self._pids = sorted(ping.result(timeout=START_TIMEOUT_SECONDS) for ping in pings)
        return executor

    def pids(self) -> list[int]:
        """The children's process ids (to measure their CPU time)."""
        return list(self._pids)

    def submit(self, item_ids: list[int]) -> Future[int]:
        """Analyse these items in a child (`pipeline.analyse`); the future gives how many were."""
        return self._executor.submit(_analyse, list(item_ids))

    def restart_if_broken(self, error: BaseException) -> bool:
        """After a child died (killed, out of memory), every pending future fails with
        `BrokenProcessPool` and the executor takes no more work: replace it. True if it did."""
        if not isinstance(error, BrokenProcessPool):
            return False
        log.warning("analysis pool broken (%s); starting new processes", error)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()
        self.generation += 1
        return True

    def close(self) -> None:
        """Finish what the children are doing and stop them."""
        self._executor.shutdown(wait=True, cancel_futures=True)
