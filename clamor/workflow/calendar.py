"""Business calendar: working hours, weekends, Chinese public holidays and make-up workdays.

All inputs and outputs are timezone-aware datetimes, returned in UTC; the calendar converts to
its own timezone (default Asia/Shanghai) only to decide which hours are working hours.

Holidays come from the `chinesecalendar` package, which ships the State Council's schedule for a
fixed range of years (`HOLIDAY_DATA_YEARS`). Outside that range the calendar falls back to plain
weekends — a deadline is still computed, but `coverage_warning(year)` says it may be wrong, so the
UI can show it and an admin can add the year's dates as `extra_holidays` / `extra_workdays`.

A `twenty_four_seven()` calendar counts every hour of every day (red-level incidents).

Pauses (e.g. a case awaiting the customer) are given as `Pause(start, end)` intervals; `end=None`
means the pause is still open. `elapsed_with_pauses` and `due_with_pauses` exclude them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from clamor.core.errors import ConfigurationError, ValidationError

DEFAULT_TIMEZONE = "Asia/Shanghai"
ZERO = timedelta(0)

# The years chinesecalendar has official schedules for (the package raises outside them).
HOLIDAY_DATA_YEARS: tuple[int, int] = (
    min(chinese_calendar.holidays).year,
    max(chinese_calendar.holidays).year,
)

# A calendar whose working days never come would make add_business_time loop forever.
_MAX_IDLE_DAYS = 3 * 366
_ONE_DAY = timedelta(days=1)


def coverage_warning(year: int) -> str | None:
    """A warning when Chinese public holidays are unknown for `year`, else None."""
    first, last = HOLIDAY_DATA_YEARS
    if first <= year <= last:
        return None
    return (
        f"Chinese public holidays are known for {first}–{last} only; in {year} deadlines count "
        "weekends but no public holidays or make-up workdays. Update chinesecalendar or add "
        "the year's dates to the calendar settings."
    )


@dataclass(frozen=True)
class WorkingHours:
    """The hours of a working day, in the calendar's local time; the lunch break is optional."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    lunch: tuple[time, time] | None = None

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ConfigurationError(f"working hours must start before they end: {self}")
        if self.lunch is not None:
            lunch_start, lunch_end = self.lunch
            if not self.start < lunch_start < lunch_end < self.end:
                raise ConfigurationError("the lunch break must lie inside the working hours")

    def periods(self) -> tuple[tuple[time, time], ...]:
        if self.lunch is None:
            return ((self.start, self.end),)
        return ((self.start, self.lunch[0]), (self.lunch[1], self.end))

    def length(self) -> timedelta:
        """Working time in one working day."""
        anchor = date(2000, 1, 3)
        return sum(
            (datetime.combine(anchor, b) - datetime.combine(anchor, a) for a, b in self.periods()),
            ZERO,
        )


STANDARD_LUNCH = (time(12, 0), time(13, 30))


@dataclass(frozen=True)
class Pause:
    """An interval in which an SLA clock does not run; `end=None` means still paused."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        start = as_utc(self.start, "pause_start")
        if self.end is not None and as_utc(self.end, "pause_end") < start:
            raise ValidationError.keyed("error.workflow.pause_ends_before_start", field="pause_end")


@dataclass(frozen=True)
class BusinessCalendar:
    """Which instants count as working time. Immutable; build one per configuration."""

    timezone: str = DEFAULT_TIMEZONE
    hours: WorkingHours = field(default_factory=WorkingHours)
    chinese_holidays: bool = True
    always_open: bool = False
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError) as error:
            raise ConfigurationError(f"unknown timezone {self.timezone!r}") from error
        both = self.extra_holidays & self.extra_workdays
        if both:
            raise ConfigurationError(f"dates both holiday and workday: {sorted(both)}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # -- days ------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if self.always_open or day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        weekday = day.weekday() < 5
        if self.chinese_holidays and coverage_warning(day.year) is None:
            # Same rule as chinese_calendar.is_workday, without its per-call range scan.
            if day in chinese_calendar.workdays:
                return True
            return weekday and day not in chinese_calendar.holidays
        return weekday

    def coverage_warning(self, year: int) -> str | None:
        """Like the module function, but silent for calendars that do not use Chinese holidays."""
        if self.always_open or not self.chinese_holidays:
            return None
        return coverage_warning(year)

    def workday_length(self) -> timedelta:
        return timedelta(days=1) if self.always_open else self.hours.length()

    def business_days(self, count: float) -> timedelta:
        """`count` working days expressed as business time (9 h each by default)."""
        return self.workday_length() * count

    # -- intervals -------------------------------------------------------------------------

    def working_periods(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working periods of a local calendar day, as UTC intervals."""
        return _working_periods(self, day)

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    # -- arithmetic ------------------------------------------------------------------------
    # A day's working periods lie inside that local day, so whole days between the first and
    # the last can be counted by their (cached) length without looking at the periods.

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of working time after `start` (UTC).

        A zero duration returns `start` itself; a positive one ends inside a working period, or
        exactly at its end (a deadline of 18:00 rather than 09:00 the next working day).
        """
        start = as_utc(start, "start")
        if duration < ZERO:
            raise ValidationError.keyed("error.workflow.negative_duration", field="duration")
        if self.always_open or duration == ZERO:
            return start + duration
        remaining = duration
        first_day = day = self._local_day(start)
        idle_days = 0
        while True:
            length = _day_length(self, day)
            if day > first_day and remaining > length:
                remaining -= length  # the whole day is used up
            else:
                for period_start, period_end in self.working_periods(day):
                    if period_end <= start:
                        continue
                    begin = max(start, period_start)
                    if remaining <= period_end - begin:
                        return begin + remaining
                    remaining -= period_end - begin
            idle_days = 0 if length else idle_days + 1
            if idle_days > _MAX_IDLE_DAYS:
                raise ConfigurationError(
                    f"the calendar has no working time for {_MAX_IDLE_DAYS} days after {day}"
                )
            day += _ONE_DAY

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from `a` to `b`; negative when `b` is before `a`."""
        a, b = as_utc(a, "a"), as_utc(b, "b")
        if b < a:
            return -self.between(b, a)
        if self.always_open:
            return b - a
        first_day, last_day = self._local_day(a), self._local_day(b)
        total = ZERO
        day = first_day
        while day <= last_day:
            if first_day < day < last_day:
                total += _day_length(self, day)
            else:
                for period_start, period_end in self.working_periods(day):
                    overlap = min(b, period_end) - max(a, period_start)
                    if overlap > ZERO:
                        total += overlap
            day += _ONE_DAY
        return total

    # -- SLA clocks that pause -------------------------------------------------------------

    def elapsed_with_pauses(
        self, start: datetime, now: datetime, pauses: Iterable[Pause] = ()
    ) -> timedelta:
        """Working time from `start` to `now`, not counting the paused intervals."""
        start, now = as_utc(start, "start"), as_utc(now, "now")
        if now <= start:
            return ZERO
        elapsed = self.between(start, now)
        for pause_start, pause_end in merge_pauses(pauses, start, now):
            elapsed -= self.between(pause_start, pause_end)
        return elapsed

    def due_with_pauses(
        self, start: datetime, budget: timedelta, pauses: Iterable[Pause] = ()
    ) -> datetime | None:
        """When `budget` of unpaused working time since `start` runs out.

        None while an open pause holds the clock before the budget is used: the due time is
        unknown until the pause ends.
        """
        start = as_utc(start, "start")
        cursor, remaining = start, budget
        for pause in sorted(pauses, key=lambda p: as_utc(p.start, "pause_start")):
            pause_start = max(as_utc(pause.start, "pause_start"), start)
            if pause.end is not None and as_utc(pause.end, "pause_end") <= cursor:
                continue
            if pause_start > cursor:
                candidate = self.add(cursor, remaining)
                if candidate <= pause_start:
                    return candidate
                remaining -= self.between(cursor, pause_start)
            if pause.end is None:
                return None
            cursor = max(cursor, as_utc(pause.end, "pause_end"))
        return self.add(cursor, remaining)


# Deadlines are computed over the same few hundred days again and again (every scheduler tick,
# every inbox page): caching a day's periods makes SLA evaluation several times faster.
@lru_cache(maxsize=16_384)
def _working_periods(
    calendar: BusinessCalendar, day: date
) -> tuple[tuple[datetime, datetime], ...]:
    if not calendar.is_working_day(day):
        return ()
    zone = calendar.zone
    if calendar.always_open:
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return ((start.astimezone(UTC), end.astimezone(UTC)),)
    return tuple(
        (
            datetime.combine(day, a, tzinfo=zone).astimezone(UTC),
            datetime.combine(day, b, tzinfo=zone).astimezone(UTC),
        )
        for a, b in calendar.hours.periods()
    )


@lru_cache(maxsize=16_384)
def _day_length(calendar: BusinessCalendar, day: date) -> timedelta:
    return sum((end - start for start, end in _working_periods(calendar, day)), ZERO)


def twenty_four_seven(timezone: str = DEFAULT_TIMEZONE) -> BusinessCalendar:
    """A calendar in which every hour counts: for red-level (I) incidents."""
    return BusinessCalendar(timezone=timezone, always_open=True, chinese_holidays=False)


def as_utc(value: datetime, name: str) -> datetime:
    """`value` in UTC; naive datetimes are refused because their meaning is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.keyed("error.workflow.naive_datetime", field=name)
    return value.astimezone(UTC)


def merge_pauses(
    pauses: Iterable[Pause], window_start: datetime, window_end: datetime
) -> list[tuple[datetime, datetime]]:
    """Pauses clipped to the window and merged where they overlap; open pauses end at the window."""
    clipped: list[tuple[datetime, datetime]] = []
    for pause in pauses:
        start = max(as_utc(pause.start, "pause_start"), window_start)
        end = window_end if pause.end is None else min(as_utc(pause.end, "pause_end"), window_end)
        if start < end:
            clipped.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(clipped):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_DEFAULT = BusinessCalendar()


def add_business_time(
    start: datetime, duration: timedelta, calendar: BusinessCalendar = _DEFAULT
) -> datetime:
    """`calendar.add`, on the default calendar unless another is given."""
    return calendar.add(start, duration)


def business_time_between(
    a: datetime, b: datetime, calendar: BusinessCalendar = _DEFAULT
) -> timedelta:
    """`calendar.between`, on the default calendar unless another is given."""
    return calendar.between(a, b)
