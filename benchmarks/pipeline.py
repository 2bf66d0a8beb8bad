"""End-to-end pipeline benchmark: intake → analysis → detection (topics, bursts, alerts).

    python benchmarks/pipeline.py            full run, prints a table
    python benchmarks/pipeline.py --quick    a smaller run (< 1 min per configuration)
    python benchmarks/pipeline.py --json     the figures as one JSON object on the last line

Configurations:
- embedded: SQLite and the job table, one process (the intake and one worker thread), as
  `clamor serve` runs it;
- PostgreSQL + Redis Streams with 1 and with 2 `clamor worker` processes, and 1 worker with
  analysis processes (`clamor worker --processes N`).

Two phases per configuration, on a fresh database:
1. throughput: the airline, customer-support and PHEME tweets (in time order) are stored as fast
   as intake takes them while the workers run; items/s = items / (first stored → last detected);
   items per CPU second: the same items over the CPU time the pipeline used (the worker
   processes; embedded: the one process, intake included) — on a shared machine, wall time
   counts other people's work too;
2. latency: the demo stream (clamor/monitoring/demo/stream.jsonl: 2 h of posts with the
   germanwings event) replayed at a constant pace; per item, arrival → detection committed
   (p50, p95), and per alert, the arrival of the item that raised it → the alert stored.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text

from clamor.analysis import registry
from clamor.audit import service as audit
from clamor.intake.models import Item
from clamor.intake.service import ItemIn
from clamor.migrations import upgrade
from clamor.monitoring import demo, pipeline
from clamor.monitoring.models import AlertRecord, Post
from clamor.monitoring.replay import load, play
from clamor.queue.redis_streams import RedisQueue
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from clamor.worker.handlers import PipelineContext
from clamor.worker.loop import PipelineThread, freeze_startup_heap
from clamor.worker.pool import default_processes

DATA = Path(os.environ.get("CLAMOR_SHARED_DATA", "/work/shared/data"))
POSTGRES = os.environ.get("CLAMOR_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS = os.environ.get("CLAMOR_BENCH_REDIS", "redis://127.0.0.1:6379/12")
SECRET = "benchmark-secret"


def stream(limit: int) -> list[ItemIn]:
    items: list[ItemIn] = []
    for path in (
        DATA / "twitter_us_airline" / "Tweets.csv",
        DATA / "twcs_customer_support" / "raw_head_sample" / "twcs.csv",
        DATA / "pheme_source_tweets",
    ):
        items += load(path).items
    unique = {(i.source, i.external_id): i for i in items}
    ordered = sorted(unique.values(), key=lambda i: (i.published_at, i.external_id))
    return ordered[:limit]


def ingest(db: Database, queue, items: list[ItemIn], batch: int = 200) -> None:
    for start in range(0, len(items), batch):
        with db.write() as session:
            pipeline.ingest(session, queue, items[start : start + batch])


def wait_detected(db: Database, expected: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        with db.read() as session:
            done = session.scalar(select(func.count(Post.item_id))) or 0
        if done >= expected:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {expected} items detected in {timeout:.0f} s")
        time.sleep(0.05)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency_phase(db: Database, queue, speed: float) -> dict:
    items = [replace(i, external_id=f"lat-{i.external_id}") for i in load(demo.STREAM).items]
    with db.read() as session:
        before = session.scalar(select(func.count(Post.item_id))) or 0
        alerts_before = session.scalar(select(func.max(AlertRecord.id))) or 0

    def sink(batch: list[ItemIn]) -> None:
        with db.write() as session:
            pipeline.ingest(session, queue, batch)

    play(items, speed, sink, batch_size=50, rebase=False)  # stream time: within the first phase
    wait_detected(db, before + len(items), timeout=300)
    with db.read() as session:
        rows = session.execute(
            select(Item.received_at, Post.detected_at)
            .join(Post, Post.item_id == Item.id)
            .where(Item.external_id.like("lat-%"))
        ).all()
        alerts = session.execute(
            select(AlertRecord.raised_at, Item.received_at)
            .join(Item, Item.id == AlertRecord.first_item_id)
            .where(AlertRecord.id > alerts_before)
        ).all()
    item_latency = [(d - r).total_seconds() for r, d in rows]
    alert_latency = [(raised - received).total_seconds() for raised, received in alerts]
    return {
        "latency_items": len(item_latency),
        "item_p50_s": round(statistics.median(item_latency), 3) if item_latency else None,
        "item_p95_s": _round(percentile(item_latency, 0.95)),
        "alerts": len(alert_latency),
        "alert_p95_s": _round(percentile(alert_latency, 0.95)),
        "alert_max_s": _round(max(alert_latency) if alert_latency else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def embedded(items: list[ItemIn], speed: float, processes: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/bench.db")
        upgrade(db.engine)
        queue = TableQueue(db)
        # As `clamor serve` runs it: the worker loop in a thread, analysis in `processes` child
        # processes (started, models loaded, before the clock starts).
        runner = PipelineThread(PipelineContext(db, queue), name="embedded", processes=processes)
        runner.worker.wait = 0.05
        runner.worker.tick_seconds = 0
        runner.start()
        wait_pool_ready(runner)
        children = pool_pids(runner)
        started = time.perf_counter()
        cpu_started = time.process_time()
        children_before = [process_cpu(pid) for pid in children]
        ingest(db, queue, items)
        ended = wait_detected(db, len(items), timeout=3600)
        own_cpu = time.process_time() - cpu_started
        children_cpu = [process_cpu(p) - b for p, b in zip(children, children_before, strict=True)]
        cpu = own_cpu + sum(children_cpu)
        result = {
            "items": len(items),
            "processes": runner.processes,
            "items_per_s": round(len(items) / (ended - started), 1),
        }
        # CPU time (intake + pipeline: the process and its analysis children): the machine is
        # shared, wall time is not.
        result["items_per_cpu_s"] = round(len(items) / cpu, 1) if cpu else None
        result["cpu_s"] = {  # the process (intake, claims, detection) and its analysis children
            "process": round(own_cpu, 2),
            "children": [round(c, 2) for c in children_cpu],
        }
        result["stages"] = {
            kind: {"jobs": c.jobs, "items": c.items, "failures": c.failures}
            for kind, c in runner.worker.stages.items()
        }
        result.update(latency_phase(db, queue, speed))
        runner.stop(timeout=60)
        db.dispose()
    return result


def wait_pool_ready(runner: PipelineThread, timeout: float = 300.0) -> None:
    """The pipeline thread starts its pool first: wait until it runs (or gave up on it)."""
    deadline = time.monotonic() + timeout
    while runner.processes and runner.worker.pool is None and time.monotonic() < deadline:
        if not runner.thread.is_alive():
            raise RuntimeError("the pipeline thread stopped")
        time.sleep(0.05)


def pool_pids(runner: PipelineThread) -> list[int]:
    pool = runner.worker.pool
    return pool.pids() if pool is not None else []


def scaled(items: list[ItemIn], workers: int, speed: float, analysis_processes: int = 0) -> dict:
    """`workers` `clamor worker` processes, each with `analysis_processes` of its own."""
    name = f"clamor_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES}/{name}"
    prefix = f"clamor-bench-{uuid.uuid4().hex[:8]}"  # other runs may share the Redis database
    queue = RedisQueue(REDIS, prefix=prefix)
    processes: list[subprocess.Popen] = []
    db = Database(url)
    try:
        upgrade(db.engine)
        env = {
            **os.environ,
            "CLAMOR_DATABASE_URL": url,
            "CLAMOR_REDIS_URL": REDIS,
            "CLAMOR_REDIS_PREFIX": prefix,
            "CLAMOR_SECRET_KEY": SECRET,
            "CLAMOR_DATA_DIR": tempfile.gettempdir(),
        }
        for n in range(workers):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        "from clamor.cli.main import run; run()",
                        "worker",
                        "--name",
                        f"bench-{n}",
                        "--processes",
                        str(analysis_processes),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 120
        while len(queue.workers()) < workers:  # started, models loaded, heartbeat sent
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.2)
        started = time.perf_counter()
        cpu_before = [tree_cpu(p.pid) for p in processes]
        ingest(db, queue, items)
        ended = wait_detected(db, len(items), timeout=3600)
        cpu = [tree_cpu(p.pid) - before for p, before in zip(processes, cpu_before, strict=True)]
        result = {"items": len(items), "items_per_s": round(len(items) / (ended - started), 1)}
        # Worker CPU time (intake, in this process, not counted): wall time on a shared machine
        # counts other people's work too; items per worker-CPU second does not.
        result["items_per_cpu_s"] = round(len(items) / sum(cpu), 1) if sum(cpu) else None
        result["worker_cpu_s"] = [round(c, 2) for c in cpu]
        result["stages_by_worker"] = {
            beat.name: {
                kind: counters["items"]
                for kind, counters in beat.counters.items()
                if kind in (pipeline.ANALYSE, pipeline.DETECT)
            }
            for beat in queue.workers()
        }
        result.update(latency_phase(db, queue, speed))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        db.dispose()
        queue.clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return result


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its living descendants (a worker's analysis processes)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    total = 0.0
    for member in tree:
        try:
            total += process_cpu(member)
        except OSError:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (< 1 min each)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--items", type=int, help="items in the throughput phase")
    parser.add_argument("--only", choices=["embedded", "scaled"], help="one kind of setup")
    parser.add_argument(
        "--processes",
        type=int,
        default=default_processes(),
        help="embedded: analysis processes (0: all in one process); default: as clamor serve",
    )
    args = parser.parse_args()
    audit.configure(b"benchmark")
    registry.preload()
    freeze_startup_heap()  # as `clamor serve` and `clamor worker` do after start-up
    count = args.items or (1500 if args.quick else 10_000)
    speed = 600.0 if args.quick else 240.0
    items = stream(count)
    report: dict = {"mode": "quick" if args.quick else "full", "cpus": os.cpu_count()}
    runs = {}
    if args.only in (None, "embedded"):
        runs[f"embedded SQLite, {args.processes} analysis proc."] = embedded(
            items, speed, args.processes
        )
    if args.only in (None, "scaled"):
        for workers in (1, 2):
            runs[f"PostgreSQL + Redis, {workers} worker(s)"] = scaled(items, workers, speed)
        pooled = max(2, args.processes)
        runs[f"PostgreSQL + Redis, 1 worker + {pooled} proc."] = scaled(
            items, 1, speed, analysis_processes=pooled
        )
    report["runs"] = runs
    report["latency_stream"] = f"demo stream at {speed:g}x"
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    print(f"{'setup':<40}{'items':>7}{'items/s':>9}{'per CPU s':>10}{'item p50':>10}"
          f"{'item p95':>10}{'alerts':>8}{'alert p95':>11}")  # fmt: skip
    for name, run in runs.items():
        print(
            f"{name:<40}{run['items']:>7}{run['items_per_s']:>9}{run['items_per_cpu_s']:>10}"
            f"{_s(run['item_p50_s']):>10}{_s(run['item_p95_s']):>10}{run['alerts']:>8}"
            f"{_s(run['alert_p95_s']):>11}"
        )
    for name, run in runs.items():
        if "stages_by_worker" in run:
            print(
                f"{name}: items per worker {run['stages_by_worker']}, CPU s {run['worker_cpu_s']}"
            )
    print(f"latency phase: {report['latency_stream']}; {report['cpus']} CPUs")


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    main()
