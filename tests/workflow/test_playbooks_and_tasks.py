"""Playbooks (validation, selection, deadlines) and the task lifecycle with its clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clamor.core.errors import ConfigurationError, PermissionDenied, ValidationError
from clamor.workflow.calendar import BusinessCalendar
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.playbooks import (
    DEFAULT_PLAYBOOKS,
    Playbook,
    PlaybookSet,
    TaskType,
    default_playbook,
    parse_playbook,
    plan_tasks,
    playbook_to_data,
)
from clamor.workflow.incidents.tasks import (
    TASK_TABLE,
    TaskAction,
    TaskState,
    allowed_actions,
    apply,
    task_clock,
    task_notifications,
)
from clamor.workflow.sla import NotificationKind, Recipient, SlaState
from clamor.workflow.vocabulary import ALL_PERMISSIONS, RiskCategory

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def task_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "type": "legal_consultation",
        "title_zh": "法律咨询",
        "title_en": "Legal advice",
        "group": "logistics_support",
        "due_hours": 4,
    }
    data.update(overrides)
    return data


# -- playbooks -------------------------------------------------------------------------------


def test_data_privacy_level_ii_starts_with_the_right_tasks() -> None:
    playbook = default_playbook(RiskCategory.DATA_PRIVACY, Level.II)
    types = [t.task_type for t in playbook.tasks]
    assert TaskType.LEGAL_CONSULTATION in types
    assert TaskType.IT_SUPPORT in types
    assert TaskType.INFORMATION_COLLECTION in types
    assert TaskType.CUSTOMER_COMMUNICATION in types
    assert TaskType.OPINION_MONITORING in types
    assert all(t.title_zh and t.title_en for t in playbook.tasks)


def test_selection_prefers_the_most_specific_playbook() -> None:
    assert default_playbook(RiskCategory.DATA_PRIVACY, Level.IV).name == "data privacy"
    assert default_playbook(RiskCategory.OTHER, Level.II).name == "major"
    assert default_playbook(RiskCategory.OTHER, Level.III).name == "default"
    # Level I without a playbook of its own gets the level-II lists.
    assert default_playbook(RiskCategory.DATA_PRIVACY, Level.I).name == "data privacy, major"
    assert default_playbook(RiskCategory.OTHER, Level.I).name == "major"


def test_unknown_task_type_is_named() -> None:
    data = {"name": "x", "tasks": [task_data(), task_data(type="press_conference")]}
    with pytest.raises(ValidationError, match="press_conference") as error:
        parse_playbook(data)
    assert error.value.field == "tasks[1].type"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"tasks": []}, "tasks"),
        ({"tasks": "collect"}, "tasks"),
        ({"category": "weather", "tasks": [task_data()]}, "category"),
        ({"level": "V", "tasks": [task_data()]}, "level"),
        ({"tasks": [task_data(due_hours="soon")]}, "tasks[0].due_hours"),
        ({"tasks": [task_data(due_hours=0)]}, "tasks[0].due_hours"),
        ({"tasks": [task_data(title_en=" ")]}, "tasks[0].title"),
        ({"tasks": [task_data(group="")]}, "tasks[0].group"),
    ],
)
def test_bad_playbook_data_is_named(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_playbook(data)
    assert error.value.field == field


def test_playbook_data_round_trips() -> None:
    for category in RiskCategory:
        for level in Level:
            playbook = DEFAULT_PLAYBOOKS.select(category, level)
            assert parse_playbook(playbook_to_data(playbook)) == playbook


def test_playbook_set_needs_a_default_and_no_duplicates() -> None:
    privacy = parse_playbook({"category": "data_privacy", "tasks": [task_data()]})
    with pytest.raises(ConfigurationError):
        PlaybookSet([privacy])
    default = Playbook("d", privacy.tasks)
    with pytest.raises(ConfigurationError):
        PlaybookSet([default, default])


def test_task_deadlines_on_the_business_calendar() -> None:
    playbook = parse_playbook({"tasks": [task_data(due_hours=4), task_data(due_hours=9)]})
    # Tuesday 30 September 2025, 16:00: National Day follows.
    planned = plan_tasks(playbook, Level.II, cst(2025, 9, 30, 16), CAL)
    assert [p.due_at for p in planned] == [cst(2025, 10, 9, 11), cst(2025, 10, 9, 16)]


def test_level_i_task_deadlines_run_around_the_clock() -> None:
    playbook = parse_playbook({"tasks": [task_data(due_hours=4)]})
    planned = plan_tasks(playbook, Level.I, cst(2025, 9, 30, 16), CAL)
    assert planned[0].due_at == cst(2025, 9, 30, 20)


# -- tasks -----------------------------------------------------------------------------------

RECEIVER = frozenset({"tasks.acknowledge", "tasks.complete"})
LEADER = frozenset({"incidents.instruct"})
S, A = TaskState, TaskAction


def test_task_lifecycle() -> None:
    state = apply(S.OPEN, A.ACKNOWLEDGE, RECEIVER).target
    assert state is S.ACKNOWLEDGED
    with pytest.raises(ValidationError, match="result"):
        apply(state, A.COMPLETE, RECEIVER)
    assert apply(state, A.COMPLETE, RECEIVER, {"result": "已联系 12 位客户"}).target is S.DONE
    assert allowed_actions(S.DONE, RECEIVER | LEADER) == ()


def test_receiver_cannot_reassign_or_cancel() -> None:
    with pytest.raises(PermissionDenied, match=r"incidents\.instruct"):
        apply(S.OPEN, A.CANCEL, RECEIVER, {"reason": "x"})
    assert allowed_actions(S.OPEN, RECEIVER) == ("acknowledge",)


def test_assignee_must_belong_to_the_group() -> None:
    members = {"u1", "u2"}
    fields = {"assignee_user": "u9", "group_members": members}
    with pytest.raises(ValidationError, match="not a member") as error:
        apply(S.ACKNOWLEDGED, A.REASSIGN, LEADER, fields)
    assert error.value.field == "assignee_user"
    ok = apply(
        S.ACKNOWLEDGED, A.REASSIGN, LEADER, {"assignee_user": "u2", "group_members": members}
    )
    assert ok.target is S.OPEN  # the new receiver acknowledges again
    with pytest.raises(ValidationError) as error:
        apply(S.OPEN, A.REASSIGN, LEADER, {"assignee_user": "u2"})
    assert error.value.field == "assignee_user"
    assert apply(S.OPEN, A.REASSIGN, LEADER, {"assignee_group": "g"}).target is S.OPEN


def test_task_reminder_then_escalation() -> None:
    assigned = cst(2025, 6, 16, 9)

    def at(hour: int, minute: int = 0) -> tuple[SlaState, list[tuple[NotificationKind, str]]]:
        clock = task_clock(
            assigned, timedelta(hours=4), Level.III, cst(2025, 6, 16, hour, minute), CAL
        )
        notes = task_notifications("t1", clock)
        return clock.state, [(n.kind, n.recipient) for n in notes]

    assert at(10) == (SlaState.OK, [])
    assert at(12) == (SlaState.WARNING, [(NotificationKind.WARNING, Recipient.ASSIGNEE)])
    assert at(13, 1) == (
        SlaState.BREACHED,
        [(NotificationKind.ESCALATION, Recipient.GROUP_LEADER)],
    )
    done = task_clock(
        assigned, timedelta(hours=4), Level.III, cst(2025, 6, 17, 9), CAL, cst(2025, 6, 16, 12)
    )
    assert done.state is SlaState.OK and task_notifications("t1", done) == ()


def test_task_table_permissions_are_known() -> None:
    assert {r.permission for r in TASK_TABLE.rules} <= ALL_PERMISSIONS
