"""SLA policies and their pure evaluation: due times, ok / warning / breached, notifications.

A policy gives two budgets per priority (and optionally per category): time to first response and
time to resolution, counted on the business calendar or around the clock. `read_clock` turns one
budget plus the facts of a case (when the clock started, its pauses, when it was met) into a
`ClockReading`; `evaluate_case` does both clocks of a complaint case.

`notifications_due` returns the notifications a reading calls for as values, each with a stable
`dedup_key`: the scheduler can run every minute and insert them into the outbox with
`ON CONFLICT (dedup_key) DO NOTHING`, and each one is sent once. The key holds the cycle (a
reopened case starts a new one) and the budget (a priority change is a new promise), but not the
due time, which moves with every pause and would otherwise repeat a warning after each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from clamor.core.errors import ConfigurationError
from clamor.workflow.calendar import BusinessCalendar, Pause, as_utc, twenty_four_seven
from clamor.workflow.vocabulary import Priority, RiskCategory

DEFAULT_WARNING_RATIO = 0.75


class ClockKind(StrEnum):
    BUSINESS = "business"  # working hours on the business calendar
    ALWAYS = "24x7"  # every hour counts


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"
    TASK = "task"  # an incident task's deadline


class SlaState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"

    @property
    def rank(self) -> int:
        return _STATE_RANK[self]


_STATE_RANK = {SlaState.OK: 0, SlaState.WARNING: 1, SlaState.BREACHED: 2}


class NotificationKind(StrEnum):
    WARNING = "sla_warning"
    ESCALATION = "sla_escalation"


class Recipient(StrEnum):
    ASSIGNEE = "assignee"  # the person (or else the group) handling the case or task
    GROUP_LEADER = "group_leader"  # the leader of the assigned group


@dataclass(frozen=True)
class SlaPolicy:
    """Budgets for one priority; `category=None` is the priority's default."""

    priority: Priority
    first_response: timedelta
    resolution: timedelta
    category: RiskCategory | None = None
    clock: ClockKind = ClockKind.BUSINESS
    warning_ratio: float = DEFAULT_WARNING_RATIO

    def __post_init__(self) -> None:
        if self.first_response <= timedelta(0) or self.resolution <= timedelta(0):
            raise ConfigurationError(f"SLA budgets must be positive: {self.priority}")
        if self.first_response > self.resolution:
            raise ConfigurationError(
                f"first response cannot take longer than resolution: {self.priority}"
            )
        if not 0 < self.warning_ratio < 1:
            raise ConfigurationError("the SLA warning ratio must lie between 0 and 1")

    def budget(self, target: SlaTarget) -> timedelta:
        return self.first_response if target is SlaTarget.FIRST_RESPONSE else self.resolution


class SlaPolicySet:
    """Policies looked up by (priority, category), falling back to the priority's default."""

    def __init__(self, policies: Iterable[SlaPolicy]) -> None:
        self._by_key: dict[tuple[Priority, RiskCategory | None], SlaPolicy] = {}
        for policy in policies:
            key = (policy.priority, policy.category)
            if key in self._by_key:
                raise ConfigurationError(
                    f"two SLA policies for {policy.priority}/{policy.category}"
                )
            self._by_key[key] = policy
        missing = [p.value for p in Priority if (p, None) not in self._by_key]
        if missing:
            raise ConfigurationError(f"SLA policies lack a default for priority {missing}")

    def policy_for(self, priority: Priority, category: RiskCategory | None = None) -> SlaPolicy:
        specific = self._by_key.get((priority, category))
        return specific or self._by_key[(priority, None)]

    def __iter__(self) -> Iterator[SlaPolicy]:
        return iter(self._by_key.values())


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


# Defaults in business hours (a working day is 9 h). Urgent cases run around the clock; a data
# privacy complaint may become a regulator's matter, so it gets a faster first response.
DEFAULT_POLICIES = SlaPolicySet(
    [
        SlaPolicy(Priority.URGENT, _hours(2), _hours(24), clock=ClockKind.ALWAYS),
        SlaPolicy(Priority.HIGH, _hours(4), _hours(18)),
        SlaPolicy(Priority.NORMAL, _hours(9), _hours(45)),
        SlaPolicy(Priority.LOW, _hours(18), _hours(90)),
        SlaPolicy(Priority.NORMAL, _hours(4), _hours(27), category=RiskCategory.DATA_PRIVACY),
        SlaPolicy(Priority.LOW, _hours(9), _hours(45), category=RiskCategory.DATA_PRIVACY),
    ]
)


def calendar_for(kind: ClockKind, business: BusinessCalendar) -> BusinessCalendar:
    """The calendar a clock of `kind` counts on, in the business calendar's timezone."""
    return twenty_four_seven(business.timezone) if kind is ClockKind.ALWAYS else business


@dataclass(frozen=True)
class ClockReading:
    """One SLA clock at one instant."""

    target: SlaTarget
    started_at: datetime
    budget: timedelta
    due_at: datetime | None  # None while paused: unknown until the pause ends
    elapsed: timedelta
    state: SlaState
    stopped_at: datetime | None  # when the target was met; the clock no longer runs
    paused: bool

    @property
    def used(self) -> float:
        """Share of the budget used (may exceed 1)."""
        return self.elapsed / self.budget

    @property
    def remaining(self) -> timedelta:
        return self.budget - self.elapsed

    @property
    def running(self) -> bool:
        return self.stopped_at is None


def read_clock(
    calendar: BusinessCalendar,
    target: SlaTarget,
    started_at: datetime,
    budget: timedelta,
    now: datetime,
    pauses: Iterable[Pause] = (),
    stopped_at: datetime | None = None,
    warning_ratio: float = DEFAULT_WARNING_RATIO,
) -> ClockReading:
    """Evaluate one clock. A stopped clock is judged at the moment it stopped: met on time is
    `ok` whatever share it used, met late stays `breached`."""
    pauses = tuple(pauses)
    started_at, now = as_utc(started_at, "started_at"), as_utc(now, "now")
    until = now if stopped_at is None else min(as_utc(stopped_at, "stopped_at"), now)
    elapsed = calendar.elapsed_with_pauses(started_at, until, pauses)
    due_at = calendar.due_with_pauses(started_at, budget, pauses)
    paused = stopped_at is None and any(
        as_utc(p.start, "pause_start") <= now
        and (p.end is None or as_utc(p.end, "pause_end") > now)
        for p in pauses
    )
    if due_at is not None and until > due_at:
        state = SlaState.BREACHED
    elif stopped_at is None and elapsed / budget >= warning_ratio:
        state = SlaState.WARNING
    else:
        state = SlaState.OK
    return ClockReading(
        target=target,
        started_at=started_at,
        budget=budget,
        due_at=due_at,
        elapsed=elapsed,
        state=state,
        stopped_at=None if stopped_at is None else until,
        paused=paused,
    )


@dataclass(frozen=True)
class CaseTimes:
    """The facts about one case that its SLA depends on."""

    case_id: str
    priority: Priority
    received_at: datetime
    category: RiskCategory | None = None
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    cycle: int = 0  # how often the case was reopened
    cycle_started_at: datetime | None = None  # when the current cycle began (reopen time)


@dataclass(frozen=True)
class CaseSla:
    case_id: str
    cycle: int
    policy: SlaPolicy
    first_response: ClockReading
    resolution: ClockReading

    @property
    def state(self) -> SlaState:
        """The worse of the two clocks."""
        return max(self.first_response.state, self.resolution.state, key=lambda s: s.rank)

    @property
    def readings(self) -> tuple[ClockReading, ...]:
        return (self.first_response, self.resolution)


def evaluate_case(
    case: CaseTimes,
    now: datetime,
    calendar: BusinessCalendar,
    policies: SlaPolicySet = DEFAULT_POLICIES,
) -> CaseSla:
    policy = policies.policy_for(case.priority, case.category)
    clock_calendar = calendar_for(policy.clock, calendar)

    def read(target: SlaTarget, start: datetime, stopped: datetime | None) -> ClockReading:
        return read_clock(
            clock_calendar,
            target,
            start,
            policy.budget(target),
            now,
            case.pauses,
            stopped,
            policy.warning_ratio,
        )

    return CaseSla(
        case_id=case.case_id,
        cycle=case.cycle,
        policy=policy,
        first_response=read(SlaTarget.FIRST_RESPONSE, case.received_at, case.first_responded_at),
        resolution=read(
            SlaTarget.RESOLUTION, case.cycle_started_at or case.received_at, case.resolved_at
        ),
    )


def next_check_at(case: CaseTimes, sla: CaseSla, calendar: BusinessCalendar) -> datetime | None:
    """The first moment after which time alone can change either clock of the case (it enters
    warning, or it breaches): until then re-evaluating it finds nothing new. None when no clock
    can change by itself — both met or breached, or paused (a pause ends by a transition, and
    every transition evaluates the case again)."""
    clock_calendar = calendar_for(sla.policy.clock, calendar)
    moments: list[datetime] = []
    for reading in sla.readings:
        if not reading.running or reading.paused or reading.due_at is None:
            continue
        if reading.state is SlaState.WARNING:
            moments.append(reading.due_at)
        elif reading.state is SlaState.OK:
            warning_budget = reading.budget * sla.policy.warning_ratio
            warns_at = clock_calendar.due_with_pauses(
                reading.started_at, warning_budget, case.pauses
            )
            moments.append(warns_at if warns_at is not None else reading.due_at)
    return min(moments) if moments else None


@dataclass(frozen=True)
class SlaNotification:
    """A notification the outbox should hold exactly once (by `dedup_key`)."""

    kind: NotificationKind
    recipient: Recipient
    subject_type: str
    subject_id: str
    target: SlaTarget
    due_at: datetime | None
    dedup_key: str


def notifications_due(
    subject_type: str, subject_id: str, reading: ClockReading, cycle: int = 0
) -> tuple[SlaNotification, ...]:
    """Warning to the assignee once a running clock is in warning; escalation to the group
    leader once it is breached. A stopped clock asks for nothing: a late reply needs no alarm."""
    if not reading.running or reading.state is SlaState.OK:
        return ()
    if reading.state is SlaState.WARNING:
        kind, recipient = NotificationKind.WARNING, Recipient.ASSIGNEE
    else:
        kind, recipient = NotificationKind.ESCALATION, Recipient.GROUP_LEADER
    budget_seconds = int(reading.budget.total_seconds())
    key = f"sla:{subject_type}:{subject_id}:{cycle}:{reading.target}:{kind}:{budget_seconds}"
    return (
        SlaNotification(
            kind=kind,
            recipient=recipient,
            subject_type=subject_type,
            subject_id=subject_id,
            target=reading.target,
            due_at=reading.due_at,
            dedup_key=key,
        ),
    )


def case_notifications(sla: CaseSla) -> tuple[SlaNotification, ...]:
    return tuple(
        note
        for reading in sla.readings
        for note in notifications_due("complaint", sla.case_id, reading, sla.cycle)
    )
