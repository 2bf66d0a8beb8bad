"""Incident tasks (plan §4.3 instructions, §4.5 support requests): the receiver acknowledges,
then completes; the instructing group can reassign or cancel.

    open ─acknowledge─► acknowledged ─complete─► done
      │ ▲                   │
      │ └────reassign───────┘ (a new receiver must acknowledge again)
      └──────cancel─────────┴──► cancelled

A task goes to a group, or to a person in that group: `reassign` (and the service when it first
assigns) checks that the person is a member, given the group's members as `group_members`.

Deadlines are SLA clocks (`task_clock`): a warning to the receiver before the due time and an
escalation to the group leader after it, through `clamor.workflow.sla.notifications_due`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum

from clamor.core.errors import ValidationError
from clamor.workflow.calendar import BusinessCalendar
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.playbooks import calendar_for_level
from clamor.workflow.sla import (
    ClockReading,
    SlaNotification,
    SlaTarget,
    notifications_due,
    read_clock,
)
from clamor.workflow.transitions import (
    Fields,
    Guard,
    Need,
    SlaEffect,
    Transition,
    TransitionRule,
    TransitionTable,
)
from clamor.workflow.vocabulary import Perm


class TaskState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    COMPLETE = "complete"
    REASSIGN = "reassign"
    CANCEL = "cancel"


def check_assignee_in_group(user_id: str | None, group_members: Collection[str] | None) -> None:
    """ValidationError when a task for a group is given to someone outside it."""
    if user_id is None:
        return
    if group_members is None:
        raise ValidationError.keyed("error.incidents.members_needed", field="group_members")
    if user_id not in group_members:
        raise ValidationError.keyed(
            "error.incidents.not_group_member", field="assignee_user", user=repr(user_id)
        )


def _assignee_in_group(fields: Fields) -> ValidationError | None:
    try:
        check_assignee_in_group(fields.get("assignee_user"), fields.get("group_members"))
    except ValidationError as error:
        return error
    return None


MEMBER_GUARD = Guard("assignee_user", "the person belongs to the task's group", _assignee_in_group)
S, A, P = TaskState, TaskAction, Perm
ASSIGNEE = Need("assignee_group", "assignee_user")

TASK_TABLE: TransitionTable[TaskState] = TransitionTable(
    "task",
    [
        TransitionRule(S.OPEN, A.ACKNOWLEDGE.value, S.ACKNOWLEDGED, P.TASKS_ACKNOWLEDGE.value),
        TransitionRule(
            S.ACKNOWLEDGED,
            A.COMPLETE.value,
            S.DONE,
            P.TASKS_COMPLETE.value,
            required=(Need("result"),),
            sla_effect=SlaEffect.RESOLVED,
        ),
        *(
            TransitionRule(
                state,
                A.REASSIGN.value,
                S.OPEN,
                P.INCIDENTS_INSTRUCT.value,
                required=(ASSIGNEE,),
                guards=(MEMBER_GUARD,),
            )
            for state in (S.OPEN, S.ACKNOWLEDGED)
        ),
        *(
            TransitionRule(
                state,
                A.CANCEL.value,
                S.CANCELLED,
                P.INCIDENTS_INSTRUCT.value,
                required=(Need("reason"),),
                sla_effect=SlaEffect.CLOSED,
            )
            for state in (S.OPEN, S.ACKNOWLEDGED)
        ),
    ],
)


def allowed_actions(state: TaskState, permissions: frozenset[str]) -> tuple[str, ...]:
    return TASK_TABLE.allowed_actions(state, permissions)


def apply(
    state: TaskState, action: str, permissions: frozenset[str], fields: Fields | None = None
) -> Transition[TaskState]:
    return TASK_TABLE.apply(state, action, permissions, fields)


def task_clock(
    assigned_at: datetime,
    time_limit: timedelta,
    level: Level,
    now: datetime,
    calendar: BusinessCalendar,
    completed_at: datetime | None = None,
) -> ClockReading:
    """The deadline clock of one task: business hours, or around the clock for level I."""
    return read_clock(
        calendar_for_level(level, calendar),
        SlaTarget.TASK,
        assigned_at,
        time_limit,
        now,
        stopped_at=completed_at,
    )


def task_notifications(task_id: str, reading: ClockReading) -> tuple[SlaNotification, ...]:
    """Reminder before the deadline, escalation after it (dedup keys per task)."""
    return notifications_due("task", task_id, reading)
