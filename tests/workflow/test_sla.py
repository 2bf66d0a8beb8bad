"""SLA policies, clock readings and the notifications they call for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clamor.core.errors import ConfigurationError
from clamor.workflow.calendar import BusinessCalendar, Pause
from clamor.workflow.sla import (
    DEFAULT_POLICIES,
    CaseTimes,
    ClockKind,
    NotificationKind,
    Recipient,
    SlaPolicy,
    SlaPolicySet,
    SlaState,
    SlaTarget,
    case_notifications,
    evaluate_case,
    next_check_at,
    notifications_due,
    read_clock,
)
from clamor.workflow.vocabulary import Priority, RiskCategory

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()
H = timedelta(hours=1)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def reading(now: datetime, **kwargs: object):  # type: ignore[no-untyped-def]
    return read_clock(CAL, SlaTarget.RESOLUTION, cst(2025, 6, 16, 9), 8 * H, now, **kwargs)


def test_clock_states_ok_warning_breached() -> None:
    assert reading(cst(2025, 6, 16, 12)).state is SlaState.OK  # 3/8 used
    warning = reading(cst(2025, 6, 16, 15))  # 6/8 = 75 %
    assert warning.state is SlaState.WARNING and warning.used == 0.75
    assert reading(cst(2025, 6, 16, 17)).due_at == cst(2025, 6, 16, 17)
    assert reading(cst(2025, 6, 16, 17)).state is SlaState.WARNING  # due now, not yet late
    breached = reading(cst(2025, 6, 16, 17, 1))
    assert breached.state is SlaState.BREACHED
    assert breached.remaining == -timedelta(minutes=1)


def test_breached_after_hours_even_though_no_business_time_passes() -> None:
    # Due at 18:00 on Friday; at 20:00 no more business time has elapsed, but it is late.
    clock = read_clock(CAL, SlaTarget.RESOLUTION, cst(2025, 6, 13, 9), 9 * H, cst(2025, 6, 13, 20))
    assert clock.elapsed == 9 * H
    assert clock.state is SlaState.BREACHED


def test_stopped_clock_is_judged_when_it_stopped() -> None:
    on_time = reading(cst(2025, 6, 18, 9), stopped_at=cst(2025, 6, 16, 16))
    assert on_time.state is SlaState.OK and not on_time.running
    assert on_time.elapsed == 7 * H
    late = reading(cst(2025, 6, 18, 9), stopped_at=cst(2025, 6, 17, 10))
    assert late.state is SlaState.BREACHED


def test_pause_stops_the_clock_and_hides_due_time_while_open() -> None:
    paused = reading(cst(2025, 6, 17, 9), pauses=(Pause(cst(2025, 6, 16, 11)),))
    assert paused.paused and paused.due_at is None
    assert paused.elapsed == 2 * H and paused.state is SlaState.OK
    resumed = reading(
        cst(2025, 6, 18, 10), pauses=(Pause(cst(2025, 6, 16, 11), cst(2025, 6, 18, 9)),)
    )
    assert not resumed.paused
    assert resumed.elapsed == 3 * H
    assert resumed.due_at == cst(2025, 6, 18, 15)


def test_policy_lookup_prefers_category() -> None:
    privacy = DEFAULT_POLICIES.policy_for(Priority.NORMAL, RiskCategory.DATA_PRIVACY)
    plain = DEFAULT_POLICIES.policy_for(Priority.NORMAL, RiskCategory.PRODUCT_QUALITY)
    assert privacy.category is RiskCategory.DATA_PRIVACY
    assert plain.category is None
    assert privacy.first_response < plain.first_response


def test_policy_set_validation() -> None:
    with pytest.raises(ConfigurationError, match="default"):
        SlaPolicySet([SlaPolicy(Priority.HIGH, H, 2 * H)])
    with pytest.raises(ConfigurationError):
        SlaPolicy(Priority.HIGH, 3 * H, 2 * H)
    with pytest.raises(ConfigurationError):
        SlaPolicy(Priority.HIGH, H, 2 * H, warning_ratio=1.5)


def test_evaluate_case_uses_business_hours_for_normal_priority() -> None:
    # Received Tuesday 30 September 2025, 17:00, just before National Day.
    case = CaseTimes("c1", Priority.NORMAL, received_at=cst(2025, 9, 30, 17))
    sla = evaluate_case(case, cst(2025, 10, 5, 12), CAL)
    assert sla.first_response.due_at == cst(2025, 10, 9, 17)  # 1 h on 30 Sep + 8 h on 9 Oct
    assert sla.state is SlaState.OK
    assert case_notifications(sla) == ()


def test_evaluate_case_urgent_runs_around_the_clock() -> None:
    case = CaseTimes("c2", Priority.URGENT, received_at=cst(2025, 9, 30, 17))
    sla = evaluate_case(case, cst(2025, 10, 1, 12), CAL)
    assert sla.policy.clock is ClockKind.ALWAYS
    assert sla.first_response.due_at == cst(2025, 9, 30, 19)
    assert sla.first_response.state is SlaState.BREACHED
    assert sla.resolution.state is SlaState.WARNING  # 19 of 24 hours


def test_notifications_warning_then_escalation_with_stable_keys() -> None:
    case = CaseTimes("c3", Priority.HIGH, received_at=cst(2025, 6, 16, 9))
    early = case_notifications(evaluate_case(case, cst(2025, 6, 16, 10), CAL))
    assert early == ()
    warned = case_notifications(evaluate_case(case, cst(2025, 6, 16, 12), CAL))
    assert [(n.kind, n.recipient, n.target) for n in warned] == [
        (NotificationKind.WARNING, Recipient.ASSIGNEE, SlaTarget.FIRST_RESPONSE)
    ]
    again = case_notifications(evaluate_case(case, cst(2025, 6, 16, 12, 30), CAL))
    assert [n.dedup_key for n in again] == [n.dedup_key for n in warned]
    late = case_notifications(evaluate_case(case, cst(2025, 6, 16, 14), CAL))
    assert [(n.kind, n.recipient) for n in late] == [
        (NotificationKind.ESCALATION, Recipient.GROUP_LEADER)
    ]
    assert late[0].dedup_key != warned[0].dedup_key


def test_met_clock_calls_for_nothing() -> None:
    case = CaseTimes(
        "c4",
        Priority.HIGH,
        received_at=cst(2025, 6, 16, 9),
        first_responded_at=cst(2025, 6, 16, 15),
    )
    sla = evaluate_case(case, cst(2025, 6, 17, 9), CAL)
    assert sla.first_response.state is SlaState.BREACHED
    assert notifications_due("complaint", "c4", sla.first_response) == ()


def test_reopened_case_starts_a_new_cycle_with_new_keys() -> None:
    first = CaseTimes("c5", Priority.HIGH, received_at=cst(2025, 6, 16, 9))
    reopened = CaseTimes(
        "c5",
        Priority.HIGH,
        received_at=cst(2025, 6, 16, 9),
        first_responded_at=cst(2025, 6, 16, 10),
        cycle=1,
        cycle_started_at=cst(2025, 6, 20, 9),
    )
    now = cst(2025, 6, 23, 15)  # Monday: 15 of 18 business hours into the new cycle
    old = case_notifications(evaluate_case(first, cst(2025, 6, 17, 16), CAL))
    new = case_notifications(evaluate_case(reopened, now, CAL))
    assert [n.target for n in new] == [SlaTarget.RESOLUTION]
    assert not {n.dedup_key for n in old} & {n.dedup_key for n in new}


def test_next_check_is_the_next_warning_or_breach_and_none_when_time_changes_nothing() -> None:
    received = cst(2026, 3, 2, 9)  # Monday; urgent: 2 h first response, 24 h resolution, 24×7
    case = CaseTimes("1", Priority.URGENT, received)

    def check(now: datetime, times: CaseTimes = case) -> datetime | None:
        return next_check_at(times, evaluate_case(times, now, CAL), CAL)

    assert check(received) == received + 90 * timedelta(minutes=1)  # 75 % of 2 h
    assert check(received + 100 * timedelta(minutes=1)) == received + 2 * H  # warning → breach
    # First response breached; resolution (24 h) warns at 18 h.
    assert check(received + 3 * H) == received + 18 * H
    answered = CaseTimes("1", Priority.URGENT, received, first_responded_at=received + H)
    assert check(received + 2 * H, answered) == received + 18 * H
    done = CaseTimes("1", Priority.URGENT, received, first_responded_at=received + H,
                     resolved_at=received + 2 * H)  # fmt: skip
    assert check(received + 3 * H, done) is None
    paused = CaseTimes("1", Priority.URGENT, received, pauses=(Pause(received + H / 2, None),))
    assert check(received + H, paused) is None  # a pause ends by a transition
