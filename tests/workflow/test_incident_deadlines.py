"""Incident step deadlines by level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clamor.core.errors import ConfigurationError
from clamor.workflow.calendar import BusinessCalendar
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.deadlines import (
    DEFAULT_STEP_TARGETS,
    Milestone,
    StepTarget,
    step_results,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()
M = Milestone


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def by_step(results):  # type: ignore[no-untyped-def]
    return {r.step: r for r in results}


def test_level_ii_on_business_hours() -> None:
    reported = cst(2025, 9, 30, 17)  # National Day follows
    results = by_step(
        step_results(
            Level.II,
            {M.REPORTED: reported, M.ASSESSED: cst(2025, 9, 30, 17, 30)},
            now=cst(2025, 10, 9, 11),
            calendar=CAL,
        )
    )
    assert results[M.ASSESSED].due_at == cst(2025, 10, 9, 10)
    assert not results[M.ASSESSED].late
    assert results[M.ASSESSED].taken == timedelta(minutes=30)
    assert results[M.INSTRUCTED].due_at == cst(2025, 10, 9, 12)
    assert not results[M.INSTRUCTED].late and results[M.INSTRUCTED].done_at is None
    assert results[M.FIRST_STATEMENT].due_at == cst(2025, 10, 9, 17)
    # The review counts from resolution, which has not happened.
    assert results[M.REVIEWED].due_at is None and not results[M.REVIEWED].late


def test_level_i_runs_around_the_clock_and_shows_lateness() -> None:
    reported = cst(2025, 10, 1, 22)
    results = by_step(
        step_results(
            Level.I,
            {M.REPORTED: reported, M.ASSESSED: cst(2025, 10, 2, 0, 30)},
            now=cst(2025, 10, 2, 3),
            calendar=CAL,
        )
    )
    assert results[M.ASSESSED].due_at == cst(2025, 10, 1, 23)
    assert results[M.ASSESSED].late
    assert results[M.INSTRUCTED].late  # still open, due at midnight
    assert results[M.FIRST_STATEMENT].due_at == cst(2025, 10, 2, 2)
    assert results[M.FIRST_STATEMENT].late
    assert not results[M.RESOLVED].late


def test_lateness_after_hours_when_no_business_time_passes() -> None:
    # Level IV: assessment due 9 business hours after a Monday 09:00 report, i.e. 18:00.
    results = by_step(
        step_results(Level.IV, {M.REPORTED: cst(2025, 6, 16, 9)}, cst(2025, 6, 16, 20), CAL)
    )
    assert results[M.ASSESSED].taken == timedelta(hours=9)
    assert results[M.ASSESSED].late


def test_minor_levels_need_no_statement() -> None:
    for level in (Level.III, Level.IV):
        assert M.FIRST_STATEMENT not in {t.step for t in DEFAULT_STEP_TARGETS[level]}
    for level in (Level.I, Level.II):
        assert M.FIRST_STATEMENT in {t.step for t in DEFAULT_STEP_TARGETS[level]}


def test_targets_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        StepTarget(M.ASSESSED, M.ASSESSED, timedelta(hours=1))
    with pytest.raises(ConfigurationError):
        StepTarget(M.ASSESSED, M.REPORTED, timedelta(0))


def test_docs_table_matches_the_defaults() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "workflow.md").read_text(encoding="utf-8")
    order = [M.ASSESSED, M.INSTRUCTED, M.FIRST_STATEMENT, M.RESOLVED, M.REVIEWED]
    for level, targets in DEFAULT_STEP_TARGETS.items():
        hours = {t.step: t.within / timedelta(hours=1) for t in targets}
        cells = [f"{hours[s]:g}" if s in hours else "—" for s in order]
        assert f"| {level} | {' | '.join(cells)} |" in doc
