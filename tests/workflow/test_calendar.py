"""Business calendar: fixed dates across weekends, holidays and make-up workdays; properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clamor.core.errors import ConfigurationError, ValidationError
from clamor.workflow.calendar import (
    HOLIDAY_DATA_YEARS,
    STANDARD_LUNCH,
    BusinessCalendar,
    Pause,
    WorkingHours,
    add_business_time,
    business_time_between,
    coverage_warning,
    twenty_four_seven,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()
H = timedelta(hours=1)


def cst(*args: int) -> datetime:
    """A China Standard Time instant, as the aware UTC datetime the calendar works in."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def test_results_are_utc() -> None:
    due = add_business_time(cst(2025, 6, 16, 10), 2 * H)
    assert due.tzinfo is UTC
    assert due == datetime(2025, 6, 16, 4, tzinfo=UTC)  # 12:00 in Shanghai


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        add_business_time(datetime(2025, 6, 16, 10), H)
    assert error.value.field == "start"


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValidationError):
        add_business_time(cst(2025, 6, 16, 10), -H)


def test_across_a_weekend() -> None:
    # Friday 13 June 2025, 17:00 + 2 h: one hour on Friday, one on Monday.
    assert add_business_time(cst(2025, 6, 13, 17), 2 * H) == cst(2025, 6, 16, 10)
    assert business_time_between(cst(2025, 6, 13, 17), cst(2025, 6, 16, 10)) == 2 * H


def test_start_outside_hours_begins_at_next_opening() -> None:
    assert add_business_time(cst(2025, 6, 14, 23), H) == cst(2025, 6, 16, 10)  # Saturday night
    assert add_business_time(cst(2025, 6, 16, 7), H) == cst(2025, 6, 16, 10)  # Monday morning


def test_deadline_lands_at_closing_time_not_next_morning() -> None:
    assert add_business_time(cst(2025, 6, 16, 9), 9 * H) == cst(2025, 6, 16, 18)


def test_national_day_2025_holiday_and_make_up_days() -> None:
    # 1–8 October 2025 are off; Sunday 28 September and Saturday 11 October are worked.
    assert add_business_time(cst(2025, 9, 30, 17), 2 * H) == cst(2025, 10, 9, 10)
    assert add_business_time(cst(2025, 9, 27, 17), 2 * H) == cst(2025, 9, 28, 11)
    assert add_business_time(cst(2025, 10, 10, 17), 2 * H) == cst(2025, 10, 11, 10)
    assert business_time_between(cst(2025, 9, 30, 9), cst(2025, 10, 9, 18)) == 18 * H
    assert CAL.is_working_day(date(2025, 9, 28))
    assert not CAL.is_working_day(date(2025, 10, 6))


def test_spring_festival_2026() -> None:
    # chinesecalendar 1.11: 15–23 February 2026 off; Saturdays 14 and 28 February worked.
    assert add_business_time(cst(2026, 2, 13, 17), 2 * H) == cst(2026, 2, 14, 10)
    assert add_business_time(cst(2026, 2, 14, 17), 2 * H) == cst(2026, 2, 24, 10)
    assert add_business_time(cst(2026, 2, 27, 17), 2 * H) == cst(2026, 2, 28, 10)
    off = [d for d in range(14, 29) if not CAL.is_working_day(date(2026, 2, d))]
    assert off == [15, 16, 17, 18, 19, 20, 21, 22, 23]


def test_lunch_break_is_not_working_time() -> None:
    cal = BusinessCalendar(hours=WorkingHours(lunch=STANDARD_LUNCH))
    assert cal.add(cst(2025, 6, 16, 11), 2 * H) == cst(2025, 6, 16, 14, 30)
    assert cal.between(cst(2025, 6, 16, 9), cst(2025, 6, 16, 18)) == timedelta(hours=7.5)
    assert cal.workday_length() == timedelta(hours=7.5)


def test_custom_hours_and_timezone() -> None:
    cal = BusinessCalendar(timezone="Europe/Berlin", hours=WorkingHours(time(8), time(16)))
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2025, 6, 13, 15, tzinfo=berlin)  # a Friday
    assert cal.add(start, 2 * H) == datetime(2025, 6, 16, 9, tzinfo=berlin)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        WorkingHours(time(18), time(9))
    with pytest.raises(ConfigurationError):
        WorkingHours(lunch=(time(8), time(10)))
    with pytest.raises(ConfigurationError):
        BusinessCalendar(timezone="Mars/Olympus")


def test_coverage_warning_beyond_the_library() -> None:
    first, last = HOLIDAY_DATA_YEARS
    assert first <= 2025 < 2026 <= last
    assert coverage_warning(last) is None
    warning = coverage_warning(last + 1)
    assert warning is not None and str(last + 1) in warning
    assert twenty_four_seven().coverage_warning(last + 1) is None


def test_fallback_to_weekends_beyond_coverage() -> None:
    year = HOLIDAY_DATA_YEARS[1] + 1
    monday = next(date(year, 10, d) for d in range(1, 8) if date(year, 10, d).weekday() == 0)
    assert CAL.is_working_day(monday)  # National Day unknown: plain weekday
    assert not CAL.is_working_day(monday + timedelta(days=5))  # Saturday


def test_extra_holidays_and_workdays_override() -> None:
    cal = BusinessCalendar(
        extra_holidays=frozenset({date(2025, 6, 16)}),
        extra_workdays=frozenset({date(2025, 6, 14)}),
    )
    assert cal.add(cst(2025, 6, 13, 17), 2 * H) == cst(2025, 6, 14, 10)
    assert cal.add(cst(2025, 6, 14, 17), 2 * H) == cst(2025, 6, 17, 10)
    with pytest.raises(ConfigurationError):
        BusinessCalendar(
            extra_holidays=frozenset({date(2025, 6, 16)}),
            extra_workdays=frozenset({date(2025, 6, 16)}),
        )


def test_twenty_four_seven_counts_every_hour() -> None:
    cal = twenty_four_seven()
    assert cal.add(cst(2025, 9, 30, 17), 48 * H) == cst(2025, 10, 2, 17)
    assert cal.between(cst(2025, 10, 1), cst(2025, 10, 8)) == timedelta(days=7)


def test_between_is_signed() -> None:
    assert business_time_between(cst(2025, 6, 16, 12), cst(2025, 6, 16, 10)) == -2 * H


def test_pause_excludes_time_and_moves_the_due_time() -> None:
    start = cst(2025, 6, 16, 9)
    pauses = [Pause(cst(2025, 6, 16, 10), cst(2025, 6, 16, 14))]
    assert CAL.elapsed_with_pauses(start, cst(2025, 6, 16, 15), pauses) == 2 * H
    assert CAL.due_with_pauses(start, 3 * H, pauses) == cst(2025, 6, 16, 16)
    # Without the pause the budget would run out at noon.
    assert CAL.due_with_pauses(start, 3 * H) == cst(2025, 6, 16, 12)


def test_pause_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValidationError) as error:
        Pause(cst(2025, 6, 16, 12), cst(2025, 6, 16, 10))
    assert error.value.field == "pause_end"


def test_daylight_saving_day_has_normal_working_hours() -> None:
    cal = BusinessCalendar(timezone="Europe/Berlin", chinese_holidays=False)
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks went forward on Sunday 30 March 2025; Friday 17:00 + 2 h is Monday 10:00 local.
    start = datetime(2025, 3, 28, 17, tzinfo=berlin)
    assert cal.add(start, 2 * H) == datetime(2025, 3, 31, 10, tzinfo=berlin)
    assert twenty_four_seven("Europe/Berlin").between(
        datetime(2025, 3, 30, 0, tzinfo=berlin), datetime(2025, 3, 31, 0, tzinfo=berlin)
    ) == timedelta(hours=23)


def test_overlapping_and_open_pauses() -> None:
    start = cst(2025, 6, 16, 9)
    pauses = [
        Pause(cst(2025, 6, 16, 10), cst(2025, 6, 16, 12)),
        Pause(cst(2025, 6, 16, 11), cst(2025, 6, 16, 13)),
    ]
    assert CAL.elapsed_with_pauses(start, cst(2025, 6, 16, 18), pauses) == 6 * H
    still_paused = [Pause(cst(2025, 6, 16, 10))]
    assert CAL.due_with_pauses(start, 3 * H, still_paused) is None
    assert CAL.elapsed_with_pauses(start, cst(2025, 6, 17, 18), still_paused) == H
    # An open pause that starts after the budget ran out does not hide the due time.
    assert CAL.due_with_pauses(start, H, still_paused) == cst(2025, 6, 16, 10)


# -- properties ----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 12, 20), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)
).map(lambda d: d.replace(second=0, microsecond=0))
durations = st.integers(min_value=0, max_value=60 * 200).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from(
    [
        CAL,
        BusinessCalendar(hours=WorkingHours(lunch=STANDARD_LUNCH)),
        twenty_four_seven(),
        # A timezone with daylight saving time, and without Chinese holidays.
        BusinessCalendar(timezone="Europe/Berlin", chinese_holidays=False),
        twenty_four_seven("Europe/Berlin"),
    ]
)


@given(calendars, instants, durations)
def test_add_then_measure_round_trips(cal: BusinessCalendar, start: datetime, d: timedelta) -> None:
    assert cal.between(start, cal.add(start, d)) == d


@given(calendars, instants, durations, durations)
def test_add_is_monotonic(
    cal: BusinessCalendar, start: datetime, d1: timedelta, d2: timedelta
) -> None:
    small, large = sorted((d1, d2))
    assert start <= cal.add(start, small) <= cal.add(start, large)


@given(calendars, instants, instants, instants)
def test_between_is_additive_and_bounded(
    cal: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    assert timedelta(0) <= cal.between(a, b) <= b - a


@given(
    instants,
    durations,
    st.lists(st.tuples(st.integers(0, 60 * 24 * 20), st.integers(1, 60 * 24 * 5)), max_size=4),
)
def test_due_with_pauses_spends_exactly_the_budget(
    start: datetime, budget: timedelta, raw: list[tuple[int, int]]
) -> None:
    pauses = [Pause(start + timedelta(minutes=o), start + timedelta(minutes=o + n)) for o, n in raw]
    due = CAL.due_with_pauses(start, budget, pauses)
    assert due is not None and due >= start
    assert CAL.elapsed_with_pauses(start, due, pauses) == budget
