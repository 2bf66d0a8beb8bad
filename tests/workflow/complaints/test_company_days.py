"""The company's own days on the business calendar: a closure day pushes a deadline, an extra
workday pulls one in, open cases take a change up at the next sweep; bad input is refused naming
the field, a date twice is refused, every change is audited — in the services and over HTTP."""

from __future__ import annotations

from datetime import date

import pytest

from clamor.accounts import service as accounts
from clamor.audit import service as audit
from clamor.core.errors import NotFoundError, PermissionDenied, ValidationError
from clamor.core.principal import Principal
from clamor.org import service as org
from clamor.storage.database import Database
from clamor.workflow.complaints import sla_service
from clamor.workflow.complaints.sla_service import PolicyIn, sweep_sla
from clamor.workflow.vocabulary import Priority
from tests.web.conftest import Browser
from tests.workflow.complaints.conftest import complaint, load, submit, utc

# Tuesday 10 March 2026, 10:00 in Shanghai: an ordinary working day.
TUESDAY_10 = utc(2026, 3, 10, 2, 0)


def two_and_ten_hours(db: Database, manager: Principal) -> None:
    """First response in 2 business hours, resolution in 10, for every priority."""
    with db.write() as session:
        entries = [PolicyIn(p.value, "*", 2, 10) for p in Priority]
        sla_service.save_policies(session, manager, entries)


def add_day(db: Database, actor: Principal, day: str, kind: str, label: str) -> None:
    with db.write() as session:
        sla_service.add_company_day(session, actor, day, kind, label)


def test_a_company_closure_day_pushes_the_deadline(db: Database, people, at) -> None:
    at(TUESDAY_10)
    manager = people["cs_manager"]
    two_and_ten_hours(db, manager)
    (before,) = submit(db, people["cs_rep"], complaint("c0"))
    # 8 h on Tuesday (10:00–18:00), 2 h on Wednesday: 11:00 on 11 March.
    assert load(db, before.case.id).resolution_due_at == utc(2026, 3, 11, 3, 0)
    add_day(db, manager, "2026-03-11", "closed", "司庆日")
    (after,) = submit(db, people["cs_rep"], complaint("c1"))
    case = load(db, after.case.id)
    assert case.first_response_due_at == utc(2026, 3, 10, 4, 0)  # 12:00 the same day
    assert case.resolution_due_at == utc(2026, 3, 12, 3, 0)  # Wednesday closed: Thursday 11:00
    # The case received before the day was added takes it up at the next sweep.
    with db.write() as session:
        sweep_sla(session, utc(2026, 3, 10, 3, 0))
    assert load(db, before.case.id).resolution_due_at == utc(2026, 3, 12, 3, 0)


def test_an_extra_workday_counts_a_saturday(db: Database, people, at) -> None:
    at(utc(2026, 3, 13, 2, 0))  # Friday 10:00
    manager = people["cs_manager"]
    two_and_ten_hours(db, manager)
    (plain,) = submit(db, people["cs_rep"], complaint("w0"))
    assert load(db, plain.case.id).resolution_due_at == utc(2026, 3, 16, 3, 0)  # Monday 11:00
    add_day(db, manager, "2026-03-14", "workday", "盘点加班")
    (result,) = submit(db, people["cs_rep"], complaint("w1"))
    assert load(db, result.case.id).resolution_due_at == utc(2026, 3, 14, 3, 0)  # Saturday


def test_the_calendar_lists_and_removes_days_and_audits_both(db: Database, people) -> None:
    manager = people["cs_manager"]
    add_day(db, manager, "2026-05-20", "closed", "Company anniversary")
    add_day(db, manager, " 2026-02-14 ", "workday", "Stocktaking")
    with db.read() as session:
        shown = [(d.day, d.kind, d.label) for d in sla_service.company_days(session)]
        calendar = sla_service.business_calendar(session)
    assert shown == [
        (date(2026, 2, 14), "workday", "Stocktaking"),
        (date(2026, 5, 20), "closed", "Company anniversary"),
    ]
    assert not calendar.is_working_day(date(2026, 5, 20))  # a Wednesday
    assert calendar.is_working_day(date(2026, 2, 14))  # a Saturday
    with db.write() as session:
        sla_service.remove_company_day(session, manager, "2026-05-20")
    with db.read() as session:
        assert sla_service.business_calendar(session).is_working_day(date(2026, 5, 20))
        entries = audit.search(session, audit.AuditFilter())
    actions = [(e.action, e.object_id) for e in entries if e.object_type == "company_day"]
    assert sorted(actions) == [
        ("complaint.company_day_add", "2026-02-14"),
        ("complaint.company_day_add", "2026-05-20"),
        ("complaint.company_day_remove", "2026-05-20"),
    ]
    removed = next(e for e in entries if e.action == "complaint.company_day_remove")
    assert removed.before == {"day": "2026-05-20", "kind": "closed", "label": "Company anniversary"}


@pytest.mark.parametrize(
    ("day", "kind", "label", "field"),
    [
        ("2026-02-30", "closed", "x", "day"),
        ("20/05/2026", "closed", "x", "day"),
        ("", "closed", "x", "day"),
        ("20260-05-20", "closed", "x", "day"),
        ("1926-05-20", "closed", "x", "day"),
        ("2026-05-20", "holiday", "x", "kind"),
        ("2026-05-20", "closed", "   ", "label"),
        ("2026-05-20", "closed", "x" * 201, "label"),
    ],
)
def test_bad_days_are_refused_naming_the_field(
    db: Database, people, day: str, kind: str, label: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught, db.write() as session:
        sla_service.add_company_day(session, people["cs_manager"], day, kind, label)
    assert caught.value.field == field
    with db.read() as session:
        assert sla_service.company_days(session) == []


def test_a_date_twice_is_refused_and_only_configurers_edit(db: Database, people) -> None:
    manager = people["cs_manager"]
    add_day(db, manager, "2026-05-20", "closed", "司庆日")
    with pytest.raises(ValidationError) as twice, db.write() as session:
        sla_service.add_company_day(session, manager, "2026-05-20", "workday", "加班")
    assert twice.value.field == "day" and "already" in twice.value.message
    with pytest.raises(PermissionDenied), db.write() as session:
        sla_service.add_company_day(session, people["cs_rep"], "2026-05-21", "closed", "x")
    with pytest.raises(PermissionDenied), db.write() as session:
        sla_service.remove_company_day(session, people["cs_rep"], "2026-05-20")
    with pytest.raises(NotFoundError) as missing, db.write() as session:
        sla_service.remove_company_day(session, manager, "2026-05-22")
    assert missing.value.field == "day"
    with db.read() as session:
        assert [(d.kind, d.label) for d in sla_service.company_days(session)] == [
            ("closed", "司庆日")
        ]


# --- over HTTP ----------------------------------------------------------------------------------


def test_company_days_are_edited_on_the_settings_page(browser: Browser, db: Database) -> None:
    browser.login("cs_manager")
    page = browser.get("/complaints/settings")
    assert page.status_code == 200 and 'id="company-days"' in page.text
    assert "公司自定休息日和工作日" in page.text  # the manager reads Chinese
    bad = browser.post_form(
        "/complaints/settings/days", {"day": "2026-02-30", "kind": "closed", "label": "司庆日"}
    )
    assert bad.status_code == 422 and "day：“2026-02-30”不是有效日期" in bad.text  # in Chinese
    assert 'value="司庆日"' in bad.text  # what was typed stays in the form
    added = browser.post_form(
        "/complaints/settings/days", {"day": "2026-05-20", "kind": "closed", "label": "司庆日"}
    )
    assert added.status_code == 303 and "company_day_added" in added.headers["location"]
    listed = browser.get(added.headers["location"])
    assert 'data-day="2026-05-20" data-kind="closed"' in listed.text
    assert "日期已添加到公司日历。" in listed.text
    twice = browser.post_form(
        "/complaints/settings/days", {"day": "2026-05-20", "kind": "workday", "label": "加班"}
    )
    assert twice.status_code == 422
    assert "2026-05-20 已在公司日历上（司庆日，公司休息日）" in twice.text
    removed = browser.post_form("/complaints/settings/days/2026-05-20/remove")
    assert removed.status_code == 303
    assert 'data-day="2026-05-20"' not in browser.get("/complaints/settings").text


def test_the_days_read_in_english_and_stay_read_only_for_handlers(
    browser: Browser, db: Database, people
) -> None:
    add_day(db, people["cs_manager"], "2026-05-20", "closed", "Company anniversary")
    with db.write() as session:
        user = accounts.get_user(session, "cs_rep")
        accounts.set_language(session, org.principal_for(session, user), "en")
    browser.login("cs_rep")
    page = browser.get("/complaints/settings")
    assert "Company closures and extra workdays" in page.text and "Closed" in page.text
    assert "/complaints/settings/days/2026-05-20/remove" not in page.text  # no remove button
    refused = browser.post_form(
        "/complaints/settings/days", {"day": "2026-05-21", "kind": "closed", "label": "x"}
    )
    assert refused.status_code == 403
    assert browser.post_form("/complaints/settings/days/2026-05-20/remove").status_code == 403
    with db.read() as session:
        assert len(sla_service.company_days(session)) == 1
