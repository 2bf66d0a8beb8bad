"""Playbooks (plan §4.3, §4.5): the tasks an incident starts with, by category and level.

A playbook is a list of task templates — type, title in both languages, the group that does it
and how long it may take (business time; level I counts around the clock). Admins edit them as
plain data; `parse_playbook` checks that data and names what is wrong (an unknown task type, a
bad category or level, a missing title).

`PlaybookSet.select` picks the most specific playbook for an incident: category and level, then
category alone, then level alone, then the default. `plan_tasks` turns one into tasks with due
times on the calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from clamor.core.errors import ConfigurationError, ValidationError
from clamor.workflow.calendar import BusinessCalendar, twenty_four_seven
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.vocabulary import RiskCategory


class TaskType(StrEnum):
    INFORMATION_COLLECTION = "information_collection"
    CUSTOMER_COMMUNICATION = "customer_communication"
    OPINION_MONITORING = "opinion_monitoring"
    IT_SUPPORT = "it_support"
    LEGAL_CONSULTATION = "legal_consultation"
    CUSTOM = "custom"


# The plan's groups (§3), by the keys the org module gives them.
LEADERSHIP = "leadership"
COMPLAINT_HANDLING = "complaint_handling"
OPINION_MONITORING = "opinion_monitoring"
LOGISTICS_SUPPORT = "logistics_support"


@dataclass(frozen=True)
class TaskTemplate:
    task_type: TaskType
    title_zh: str
    title_en: str
    group: str
    due_in: timedelta

    def __post_init__(self) -> None:
        if not self.title_zh.strip() or not self.title_en.strip():
            raise ValidationError.keyed("error.incidents.task_title_both_languages", field="title")
        if not self.group.strip():
            raise ValidationError.keyed("error.incidents.task_needs_group", field="group")
        if self.due_in <= timedelta(0):
            raise ValidationError.keyed(
                "error.incidents.task_limit_not_positive", field="due_hours"
            )


@dataclass(frozen=True)
class Playbook:
    name: str
    tasks: tuple[TaskTemplate, ...]
    category: RiskCategory | None = None  # None: any category
    level: Level | None = None  # None: any level

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValidationError.keyed(
                "error.incidents.playbook_without_tasks", field="tasks", name=repr(self.name)
            )


# -- parsing admin-edited data ------------------------------------------------------------------


def _choice(value: Any, allowed: type[StrEnum], field: str) -> Any:
    if value is None:
        return None
    try:
        return allowed(value)
    except ValueError:
        names = ", ".join(member.value for member in allowed)
        raise ValidationError.keyed(
            "error.incidents.playbook_unknown_choice", field=field, value=repr(value), known=names
        ) from None


def parse_task(data: Mapping[str, Any], index: int = 0) -> TaskTemplate:
    where = f"tasks[{index}]"
    type_name = data.get("type")
    if type_name not in {t.value for t in TaskType}:
        known = ", ".join(t.value for t in TaskType)
        raise ValidationError.keyed(
            "error.incidents.unknown_task_type",
            field=f"{where}.type",
            where=where,
            value=repr(type_name),
            known=known,
        )
    hours = data.get("due_hours")
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise ValidationError.keyed(
            "error.incidents.due_hours_not_number", field=f"{where}.due_hours", where=where
        )
    try:
        return TaskTemplate(
            task_type=TaskType(type_name),
            title_zh=str(data.get("title_zh", "")),
            title_en=str(data.get("title_en", "")),
            group=str(data.get("group", "")),
            due_in=timedelta(hours=hours),
        )
    except ValidationError as error:
        raise ValidationError.keyed(
            "error.incidents.in_task", field=f"{where}.{error.field}", where=where, detail=error
        ) from None


def parse_playbook(data: Mapping[str, Any]) -> Playbook:
    """A playbook from admin-edited data (JSON/YAML shape); ValidationError names the bad field."""
    tasks = data.get("tasks")
    if not isinstance(tasks, Sequence) or isinstance(tasks, str) or not tasks:
        raise ValidationError.keyed("error.incidents.playbook_needs_tasks", field="tasks")
    return Playbook(
        name=str(data.get("name") or "unnamed"),
        category=_choice(data.get("category"), RiskCategory, "category"),
        level=_choice(data.get("level"), Level, "level"),
        tasks=tuple(parse_task(task, i) for i, task in enumerate(tasks)),
    )


def playbook_to_data(playbook: Playbook) -> dict[str, Any]:
    """The editable form of a playbook (inverse of parse_playbook)."""
    return {
        "name": playbook.name,
        "category": None if playbook.category is None else playbook.category.value,
        "level": None if playbook.level is None else playbook.level.value,
        "tasks": [
            {
                "type": t.task_type.value,
                "title_zh": t.title_zh,
                "title_en": t.title_en,
                "group": t.group,
                "due_hours": t.due_in.total_seconds() / 3600,
            }
            for t in playbook.tasks
        ],
    }


# -- selection ------------------------------------------------------------------------------------


class PlaybookSet:
    def __init__(self, playbooks: Iterable[Playbook]) -> None:
        self._by_key: dict[tuple[RiskCategory | None, Level | None], Playbook] = {}
        for playbook in playbooks:
            key = (playbook.category, playbook.level)
            if key in self._by_key:
                raise ConfigurationError(f"two playbooks for {key}")
            self._by_key[key] = playbook
        if (None, None) not in self._by_key:
            raise ConfigurationError("the playbooks need a default (any category, any level)")

    def select(self, category: RiskCategory, level: Level) -> Playbook:
        """Most specific first. A level-I incident without its own playbook uses the level-II
        one (on a 24×7 clock): a red event needs at least what an orange one gets."""
        levels = (Level.I, Level.II) if level is Level.I else (level,)
        keys = [
            *((category, lv) for lv in levels),
            (category, None),
            *((None, lv) for lv in levels),
            (None, None),
        ]
        for key in keys:
            if key in self._by_key:
                return self._by_key[key]
        raise AssertionError("unreachable: the default playbook exists")


@dataclass(frozen=True)
class PlannedTask:
    template: TaskTemplate
    due_at: datetime


def calendar_for_level(level: Level, business: BusinessCalendar) -> BusinessCalendar:
    """Red incidents run around the clock; the others on business hours."""
    return twenty_four_seven(business.timezone) if level.around_the_clock else business


def plan_tasks(
    playbook: Playbook, level: Level, start: datetime, calendar: BusinessCalendar
) -> tuple[PlannedTask, ...]:
    clock = calendar_for_level(level, calendar)
    return tuple(PlannedTask(t, clock.add(start, t.due_in)) for t in playbook.tasks)


# -- the plan's defaults --------------------------------------------------------------------------


def _task(task_type: TaskType, zh: str, en: str, group: str, hours: float) -> TaskTemplate:
    return TaskTemplate(task_type, zh, en, group, timedelta(hours=hours))


def within(template: TaskTemplate, hours: float) -> TaskTemplate:
    """The same task with a different time limit."""
    return replace(template, due_in=timedelta(hours=hours))


T = TaskType
COLLECT = _task(
    T.INFORMATION_COLLECTION,
    "收集事件信息，确认性质",
    "Collect facts and confirm the nature",
    COMPLAINT_HANDLING,
    4,
)
CONTACT = _task(
    T.CUSTOMER_COMMUNICATION,
    "联系受影响客户，了解问题并提供解决方案",
    "Contact affected customers, learn the problem, offer solutions",
    COMPLAINT_HANDLING,
    9,
)
MONITOR = _task(
    T.OPINION_MONITORING,
    "监测舆情动态并定时报告",
    "Monitor public opinion and report on it",
    OPINION_MONITORING,
    4,
)
STATEMENT = _task(T.CUSTOM, "起草公司声明", "Draft the company statement", OPINION_MONITORING, 4)
LEGAL_LINE = _task(
    T.LEGAL_CONSULTATION,
    "评估法律风险，审阅对外口径",
    "Assess legal risk and review the public line",
    LOGISTICS_SUPPORT,
    6,
)
DATA_EXPOSURE = _task(
    T.IT_SUPPORT,
    "查明数据泄露范围并封堵漏洞",
    "Find the extent of the data exposure and close the hole",
    LOGISTICS_SUPPORT,
    9,
)
PRIVACY_DUTIES = _task(
    T.LEGAL_CONSULTATION,
    "评估《个人信息保护法》下的通知与报告义务",
    "Assess notification and reporting duties under the PIPL",
    LOGISTICS_SUPPORT,
    9,
)
PRODUCT_FAULT = _task(
    T.IT_SUPPORT,
    "技术支持部复现并定位产品问题",
    "Technical support reproduces and locates the product fault",
    LOGISTICS_SUPPORT,
    9,
)
SERVICE_REVIEW = _task(
    T.CUSTOM,
    "复核涉事服务记录并安排培训",
    "Review the service records involved and arrange training",
    COMPLAINT_HANDLING,
    18,
)
COMPLIANCE = _task(
    T.LEGAL_CONSULTATION,
    "评估合规与声誉风险",
    "Assess compliance and reputation risk",
    LOGISTICS_SUPPORT,
    9,
)

C = RiskCategory
DEFAULT_PLAYBOOKS = PlaybookSet(
    [
        Playbook("default", (COLLECT, CONTACT, MONITOR)),
        Playbook(
            "major",
            (within(COLLECT, 2), within(CONTACT, 4), within(MONITOR, 1), STATEMENT, LEGAL_LINE),
            level=Level.II,
        ),
        Playbook(
            "data privacy",
            (COLLECT, DATA_EXPOSURE, PRIVACY_DUTIES, CONTACT, MONITOR),
            category=C.DATA_PRIVACY,
        ),
        Playbook(
            "data privacy, major",
            (
                within(COLLECT, 2),
                within(DATA_EXPOSURE, 4),
                within(PRIVACY_DUTIES, 4),
                within(CONTACT, 6),
                within(MONITOR, 1),
                STATEMENT,
            ),
            category=C.DATA_PRIVACY,
            level=Level.II,
        ),
        Playbook(
            "product quality",
            (COLLECT, PRODUCT_FAULT, CONTACT, MONITOR),
            category=C.PRODUCT_QUALITY,
        ),
        Playbook(
            "service attitude",
            (COLLECT, CONTACT, SERVICE_REVIEW),
            category=C.SERVICE_ATTITUDE,
        ),
        Playbook(
            "social responsibility",
            (COLLECT, within(MONITOR, 2), COMPLIANCE, within(STATEMENT, 9)),
            category=C.SOCIAL_RESPONSIBILITY,
        ),
    ]
)


def default_playbook(category: RiskCategory, level: Level) -> Playbook:
    """The plan's playbook for an incident of `category` at `level`."""
    return DEFAULT_PLAYBOOKS.select(category, level)
