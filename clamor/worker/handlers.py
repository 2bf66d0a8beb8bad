"""The whole pipeline in one place: which job kind runs which stage, and what it enqueues next.

    intake (API, webhook, replay, feed poll)
      └─ stores items, enqueues ─► analyse {item_ids}
                                    └─ records analyses, enqueues ─► detect {item_ids}
                                                                      └─ posts, topics, alerts
    scheduler tick (every worker, idempotent)
      ├─ due feeds ──────────────► poll_feed {source_id} ─► stores items, enqueues analyse
      └─ sweep: items a lost queue forgot ─► analyse / detect

Every handler is idempotent (at-least-once delivery) and returns how many items it processed.
A handler that raises has its job retried with back-off and, after the last attempt, parked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clamor.monitoring import feeds, pipeline
from clamor.queue.base import Queue
from clamor.storage.database import Database


@dataclass
class PipelineContext:
    db: Database
    queue: Queue
    detect: pipeline.DetectContext = field(
        default_factory=lambda: pipeline.DetectContext(
            pipeline.DetectorStore(), pipeline.WatchCache()
        )
    )
    fetcher: feeds.Fetcher = field(default_factory=feeds.Fetcher)
    sweep_after_seconds: float = 120.0  # work older than this with no job is enqueued again


Handler = Callable[[PipelineContext, dict[str, Any]], int]


def _item_ids(payload: dict[str, Any]) -> list[int]:
    ids = payload.get("item_ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ValueError(f"payload.item_ids must be a list of integers, got {ids!r}")
    return ids


def analyse(context: PipelineContext, payload: dict[str, Any]) -> int:
    return pipeline.analyse(context.db, context.queue, _item_ids(payload))


def detect(context: PipelineContext, payload: dict[str, Any]) -> int:
    return pipeline.detect(context.db, context.detect, _item_ids(payload))


def poll_feed(context: PipelineContext, payload: dict[str, Any]) -> int:
    source_id = payload.get("source_id")
    if not isinstance(source_id, int):
        raise ValueError(f"payload.source_id must be an integer, got {source_id!r}")
    return feeds.poll_source(context.db, context.queue, context.fetcher, source_id)


HANDLERS: dict[str, Handler] = {
    pipeline.ANALYSE: analyse,
    pipeline.DETECT: detect,
    feeds.POLL_FEED: poll_feed,
}


def tick(context: PipelineContext) -> dict[str, int]:
    """The scheduler's periodic work; safe to run in every worker at once."""
    due = feeds.enqueue_due_polls(context.db, context.queue)
    swept = pipeline.sweep(context.db, context.queue, context.sweep_after_seconds)
    return {"feeds_due": due, **{f"swept_{k}": v for k, v in swept.items()}}
