"""Response-time metrics of incidents (plan §4, issue item 9), as pure functions over the
milestone timestamps: time to report (from opening) and to assess, instruct, first statement,
resolve and close (from the report), per level and category, and the quarter they fall in.

Drills never count: `summarise` leaves them out unless asked for drills only. Nothing here
reads a database or a clock; `service.metrics` and the quarterly summary feed it stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Protocol
from zoneinfo import ZoneInfo

from clamor.core.clock import LOCAL_ZONE

STEPS = ("report", "assess", "instruct", "first_statement", "resolve", "close")
ALL = "*"  # the level or category of a total row
_ENDS = {
    "assess": "assessed_at",
    "instruct": "instructed_at",
    "first_statement": "first_statement_at",
    "resolve": "resolved_at",
    "close": "closed_at",
}


class Timed(Protocol):
    """What an incident must carry (the stored `Incident` does)."""

    level: str | None
    category: str
    is_drill: bool
    opened_at: datetime
    reported_at: datetime | None
    assessed_at: datetime | None
    instructed_at: datetime | None
    first_statement_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


def step_hours(incident: Timed, step: str) -> float | None:
    """Wall-clock hours of one step, None when it has not happened (or would be negative)."""
    if step == "report":
        start, end = incident.opened_at, incident.reported_at
    elif step in _ENDS:
        start, end = incident.reported_at, getattr(incident, _ENDS[step])
    else:
        raise ValueError(f"unknown step {step!r}; use one of {', '.join(STEPS)}")
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 3600


@dataclass(frozen=True)
class StepFigure:
    count: int  # incidents that reached the step
    mean: float | None  # hours, rounded to 0.01
    median: float | None
    longest: float | None


@dataclass(frozen=True)
class MetricRow:
    level: str  # "I" … "IV", "—" when not assessed, ALL in a total row
    category: str  # risk category, ALL in a total row
    incidents: int
    steps: dict[str, StepFigure]

    @property
    def hours(self) -> dict[str, float | None]:
        """Mean hours per step (what the tables show)."""
        return {step: figure.mean for step, figure in self.steps.items()}


def _figure(values: Sequence[float]) -> StepFigure:
    if not values:
        return StepFigure(0, None, None, None)
    return StepFigure(
        len(values),
        round(sum(values) / len(values), 2),
        round(median(values), 2),
        round(max(values), 2),
    )


def _row(level: str, category: str, incidents: Sequence[Timed]) -> MetricRow:
    steps = {}
    for step in STEPS:
        values = [h for h in (step_hours(i, step) for i in incidents) if h is not None]
        steps[step] = _figure(values)
    return MetricRow(level, category, len(incidents), steps)


def _level_key(level: str) -> tuple[int, str]:
    order = {"I": 0, "II": 1, "III": 2, "IV": 3}
    return (order.get(level, 9), level)


def summarise(
    incidents: Iterable[Timed], *, drills: bool = False, totals: bool = False
) -> list[MetricRow]:
    """One row per (level, category), ordered I → IV then unassessed; real incidents only
    (or drills only, with `drills`). With `totals`, also a row per level (category ALL), per
    category (level ALL) and one for everything (ALL, ALL), after the detailed rows."""
    chosen = [i for i in incidents if bool(i.is_drill) == drills]
    groups: dict[tuple[str, str], list[Timed]] = {}
    for incident in chosen:
        groups.setdefault((incident.level or "—", incident.category), []).append(incident)
    rows = [
        _row(level, category, groups[(level, category)])
        for level, category in sorted(groups, key=lambda k: (_level_key(k[0]), k[1]))
    ]
    if not totals or not chosen:
        return rows
    levels = sorted({k[0] for k in groups}, key=_level_key)
    categories = sorted({k[1] for k in groups})
    for level in levels:
        rows.append(_row(level, ALL, [i for i in chosen if (i.level or "—") == level]))
    for category in categories:
        rows.append(_row(ALL, category, [i for i in chosen if i.category == category]))
    rows.append(_row(ALL, ALL, chosen))
    return rows


# --- quarters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  # 1 … 4

    def __post_init__(self) -> None:
        if self.number not in (1, 2, 3, 4):
            raise ValueError("quarter must be 1, 2, 3 or 4")
        if not 2000 <= self.year <= 2100:
            raise ValueError("year must be between 2000 and 2100")

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def bounds(self, zone: ZoneInfo = LOCAL_ZONE) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: local midnight of the first day of the quarter
        and of the next one."""
        start = datetime.combine(self.first_day, datetime.min.time(), zone)
        end = datetime.combine(self.next().first_day, datetime.min.time(), zone)
        return start, end

    def contains(self, moment: datetime, zone: ZoneInfo = LOCAL_ZONE) -> bool:
        start, end = self.bounds(zone)
        return start <= moment < end

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )


def quarter_of(moment: datetime, zone: ZoneInfo = LOCAL_ZONE) -> Quarter:
    local = moment.astimezone(zone)
    return Quarter(local.year, (local.month - 1) // 3 + 1)


@dataclass(frozen=True)
class QuarterlySummary:
    """The quarter's figures: incidents opened in it (real ones), how many by level, category
    and outcome, and the response times."""

    quarter: Quarter
    opened: int
    by_level: dict[str, int]
    by_category: dict[str, int]
    resolved: int  # of those opened in the quarter, resolved by now
    closed: int
    cancelled: int
    drills_left_out: int
    rows: list[MetricRow]


def quarterly(
    incidents: Iterable[Timed], quarter: Quarter, states: dict[int, str] | None = None
) -> QuarterlySummary:
    """Summarise the incidents opened in `quarter` (by local time). `states` (id → state),
    when given, counts cancelled ones; drills are counted only as left out."""
    inside = [i for i in incidents if quarter.contains(i.opened_at)]
    real = [i for i in inside if not i.is_drill]
    by_level: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for incident in real:
        level = incident.level or "—"
        by_level[level] = by_level.get(level, 0) + 1
        by_category[incident.category] = by_category.get(incident.category, 0) + 1
    cancelled = 0
    if states:
        cancelled = sum(1 for i in real if states.get(getattr(i, "id", -1)) == "cancelled")
    return QuarterlySummary(
        quarter=quarter,
        opened=len(real),
        by_level=dict(sorted(by_level.items(), key=lambda kv: _level_key(kv[0]))),
        by_category=dict(sorted(by_category.items())),
        resolved=sum(1 for i in real if i.resolved_at is not None),
        closed=sum(1 for i in real if i.closed_at is not None),
        cancelled=cancelled,
        drills_left_out=len(inside) - len(real),
        rows=summarise(real, totals=True),
    )
