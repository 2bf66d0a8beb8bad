"""Response-time metrics as pure functions over fixed timestamps: time to report, assess,
instruct, first statement, resolve and close, per level and category; totals; quarters in
local time; drills never counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from clamor.workflow.incidents.metrics import (
    ALL,
    STEPS,
    Quarter,
    quarter_of,
    quarterly,
    step_hours,
    summarise,
)

T0 = datetime(2026, 2, 2, 1, 0, tzinfo=UTC)


@dataclass
class Fake:
    id: int
    level: str | None
    category: str
    opened_at: datetime
    is_drill: bool = False
    reported_at: datetime | None = None
    assessed_at: datetime | None = None
    instructed_at: datetime | None = None
    first_statement_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def full(id: int, level: str, category: str, scale: float = 1.0, **extra) -> Fake:
    """Reported 0.5 h after opening; then assess 1 h, instruct 2 h, statement 3 h, resolve
    10 h and close 20 h after the report (times `scale`)."""
    reported = T0 + hours(0.5 * scale)
    return Fake(
        id,
        level,
        category,
        T0,
        reported_at=reported,
        assessed_at=reported + hours(1 * scale),
        instructed_at=reported + hours(2 * scale),
        first_statement_at=reported + hours(3 * scale),
        resolved_at=reported + hours(10 * scale),
        closed_at=reported + hours(20 * scale),
        **extra,
    )


def test_step_hours_from_opening_and_from_the_report() -> None:
    incident = full(1, "II", "data_privacy")
    assert [step_hours(incident, s) for s in STEPS] == [0.5, 1.0, 2.0, 3.0, 10.0, 20.0]
    young = Fake(2, None, "other", T0)
    assert all(step_hours(young, s) is None for s in STEPS)
    with pytest.raises(ValueError):
        step_hours(incident, "lunch")


def test_summarise_per_level_and_category_mean_median_and_totals_drills_left_out() -> None:
    incidents = [
        full(1, "II", "data_privacy"),
        full(2, "II", "data_privacy", scale=3.0),
        full(3, "IV", "service_attitude"),
        Fake(4, None, "other", T0),  # opened, not yet reported
        full(5, "I", "data_privacy", scale=100.0, is_drill=True),
    ]
    rows = summarise(incidents)
    assert [(r.level, r.category, r.incidents) for r in rows] == [
        ("II", "data_privacy", 2),
        ("IV", "service_attitude", 1),
        ("—", "other", 1),
    ]
    major = rows[0]
    assert major.hours == {
        "report": 1.0,
        "assess": 2.0,
        "instruct": 4.0,
        "first_statement": 6.0,
        "resolve": 20.0,
        "close": 40.0,
    }
    assert major.steps["close"].median == 40.0 and major.steps["close"].longest == 60.0
    assert rows[2].steps["report"].count == 0 and rows[2].hours["report"] is None

    with_totals = summarise(incidents, totals=True)
    totals = {(r.level, r.category): r for r in with_totals[3:]}
    assert set(totals) == {
        ("II", ALL),
        ("IV", ALL),
        ("—", ALL),
        (ALL, "data_privacy"),
        (ALL, "other"),
        (ALL, "service_attitude"),
        (ALL, ALL),
    }
    everything = totals[(ALL, ALL)]
    assert everything.incidents == 4
    assert everything.steps["report"].count == 3
    assert everything.hours["report"] == round((0.5 + 1.5 + 0.5) / 3, 2)

    (drill,) = summarise(incidents, drills=True)
    assert (drill.level, drill.incidents, drill.hours["report"]) == ("I", 1, 50.0)


def test_quarters_follow_local_time() -> None:
    q1 = Quarter(2026, 1)
    start, end = q1.bounds()
    assert start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    assert end == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert (q1.first_day.isoformat(), q1.last_day.isoformat()) == ("2026-01-01", "2026-03-31")
    assert quarter_of(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == Quarter(2026, 2)
    assert quarter_of(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == Quarter(2026, 1)
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2026, 3).label == "2026-Q3"
    with pytest.raises(ValueError):
        Quarter(2026, 5)


def test_quarterly_summary_counts_what_opened_in_the_quarter_and_leaves_drills_out() -> None:
    incidents = [
        full(1, "II", "data_privacy"),
        full(2, "IV", "service_attitude"),
        Fake(3, "III", "product_quality", T0),
        full(4, "I", "data_privacy", is_drill=True),
        full(5, "II", "data_privacy"),
    ]
    incidents[4].opened_at = datetime(2026, 4, 2, tzinfo=UTC)  # next quarter
    summary = quarterly(incidents, Quarter(2026, 1), {1: "closed", 2: "closed", 3: "cancelled"})
    assert summary.opened == 3 and summary.drills_left_out == 1
    assert summary.by_level == {"II": 1, "III": 1, "IV": 1}
    assert summary.by_category == {
        "data_privacy": 1,
        "product_quality": 1,
        "service_attitude": 1,
    }
    assert (summary.resolved, summary.closed, summary.cancelled) == (2, 2, 1)
    assert summary.rows[-1].level == ALL and summary.rows[-1].incidents == 3
