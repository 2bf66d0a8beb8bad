"""Complaint cases in the database: creation from intake, transitions, personal data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from clamor.audit.models import AuditEntry
from clamor.core.errors import (
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from clamor.core.principal import Principal
from clamor.intake.models import Item
from clamor.storage.database import Database
from clamor.workflow.complaints import service
from clamor.workflow.complaints.models import CaseEvent, Complainant, ComplaintCase
from clamor.workflow.complaints.tracking import is_valid_tracking_code
from tests.workflow.complaints.conftest import complaint, load, submit

PHONE = "+86 138-1234-5678"


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def actions(db: Database, case_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "complaint", AuditEntry.object_id == str(case_id))
                .order_by(AuditEntry.id)
            )
        )


def test_a_complaint_becomes_an_analysed_case(db: Database, people: dict[str, Principal]) -> None:
    (result,) = submit(
        db, people["cs_rep"], complaint("a1", "手机屏幕碎了，我要退款，否则去消协投诉")
    )
    case = load(db, result.case.id)
    assert result.created and is_valid_tracking_code(case.tracking_code)
    assert case.status == "received" and case.channel == "api"
    assert case.category in {
        "product_quality",
        "service_attitude",
        "data_privacy",
        "social_responsibility",
        "other",
    }
    assert case.priority in {"urgent", "high", "normal", "low"} and case.severity > 0
    assert case.first_response_due_at is not None and case.resolution_due_at is not None
    with db.read() as session:
        item = session.get(Item, case.item_id)
        assert item.analysed_at is not None and item.analysis["severity"]["score"] == case.severity
    assert actions(db, case.id) == ["complaint.create"]


def test_the_same_external_id_twice_is_one_case(db: Database, people: dict[str, Principal]) -> None:
    first = submit(db, people["cs_rep"], complaint("x"), complaint("x"))
    again = submit(db, people["cs_rep"], complaint("x"))
    assert [r.created for r in first] == [True, False] and not again[0].created
    assert first[0].case.id == first[1].case.id == again[0].case.id
    assert count(db, ComplaintCase) == 1 and count(db, Item) == 1


def test_a_bad_contact_stores_nothing(db: Database, people: dict[str, Principal]) -> None:
    with pytest.raises(ValidationError) as caught:
        submit(db, people["cs_rep"], complaint("ok"), complaint("bad", phone="12"))
    assert caught.value.field == "phone"
    assert count(db, ComplaintCase) == 0 and count(db, Item) == 0


def test_personal_data_is_encrypted_at_rest(db: Database, people: dict[str, Principal]) -> None:
    submit(db, people["cs_rep"], complaint("p", name="王小明", phone=PHONE, email="W@Example.com"))
    with db.engine.connect() as connection:
        row = connection.execute(text("SELECT name, phone, email FROM complainants")).one()
    assert all(value.startswith("v1:") for value in row)
    assert "王小明" not in str(row) and "13812345678" not in str(row)
    with db.read() as session:
        person = session.scalars(select(Complainant)).one()
        assert (person.name, person.phone, person.email) == (
            "王小明",
            "+8613812345678",
            "w@example.com",
        )


def test_views_mask_personal_data_and_reveal_is_audited(
    db: Database, people: dict[str, Principal]
) -> None:
    (result,) = submit(
        db, people["cs_rep"], complaint("m", "我的电话13812345678一直被骚扰", phone=PHONE)
    )
    with db.read() as session:
        case = service.get_case(session, result.case.id)
        view = service.contact_view(case.complainant, revealed=False)
        masked = service.masked_text(session.get(Item, case.item_id))
    assert view is not None and view.phone == "138****5678"
    assert "13812345678" not in masked and "138****5678" in masked
    with pytest.raises(PermissionDenied), db.write() as session:
        service.reveal(session, people["cs_rep"], result.case.id)
    with db.write() as session:
        service.reveal(session, people["cs_manager"], result.case.id)
    assert actions(db, result.case.id)[-1] == "complaint.reveal_pii"


def walk(db: Database, actor: Principal, case_id: int, *steps: tuple[str, dict]) -> ComplaintCase:
    for action, fields in steps:
        with db.write() as session:
            service.act(session, actor, case_id, action, fields)
    return load(db, case_id)


def test_the_whole_lifecycle_is_recorded(db: Database, people: dict[str, Principal]) -> None:
    (result,) = submit(db, people["cs_rep"], complaint("life"))
    manager = people["cs_manager"]
    case = walk(
        db,
        manager,
        result.case.id,
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_rep", "assignee_group": "complaint_handling"}),
        ("start", {}),
        ("request_info", {"message": "请提供订单号"}),
        ("provide_info", {}),
        ("reply", {"reply": "已为您办理退款"}),
        ("request_feedback", {}),
        ("reopen", {"reason": "客户不满意"}),
        ("reply", {"reply": "已全额退款并致歉"}),
        ("close_satisfied", {}),
    )
    assert case.status == "closed" and case.sla_cycle == 1 and case.sla_state == "done"
    assert case.first_responded_at is not None and case.closed_at is not None
    assert len(case.pauses) == 2 and all(end for _, end in case.pauses)
    assert case.assignee_user_id is not None and case.assignee_group_id is not None
    with db.read() as session:
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).all()
    assert [e.action for e in events][:3] == ["create", "acknowledge", "accept"]
    assert events[-3].reason == "客户不满意"
    assert actions(db, case.id)[-1] == "complaint.close_satisfied"


def test_an_illegal_transition_changes_nothing(db: Database, people: dict[str, Principal]) -> None:
    (result,) = submit(db, people["cs_rep"], complaint("ill"))
    with pytest.raises(InvalidTransition), db.write() as session:
        service.act(session, people["cs_manager"], result.case.id, "close_satisfied", {})
    assert load(db, result.case.id).status == "received"
    assert actions(db, result.case.id) == ["complaint.create"]


def test_permissions_and_required_fields_are_checked(
    db: Database, people: dict[str, Principal]
) -> None:
    (result,) = submit(db, people["cs_rep"], complaint("perm"))
    case_id = result.case.id
    walk(db, people["cs_rep"], case_id, ("acknowledge", {}), ("accept", {}))
    with pytest.raises(PermissionDenied), db.write() as session:
        service.act(session, people["cs_rep"], case_id, "assign", {"assignee_user": "cs_rep"})
    with pytest.raises(ValidationError) as caught, db.write() as session:
        service.act(session, people["cs_manager"], case_id, "assign", {"assignee_user": "nobody"})
    assert caught.value.field == "assignee_user"
    (other,) = submit(db, people["cs_rep"], complaint("perm2"))
    with pytest.raises(ValidationError) as caught, db.write() as session:
        service.act(session, people["cs_rep"], other.case.id, "reject", {"reason": "  "})
    assert caught.value.field == "reason"


def test_merge_links_the_cases_and_refuses_itself(
    db: Database, people: dict[str, Principal]
) -> None:
    first, second = submit(db, people["cs_rep"], complaint("m1"), complaint("m2", "另一件事"))
    leader = people["cs_manager"]
    with pytest.raises(ValidationError), db.write() as session:
        service.act(session, leader, first.case.id, "merge", {"target_case": str(first.case.id)})
    with pytest.raises(NotFoundError), db.write() as session:
        service.act(session, leader, first.case.id, "merge", {"target_case": "999999"})
    with pytest.raises(ValidationError) as caught, db.write() as session:
        service.act(session, leader, first.case.id, "merge", {"target_case": "K7Q2M"})
    assert caught.value.field == "target_case"
    code = second.case.tracking_code
    case = walk(db, leader, first.case.id, ("merge", {"target_case": code}))
    assert case.status == "merged" and case.merged_into_id == second.case.id
    case = walk(db, leader, second.case.id, ("escalate", {"incident_id": "42"}))
    assert case.incident_id == 42 and case.status == "received"


def test_repeats_are_linked_by_contact_across_channels(
    db: Database, people: dict[str, Principal]
) -> None:
    (first,) = submit(db, people["cs_rep"], complaint("r1", "快递丢了", phone="13812345678"))
    (second,) = submit(
        db,
        people["cs_rep"],
        complaint("r2", "发票开错了", channel="hotline", phone="+86 138 1234 5678"),
    )
    (third,) = submit(db, people["cs_rep"], complaint("r3", "发票开错了", phone="13900001111"))
    assert load(db, second.case.id).repeat_of_id == first.case.id
    assert load(db, second.case.id).repeat_reason == "contact"
    assert load(db, third.case.id).repeat_of_id is None  # too short for a near-duplicate


def test_near_duplicate_texts_are_linked(db: Database, people: dict[str, Principal]) -> None:
    text = "楼下装修的噪音从早上七点一直持续到晚上十点，物业完全不管，我已经连续投诉三次了"
    (first,) = submit(db, people["cs_rep"], complaint("d1", text))
    (second,) = submit(db, people["cs_rep"], complaint("d2", text + "！！", channel="email"))
    (other,) = submit(
        db, people["cs_rep"], complaint("d3", "手机充电器用了两天就坏了，申请换货被拒绝")
    )
    assert load(db, second.case.id).repeat_of_id == first.case.id
    assert load(db, second.case.id).repeat_reason == "text"
    assert load(db, other.case.id).repeat_of_id is None


def test_export_and_erase_a_complainant(db: Database, people: dict[str, Principal]) -> None:
    (result,) = submit(
        db,
        people["cs_rep"],
        complaint("e1", "我叫王小明，电话13812345678，要求退款", name="王小明", phone=PHONE),
    )
    person_id = load(db, result.case.id).complainant_id
    with pytest.raises(PermissionDenied), db.write() as session:
        service.export_complainant(session, people["cs_rep"], person_id)
    with db.write() as session:
        exported = service.export_complainant(session, people["cs_manager"], person_id)
    assert exported["complainant"]["name"] == "王小明"
    assert exported["cases"][0]["tracking_code"] == result.case.tracking_code
    with db.write() as session:
        assert service.erase_complainant(session, people["cs_manager"], person_id, "本人申请") == 1
    case = load(db, result.case.id)
    with db.read() as session:
        person = session.get(Complainant, person_id)
        item = session.get(Item, case.item_id)
        assert person.name is None and person.phone is None and person.erased_at is not None
        assert "13812345678" not in item.text and "13812345678" not in str(item.analysis)
    assert case.category and case.status == "received"  # the case stays for statistics


def test_public_lookup_needs_the_code_and_the_contact(
    db: Database, people: dict[str, Principal]
) -> None:
    (result,) = submit(db, people["cs_rep"], complaint("s", email="li@example.com"))
    code = result.case.tracking_code
    with db.read() as session:
        assert service.public_lookup(session, code.lower(), " LI@example.com ").id == result.case.id
        assert service.public_lookup(session, code, "other@example.com") is None
        assert service.public_lookup(session, code, "13812345678") is None
        with pytest.raises(ValidationError):
            service.public_lookup(session, code[:-1] + ("0" if code[-1] != "0" else "1"), "x")
