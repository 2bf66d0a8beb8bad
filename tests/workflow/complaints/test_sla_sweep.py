"""The SLA sweep under concurrency (two sweeps at once write each notification exactly once) and
its escalations addressed to people, so that their notification preferences apply."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select, text

from clamor.accounts import service as accounts
from clamor.core import clock
from clamor.core.principal import Principal
from clamor.notify import deliver
from clamor.notify.models import Outbox
from clamor.notify.tables import Delivery, Preference
from clamor.org.models import Group, Person
from clamor.storage.database import Database
from clamor.workflow.complaints import sla_service
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.complaints.sla_service import sweep_sla
from tests.workflow.complaints.conftest import complaint, submit
from tests.workflow.complaints.test_deadlines import local, new_case

LATE = local(2026, 3, 3, 9, 30)  # the first response of a case from Mon 09:00 is overdue


@pytest.fixture(autouse=True)
def _release_the_clock() -> Iterator[None]:
    """`new_case` pins the clock; let it go after each test."""
    yield
    clock.freeze(None)


def outbox_rows(db: Database) -> list[Outbox]:
    with db.read() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def test_a_sweep_whose_lookup_missed_a_concurrent_write_inserts_nothing(
    db: Database, people: dict[str, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session A writes the escalation; session B had looked before A committed (simulated: its
    look-up finds nothing) and inserts the same dedup key: no error, still one row."""
    new_case(db, people["cs_manager"], local(2026, 3, 2, 9, 0))
    with db.write() as first:
        assert sweep_sla(first, LATE)["notifications"] == 1  # the breach
    monkeypatch.setattr(sla_service, "_known_keys", lambda session, keys: set())
    with db.write() as second:
        assert sweep_sla(second, LATE)["notifications"] == 0
    assert len(outbox_rows(db)) == 1


def _waiting_on_a_lock(db: Database) -> bool:
    with db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()
    return bool(waiting)


def test_two_overlapping_sweeps_write_each_notification_once(
    db: Database, people: dict[str, Principal]
) -> None:
    """Two sessions interleaved for real: B sweeps while A's rows are written but not committed
    (on PostgreSQL B's look-up sees nothing and its insert waits on A's unique key; on SQLite B
    waits for A's write lock). Both succeed; one warning and one escalation per case."""
    for hour in (9, 10):
        new_case(db, people["cs_manager"], local(2026, 3, 2, hour, 0))
    moment = local(2026, 3, 4, 9, 30)
    outcome: dict[str, object] = {}

    def second_sweep() -> None:
        try:
            with db.write() as session:
                outcome["b"] = sweep_sla(session, moment)["notifications"]
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error

    with db.write() as session:
        written = sweep_sla(session, moment)["notifications"]
        worker = threading.Thread(target=second_sweep)
        worker.start()
        deadline = time.monotonic() + 10
        if not db.is_sqlite:
            while not _waiting_on_a_lock(db) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _waiting_on_a_lock(db), "the second sweep never reached its insert"
        else:
            time.sleep(0.2)
    worker.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert written >= 2 and outcome["b"] == 0  # a breach per case at least
    rows = outbox_rows(db)
    assert len(rows) == written == len({r.dedup_key for r in rows})
    assert sum("breached" in r.subject for r in rows) == 2


def _leader_mail(db: Database, email_on: bool, quiet: tuple[str, str] | None) -> None:
    with db.write() as session:
        manager = accounts.get_user(session, "cs_manager")
        person = session.scalar(select(Person).where(Person.user_id == manager.id))
        person.email = "cs.manager@example.cn"
        start, end = quiet or (None, None)
        session.add(
            Preference(user_id=manager.id, email=email_on, quiet_start=start, quiet_end=end)
        )


def _escalation_deliveries(db: Database, at: datetime) -> tuple[Outbox, list[Delivery]]:
    with db.write() as session:
        sweep_sla(session, at)
        deliver.plan(session, at)
    with db.read() as session:
        escalation = session.scalar(select(Outbox).where(Outbox.subject.contains("breached")))
        deliveries = list(
            session.scalars(select(Delivery).where(Delivery.outbox_id == escalation.id))
        )
    return escalation, deliveries


def test_an_escalation_waits_for_the_leaders_quiet_hours(
    db: Database, people: dict[str, Principal]
) -> None:
    _leader_mail(db, email_on=True, quiet=("09:00", "12:00"))
    new_case(db, people["cs_manager"], local(2026, 3, 2, 9, 0))
    escalation, deliveries = _escalation_deliveries(db, LATE)
    assert escalation.recipient == "leader:complaint_handling"  # a person, not an address
    ((delivery),) = deliveries
    assert delivery.destination == "cs.manager@example.cn"
    assert delivery.next_attempt_at == local(2026, 3, 3, 12, 0)  # after the quiet hours


def test_a_leader_who_switched_email_off_gets_no_email(
    db: Database, people: dict[str, Principal]
) -> None:
    _leader_mail(db, email_on=False, quiet=None)
    new_case(db, people["cs_manager"], local(2026, 3, 2, 9, 0))
    escalation, deliveries = _escalation_deliveries(db, LATE)
    assert escalation.recipient == "leader:complaint_handling"
    assert [d for d in deliveries if d.channel == "email"] == []


def test_an_escalation_goes_to_the_assigned_groups_leader(
    db: Database, people: dict[str, Principal]
) -> None:
    manager = people["cs_manager"]
    case_id = new_case(db, manager, local(2026, 3, 2, 9, 0))
    with db.read() as session:
        leadership = session.scalar(select(Group.id).where(Group.key == "leadership"))
    with db.write() as session:
        session.get(ComplaintCase, case_id).assignee_group_id = leadership
    with db.write() as session:
        sweep_sla(session, LATE)
    assert outbox_rows(db)[-1].recipient == f"leader:{leadership}"


def test_the_sweep_decrypts_no_personal_data(
    db: Database, people: dict[str, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deadlines need no complainant: the sweep neither joins nor decrypts their data."""
    from clamor.storage import crypto

    clock.freeze(local(2026, 3, 2, 9, 0))
    submit(db, people["cs_rep"], complaint("pii", name="王小明", phone="13812345678"))
    decrypted: list[str] = []
    real = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda stored: decrypted.append(stored) or real(stored))
    with db.write() as session:
        assert sweep_sla(session, LATE)["evaluated"] == 1
    assert decrypted == []


def test_the_scheduled_sweep_commits_batch_by_batch(
    db: Database, people: dict[str, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler's sweep commits every `batch` cases, so other writers get in between; a
    sweep that fails part way keeps the batches it finished and the next sweep does the rest,
    each notification still once."""
    for minute in range(5):
        new_case(db, people["cs_manager"], local(2026, 3, 2, 9, minute))
    real_message = sla_service._message
    calls: list[int] = []

    def failing_on_the_fourth(case: ComplaintCase, note: object) -> tuple[str, str]:
        calls.append(case.id)
        if len(calls) == 4:
            raise RuntimeError("the relay's address book is down")
        return real_message(case, note)  # type: ignore[arg-type]

    monkeypatch.setattr(sla_service, "_message", failing_on_the_fourth)
    with pytest.raises(RuntimeError):
        sla_service.sweep_sla_committing(db, LATE, batch=2)
    assert len(outbox_rows(db)) == 2  # the first batch of two committed; the second rolled back
    monkeypatch.setattr(sla_service, "_message", real_message)
    resumed = sla_service.sweep_sla_committing(db, LATE, batch=2)
    # The first batch's two cases breached: time alone cannot change them any more.
    assert resumed == {"evaluated": 3, "notifications": 3}
    assert len({row.dedup_key for row in outbox_rows(db)}) == len(outbox_rows(db)) == 5
    assert sla_service.sweep_sla_committing(db, LATE, batch=2) == {
        "evaluated": 0,
        "notifications": 0,
    }


def test_the_sweep_reads_only_cases_whose_warning_or_breach_has_come(
    db: Database, people: dict[str, Principal]
) -> None:
    """Each case keeps when time alone next changes its SLA; the sweep reads only those due (at
    100,000 open cases re-reading all costs seconds a minute). A policy change or a company day
    makes the next sweep read every open case again."""
    manager = people["cs_manager"]
    early = new_case(db, manager, local(2026, 3, 2, 9, 0))  # Mon 09:00, first response 9 h
    late = new_case(db, manager, local(2026, 3, 2, 15, 0))
    sweep = sla_service.sweep_sla_committing
    assert sweep(db, local(2026, 3, 2, 9, 30))["evaluated"] == 0  # both looked at on intake
    with db.read() as session:
        first = session.get(ComplaintCase, early)
        # 75 % of 9 business hours from Mon 09:00 = 6 h 45 min (a lunch hour in between).
        assert first.sla_check_at is not None and first.sla_check_at > local(2026, 3, 2, 9, 30)
        warns_at = first.sla_check_at
    assert sweep(db, warns_at)["evaluated"] == 1  # the early case, now in warning
    with db.read() as session:
        warned = session.get(ComplaintCase, early)
        assert warned.sla_state == "warning" and warned.sla_check_at == warned.first_response_due_at
        assert session.get(ComplaintCase, late).sla_state == "ok"
    assert [row.subject for row in outbox_rows(db)]  # the warning went out
    with db.write() as session:
        sla_service.add_company_day(session, manager, "2026-03-03", "closed", "anniversary")
    assert sweep(db, warns_at)["evaluated"] == 2  # the calendar changed: every open case
    assert sweep(db, warns_at)["evaluated"] == 0
