"""Deadlines for the incident's own steps, by level: how soon after the report it must be
assessed, instructed, answered in public and resolved, and how soon after resolution the review
report is due.

They feed the incident page (a clock per step), drills ("each step measured against the
deadlines") and the review report ("response times against the deadlines"). Level I counts
around the clock; the others count business hours. The figures are defaults, passed in as data
so that a company can set its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from clamor.core.errors import ConfigurationError
from clamor.workflow.calendar import BusinessCalendar, as_utc
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.playbooks import calendar_for_level


class Milestone(StrEnum):
    REPORTED = "reported"
    ASSESSED = "assessed"
    INSTRUCTED = "instructed"
    FIRST_STATEMENT = "first_statement"
    RESOLVED = "resolved"
    REVIEWED = "reviewed"


@dataclass(frozen=True)
class StepTarget:
    """`step` is due `within` (business time, or wall time for level I) after `since`."""

    step: Milestone
    since: Milestone
    within: timedelta

    def __post_init__(self) -> None:
        if self.step == self.since or self.within <= timedelta(0):
            raise ConfigurationError(f"bad step target for {self.step}")


def _targets(
    assess: float, instruct: float, statement: float | None, resolve: float, review: float
) -> tuple[StepTarget, ...]:
    hours = timedelta(hours=1)
    R, M = Milestone.REPORTED, Milestone
    targets = [
        StepTarget(M.ASSESSED, R, assess * hours),
        StepTarget(M.INSTRUCTED, R, instruct * hours),
        StepTarget(M.RESOLVED, R, resolve * hours),
        StepTarget(M.REVIEWED, M.RESOLVED, review * hours),
    ]
    if statement is not None:
        targets.insert(2, StepTarget(M.FIRST_STATEMENT, R, statement * hours))
    return tuple(targets)


# Level I in wall-clock hours; the others in business hours (9 a day). Levels III–IV need no
# public statement unless someone decides to publish one.
DEFAULT_STEP_TARGETS: Mapping[Level, tuple[StepTarget, ...]] = {
    Level.I: _targets(assess=1, instruct=2, statement=4, resolve=72, review=7 * 24),
    Level.II: _targets(assess=2, instruct=4, statement=9, resolve=45, review=45),
    Level.III: _targets(assess=4, instruct=9, statement=None, resolve=90, review=90),
    Level.IV: _targets(assess=9, instruct=18, statement=None, resolve=135, review=135),
}


@dataclass(frozen=True)
class StepResult:
    step: Milestone
    due_at: datetime | None  # None until the milestone it counts from has happened
    done_at: datetime | None
    taken: timedelta | None  # counted time from `since` to done (or to now while open)
    allowed: timedelta
    late: bool  # done after the due time, or still open past it


def step_results(
    level: Level,
    milestones: Mapping[Milestone, datetime],
    now: datetime,
    calendar: BusinessCalendar,
    targets: Mapping[Level, tuple[StepTarget, ...]] = DEFAULT_STEP_TARGETS,
) -> tuple[StepResult, ...]:
    """Each step of `level` against its deadline, given when the milestones happened."""
    clock = calendar_for_level(level, calendar)
    now = as_utc(now, "now")
    results = []
    for target in targets[level]:
        since = milestones.get(target.since)
        done = milestones.get(target.step)
        if since is None:
            results.append(StepResult(target.step, None, done, None, target.within, False))
            continue
        until = as_utc(done, target.step.value) if done is not None else now
        due_at = clock.add(since, target.within)
        results.append(
            StepResult(
                step=target.step,
                due_at=due_at,
                done_at=done,
                taken=max(clock.between(since, until), timedelta(0)),
                allowed=target.within,
                late=until > due_at,
            )
        )
    return tuple(results)
