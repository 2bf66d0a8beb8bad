"""Deadlines of stored cases on the business calendar (fixed dates: a weekend with a make-up
Sunday, the Mid-autumn and National Day holidays of 2026 and the make-up Saturday after them),
the clock pausing while awaiting the customer, and the SLA sweep writing the outbox once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clamor.core import clock
from clamor.core.principal import Principal
from clamor.notify.models import Outbox
from clamor.storage.database import Database
from clamor.workflow.calendar import DEFAULT_TIMEZONE
from clamor.workflow.complaints import service
from clamor.workflow.complaints.sla_service import sweep_sla
from tests.workflow.complaints.conftest import complaint, load, submit

SHANGHAI = ZoneInfo(DEFAULT_TIMEZONE)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def new_case(db: Database, actor: Principal, received: datetime, priority: str = "normal") -> int:
    clock.freeze(received)
    (result,) = submit(db, actor, complaint(f"c{received.isoformat()}", received_at=received))
    with db.write() as session:
        service.set_priority(session, actor, result.case.id, priority, "test")
    return result.case.id


def test_first_response_across_a_weekend_with_a_make_up_sunday(
    db: Database, people: dict[str, Principal], at
) -> None:
    # Friday 18 Sep 2026, 17:00: 1 h that day; Saturday off; Sunday 20 Sep is a make-up workday.
    case_id = new_case(db, people["cs_manager"], local(2026, 9, 18, 17, 0))
    case = load(db, case_id)
    assert case.first_response_due_at == local(2026, 9, 20, 17, 0)  # 9 business hours
    # 45 h: Fri 1 + Sun 9 + Mon–Wed 27 + Thu 8 → Thursday 24 Sep 17:00, before Mid-autumn.
    assert case.resolution_due_at == local(2026, 9, 24, 17, 0)


def test_resolution_across_national_day_and_its_make_up_saturday(
    db: Database, people: dict[str, Principal], at
) -> None:
    # Tue 29 and Wed 30 Sep (18 h), 1–7 Oct off, Thu 8 and Fri 9 Oct (36 h), Sat 10 Oct works.
    case_id = new_case(db, people["cs_manager"], local(2026, 9, 29, 9, 0))
    case = load(db, case_id)
    assert case.resolution_due_at == local(2026, 10, 10, 18, 0)
    assert case.first_response_due_at == local(2026, 9, 29, 18, 0)


def test_urgent_cases_run_around_the_clock(db: Database, people: dict[str, Principal], at) -> None:
    case_id = new_case(db, people["cs_manager"], local(2026, 10, 1, 10, 0), "urgent")
    case = load(db, case_id)
    assert case.first_response_due_at == local(2026, 10, 1, 12, 0)
    assert case.resolution_due_at == local(2026, 10, 2, 10, 0)


def act(
    db: Database, actor: Principal, case_id: int, when: datetime, action: str, **fields
) -> None:
    clock.freeze(when)
    with db.write() as session:
        service.act(session, actor, case_id, action, fields)


def test_the_clock_pauses_while_awaiting_the_customer(
    db: Database, people: dict[str, Principal], at
) -> None:
    manager = people["cs_manager"]
    case_id = new_case(db, manager, local(2026, 3, 2, 9, 0))  # Monday
    before = load(db, case_id).resolution_due_at
    assert before == local(2026, 3, 6, 18, 0)  # 45 h = Mon–Fri
    act(db, manager, case_id, local(2026, 3, 2, 9, 30), "acknowledge")
    act(db, manager, case_id, local(2026, 3, 2, 9, 40), "accept")
    act(db, manager, case_id, local(2026, 3, 2, 9, 50), "assign", assignee_user="cs_rep")
    act(db, manager, case_id, local(2026, 3, 2, 10, 0), "start")
    act(db, manager, case_id, local(2026, 3, 2, 11, 0), "request_info", message="订单号？")
    paused = load(db, case_id)
    assert paused.sla_state == "paused" and paused.resolution_due_at is None
    act(db, manager, case_id, local(2026, 3, 3, 13, 30), "provide_info")
    resumed = load(db, case_id)
    assert resumed.sla_state == "ok"
    # Paused from Mon 11:00 to Tue 13:30 = 7 h (Mon) + 4.5 h (Tue) = 11.5 business hours.
    assert resumed.resolution_due_at == local(2026, 3, 10, 11, 30)  # Fri 18:00 + 11.5 h
    assert resumed.first_response_due_at is not None


def test_the_sweep_warns_then_escalates_once_each(
    db: Database, people: dict[str, Principal], at
) -> None:
    manager = people["cs_manager"]
    case_id = new_case(db, manager, local(2026, 3, 2, 9, 0))  # first response due 18:00
    for moment in (local(2026, 3, 2, 16, 0), local(2026, 3, 2, 16, 30)):
        with db.write() as session:
            sweep_sla(session, moment)
    with db.read() as session:
        rows = list(session.scalars(select(Outbox)))
    assert [r.recipient for r in rows] == ["group:complaint_handling"]
    assert load(db, case_id).sla_state == "warning"
    late = local(2026, 3, 3, 9, 30)
    with db.write() as session:
        first = sweep_sla(session, late)
    with db.write() as session:
        second = sweep_sla(session, late + timedelta(minutes=5))
    assert first["notifications"] == 1 and second["notifications"] == 0
    with db.read() as session:
        escalation = session.scalars(select(Outbox).order_by(Outbox.id.desc())).first()
    assert "breached" in escalation.subject and load(db, case_id).sla_state == "breached"
    act(db, manager, case_id, late, "acknowledge")
    with db.write() as session:
        assert sweep_sla(session, late + timedelta(hours=1))["notifications"] == 0
