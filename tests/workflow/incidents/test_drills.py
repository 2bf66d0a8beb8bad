"""Drills: opened from a scenario, kept apart from real incidents and statistics, each step
measured against its level's deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clamor.core import clock
from clamor.core.errors import ValidationError
from clamor.workflow.incidents import service
from clamor.workflow.incidents.deadlines import Milestone
from clamor.workflow.incidents.drills import open_drill

START = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SCENARIO = {
    "title": "演练：App 泄露用户手机号",
    "summary": "微博上出现用户手机号泄露的帖子",
    "category": "data_privacy",
    "suggested_level": "II",
    "reasons": ["2 小时内 320 条帖子"],
    "report": True,
}


@pytest.fixture(autouse=True)
def _clock() -> object:
    clock.freeze(START)
    yield
    clock.freeze(None)


def test_a_drill_is_kept_apart_and_measured(db, people) -> None:
    with db.write() as session:
        drill = open_drill(session, people["analyst"], SCENARIO)
        drill_id = drill.id
        assert drill.is_drill and drill.state == "reported" and drill.suggested_level == "II"
    clock.freeze(START + timedelta(hours=3))  # assessment due within 2 business hours at II
    with db.write() as session:
        service.act(
            session,
            people["cs_manager"],
            drill_id,
            "assess",
            {"severity": 3, "scope": 3, "risk": 3, "level": "II"},
        )
    with db.read() as session:
        assert service.list_incidents(session) == []
        assert [i.id for i in service.list_incidents(session, drills=True)] == [drill_id]
        assert service.metrics(session) == []
        assert service.leadership_watch(session) == []
        steps = {s.step: s for s in service.record(session, drill_id).steps}
    assessed = steps[Milestone.ASSESSED]
    assert assessed.late and assessed.taken == timedelta(hours=3)
    assert assessed.due_at == START + timedelta(hours=2)


def test_a_bad_scenario_names_the_field_and_opens_nothing(db, people) -> None:
    for bad, field in (
        ({**SCENARIO, "level": "II"}, "level"),
        ({**SCENARIO, "suggested_level": "V"}, "suggested_level"),
        ({**SCENARIO, "category": "weather"}, "category"),
        ({**SCENARIO, "reasons": "many"}, "reasons"),
    ):
        with db.write() as session, pytest.raises(ValidationError) as error:
            open_drill(session, people["analyst"], bad)
        assert error.value.field == field
    with db.read() as session:
        assert service.list_incidents(session, drills=True) == []
