"""Daily briefings: counts of the last full day (drills left out), queued once per period."""

from __future__ import annotations

from datetime import UTC, datetime

from clamor.core import clock
from clamor.reports import briefing
from clamor.workflow.incidents import service
from tests.workflow.incidents.conftest import opened

YESTERDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 on 9 March in Shanghai
MORNING = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 08:30 on 10 March


def test_daily_briefing_counts_yesterday_and_is_queued_once(db, people) -> None:
    clock.freeze(YESTERDAY)
    try:
        real = opened(db, people["analyst"])
        opened(db, people["analyst"], is_drill=True)
        with db.write() as session:
            service.act(session, people["analyst"], real, "report")
            service.act(
                session,
                people["cs_manager"],
                real,
                "assess",
                {"severity": 3, "scope": 3, "risk": 3, "level": "II"},
            )
            service.instruct(
                session,
                people["cs_manager"],
                real,
                [service.TaskSpec("custom", "核实", "complaint_handling", 1)],
            )
        clock.freeze(MORNING)
        with db.write() as session:
            queued = briefing.queue(session, "daily", clock.now())
            assert briefing.queue(session, "daily", clock.now()) is None
    finally:
        clock.freeze(None)
    assert queued is not None
    assert queued.key == "briefing:daily:2026-03-09"
    assert (queued.opened, queued.complaints, queued.closed) == (1, 0, 0)
    assert queued.open_by_level == {"II": 1} and queued.overdue_tasks == 1
    assert "新发事件 incidents opened: 1" in queued.body()
