"""`clamor worker`, `clamor replay`, `clamor watch`: the monitoring pipeline from the command line.

`register(app)` adds them to the main typer app.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from clamor.bootstrap import open_database
from clamor.core.config import load_settings
from clamor.core.errors import ValidationError
from clamor.core.principal import Principal

console = Console(stderr=True)
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: $CLAMOR_DATA_DIR, else ./clamor-data).",
        show_default=False,
    ),
]
watch_app = typer.Typer(
    help="Watch queries (brand, products, executives, competitors).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("replay")(replay)
    app.add_typer(watch_app, name="watch")


def worker(
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option(help="Worker name (default host:pid).")] = None,
    batch: Annotated[int, typer.Option(help="Jobs claimed at a time.")] = 4,
    drain: Annotated[
        bool, typer.Option("--drain", help="Exit once the queue is empty (batch runs, tests).")
    ] = False,
    visibility: Annotated[
        float,
        typer.Option(help="Seconds before a job a dead worker held is claimed again."),
    ] = 60.0,
    processes: Annotated[
        int,
        typer.Option(
            min=0,
            help="Analysis processes under this worker (0: analyse in the worker itself). One "
            "worker with N processes uses N cores with one queue consumer and one detector.",
        ),
    ] = 0,
) -> None:
    """Consume pipeline jobs (Redis Streams with CLAMOR_REDIS_URL, else the embedded table)."""
    from clamor.analysis import registry
    from clamor.queue import RetryPolicy, open_queue
    from clamor.worker import logs
    from clamor.worker.handlers import PipelineContext
    from clamor.worker.loop import Worker, default_name, freeze_startup_heap
    from clamor.worker.pool import AnalysisPool, can_pool

    settings = load_settings(data_dir)
    logs.configure(settings.log_json)
    registry.preload()  # load the models now, not on the first job
    db = open_database(settings)
    if processes and not can_pool(db.url):
        raise ValidationError(
            "--processes needs a database its processes can open (not an in-memory one)",
            field="processes",
        )
    queue = open_queue(settings, db, RetryPolicy(visibility_seconds=visibility))
    context = PipelineContext(db, queue, settings=settings)
    loop = Worker(context, name=name or default_name(), batch=batch)
    # Started before the heap is frozen: the children are spawned, they inherit nothing.
    loop.pool = AnalysisPool(db.url, processes) if processes else None
    freeze_startup_heap()  # after the models and modules: the GC stops rescanning them
    loop.beat()  # visible as up before its first job
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    backend = "redis" if settings.redis_url else "table"
    pooled = f", {processes} analysis processes" if processes else ""
    console.print(f"worker {loop.name} consuming the {backend} queue{pooled} (Ctrl+C to stop)")
    try:
        loop.run(stop, drain=drain)
    finally:
        if loop.pool is not None:
            loop.pool.close()
        db.dispose()


def replay(
    file: Annotated[
        Path, typer.Argument(help="JSONL posts, PHEME JSON (file or folder), airline or twcs CSV.")
    ],
    data_dir: DataDir = None,
    speed: Annotated[
        float, typer.Option(help="Seconds of stream time per second (0: as fast as possible).")
    ] = 60.0,
    keep_time: Annotated[
        bool, typer.Option("--keep-time", help="Keep the original timestamps instead of now.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Play only the first N posts.")] = None,
) -> None:
    """Play a timestamped file into intake as a live stream (demos, drills)."""
    from clamor.monitoring import replay as replaying
    from clamor.queue import open_queue

    if speed < 0:
        raise ValidationError("--speed must be 0 or more", field="speed")
    loaded = replaying.load(file)
    for problem in loaded.problems[:50]:
        print(f"skipped {problem}", file=sys.stderr)
    if len(loaded.problems) > 50:
        print(f"… and {len(loaded.problems) - 50} more bad lines", file=sys.stderr)
    items = loaded.items[:limit] if limit else loaded.items
    if not items:
        raise ValidationError(f"{file}: no playable posts", field="file")
    settings = load_settings(data_dir)
    db = open_database(settings)
    queue = open_queue(settings, db)
    sink = _ingest_sink(db, queue)
    console.print(
        f"replaying {len(items)} posts ({loaded.format}) at {speed:g}× "
        f"({len(loaded.problems)} bad lines skipped)"
    )
    played = replaying.play(items, speed, sink, rebase=not keep_time)
    console.print(
        f"played {played.items} posts in {played.wall_seconds:.1f} s "
        f"({played.stream_seconds / 3600:.1f} h of stream time)"
    )
    db.dispose()


def _ingest_sink(db, queue):  # type: ignore[no-untyped-def]
    from clamor.monitoring import pipeline

    def sink(batch) -> None:  # type: ignore[no-untyped-def]
        with db.write() as session:
            pipeline.ingest(session, queue, batch)

    return sink


def _cli_actor() -> Principal:
    from clamor.cli.main import cli_actor

    return cli_actor()


@watch_app.command("add")
def watch_add(
    name: str,
    query: str,
    data_dir: DataDir = None,
    kind: Annotated[
        str, typer.Option(help="brand, product, executive, competitor or other.")
    ] = "brand",
) -> None:
    """Add a watch query; a syntax error names the position."""
    from clamor.monitoring import service

    db = open_database(load_settings(data_dir))
    with db.write() as session:
        row = service.create_query(session, _cli_actor(), name, kind, query)
    console.print(f"watch query {row.name!r} saved (id {row.id})")


@watch_app.command("list")
def watch_list(data_dir: DataDir = None) -> None:
    """List the watch queries."""
    from clamor.monitoring import service

    db = open_database(load_settings(data_dir))
    with db.read() as session:
        for row in service.list_queries(session):
            state = "" if row.enabled else " (disabled)"
            print(f"{row.id}\t{row.kind}\t{row.name}{state}\t{row.query}")


def wait_for_queue(db, queue, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Poll until the queue is empty (used by the demo and benchmarks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = queue.stats()
        if stats.ready + stats.claimed == 0:
            return True
        time.sleep(0.2)
    return False


def start_demo_stream(settings, delay: float = 2.0) -> threading.Thread:  # type: ignore[no-untyped-def]
    """`clamor demo`: the demo's watch queries, and the demo stream replayed in the background
    (two hours of posts at 120×: a topic forms and an alert fires within the first minute)."""
    from clamor.monitoring import demo, service
    from clamor.monitoring import replay as replaying
    from clamor.queue import open_queue

    db = open_database(settings)
    with db.write() as session:
        if not service.list_queries(session):
            for name, kind, query in demo.QUERIES:
                service.create_query(session, _cli_actor(), name, kind, query)
    items = replaying.load(demo.STREAM).items
    queue = open_queue(settings, db)

    def run() -> None:
        time.sleep(delay)
        replaying.play(items, demo.SPEED, _ingest_sink(db, queue))

    thread = threading.Thread(target=run, name="clamor-demo-replay", daemon=True)
    thread.start()
    console.print(
        f"demo stream: {len(items)} posts (2 hours) replayed at {demo.SPEED:g}× — "
        "watch /monitoring: a topic forms and an alert fires within a minute"
    )
    return thread
