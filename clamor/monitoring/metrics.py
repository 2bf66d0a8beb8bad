"""`GET /metrics`: the pipeline in the Prometheus text format, so that an operator sees a stuck
or slow pipeline before a user does.

Queue depth and age come from the queue; per-stage counters (jobs, items, failures, handler
seconds) from the workers' heartbeats, so they cover every worker process on every machine;
items/s per stage is `rate(clamor_stage_items_total[1m])` in Prometheus (a since-start average is
given too), stage latency `rate(clamor_stage_seconds_total) / rate(clamor_stage_jobs_total)`.
Aggregate numbers only, no content: safe to expose to the scraper without a login.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import exists, func, select

from clamor.core import clock
from clamor.intake.models import Item
from clamor.monitoring import pipeline
from clamor.monitoring.api import app_queue
from clamor.monitoring.models import AlertRecord, Post
from clamor.queue.lease import current_holder
from clamor.web.deps import app_state

router = APIRouter(include_in_schema=False)
LEVELS = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}
WORKER_STALE_SECONDS = 60


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._declared: set[str] = set()

    def add(self, name: str, type_: str, help_text: str, value: float, **labels: str) -> None:
        if name not in self._declared:
            self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {type_}"]
            self._declared.add(name)
        rendered = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@router.get("/metrics")
def metrics(request: Request) -> PlainTextResponse:
    out = Exposition()
    queue = app_queue(request)
    stats = queue.stats()
    for state, value in (
        ("ready", stats.ready),
        ("claimed", stats.claimed),
        ("parked", stats.parked),
    ):
        out.add(
            "clamor_queue_jobs", "gauge", "Jobs in the work queue by state.", value, state=state
        )
    for kind, value in sorted(stats.by_kind.items()):
        out.add(
            "clamor_queue_jobs_by_kind", "gauge", "Jobs not yet done, by kind.", value, kind=kind
        )
    out.add(
        "clamor_queue_oldest_age_seconds", "gauge",
        "Age of the oldest job not yet acknowledged.", stats.oldest_age_seconds,
    )  # fmt: skip
    now = time.time()
    for beat in queue.workers():
        age = now - beat.last_seen.timestamp()
        out.add(
            "clamor_worker_heartbeat_age_seconds",
            "gauge",
            "Seconds since the worker's last heartbeat.",
            age,
            worker=beat.name,
        )
        out.add(
            "clamor_worker_up",
            "gauge",
            f"1 when the worker beat within {WORKER_STALE_SECONDS} s.",
            float(age < WORKER_STALE_SECONDS),
            worker=beat.name,
        )
        started = beat.counters.get("_started")
        for stage, c in sorted(beat.counters.items()):
            if stage.startswith("_") or not isinstance(c, dict):
                continue
            labels = {"worker": beat.name, "stage": stage}
            out.add(
                "clamor_stage_jobs_total",
                "counter",
                "Jobs a worker finished, per stage.",
                c.get("jobs", 0),
                **labels,
            )
            out.add(
                "clamor_stage_items_total",
                "counter",
                "Items a worker processed, per stage.",
                c.get("items", 0),
                **labels,
            )
            out.add(
                "clamor_stage_failures_total",
                "counter",
                "Jobs that failed, per stage.",
                c.get("failures", 0),
                **labels,
            )
            out.add(
                "clamor_stage_seconds_total",
                "counter",
                "Handler time spent, per stage.",
                c.get("seconds", 0.0),
                **labels,
            )
            out.add(
                "clamor_stage_last_latency_seconds",
                "gauge",
                "Handler time of the last job, per stage.",
                c.get("last_latency", 0.0),
                **labels,
            )
            if isinstance(started, int | float) and beat.last_seen.timestamp() > started:
                rate = c.get("items", 0) / (beat.last_seen.timestamp() - started)
                out.add(
                    "clamor_stage_items_per_second",
                    "gauge",
                    "Items per second since the worker started.",
                    rate,
                    **labels,
                )
    with app_state(request).db.read() as session:
        for level, count in session.execute(
            select(AlertRecord.level, func.count()).group_by(AlertRecord.level)
        ):
            out.add(
                "clamor_alerts_raised_total",
                "counter",
                "Alerts raised, by level.",
                count,
                level=LEVELS.get(level, str(level)),
            )
        items = session.scalar(select(func.count(Item.id))) or 0
        unanalysed = (
            session.scalar(select(func.count(Item.id)).where(Item.analysed_at.is_(None))) or 0
        )
        undetected = (
            session.scalar(
                select(func.count(Item.id)).where(
                    Item.analysed_at.is_not(None), ~exists().where(Post.item_id == Item.id)
                )
            )
            or 0
        )
    out.add("clamor_items_total", "counter", "Items stored by intake.", items)
    out.add(
        "clamor_items_parked",
        "gauge",
        "Items parked by a stage after failing every attempt (listed with the parked jobs).",
        pipeline.parked_item_count(app_state(request).db),
        stage="detect",
    )
    out.add(
        "clamor_items_waiting",
        "gauge",
        "Items stored but not through a stage yet.",
        unanalysed,
        stage="analyse",
    )
    out.add(
        "clamor_items_waiting",
        "gauge",
        "Items stored but not through a stage yet.",
        undetected,
        stage="detect",
    )
    holder, token, expires_at = current_holder(app_state(request).db, "detector")
    if holder is not None and expires_at is not None:
        left = (expires_at - clock.now()).total_seconds()
        out.add(
            "clamor_detector_lease_seconds_left",
            "gauge",
            "Seconds before the detector lease runs out unless its holder renews it (negative: "
            "its holder stopped renewing; another worker takes it over). Token: takeovers + 1.",
            round(left, 3),
            holder=holder,
            token=str(token),
        )
    return PlainTextResponse(out.text(), media_type="text/plain; version=0.0.4; charset=utf-8")
