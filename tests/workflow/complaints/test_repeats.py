"""Repeat complaints found by batch intake: links inside one batch, links to stored cases written
with the new rows, past complaints imported after later ones, and retries that double nothing —
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clamor.core.principal import Principal
from clamor.storage.database import Database
from clamor.workflow.complaints import service
from clamor.workflow.complaints.models import CaseEvent, Complainant, ComplaintCase
from tests.conftest import RoleUsers
from tests.workflow.complaints.conftest import complaint, load, submit, utc
from tests.workflow.complaints.test_api import token

NOISE = "楼下装修的噪音从早上七点一直持续到晚上十点，物业完全不管，我已经连续投诉三次了"


def links(db: Database, *case_ids: int) -> list[tuple[int | None, str | None]]:
    return [(load(db, i).repeat_of_id, load(db, i).repeat_reason) for i in case_ids]


def test_cases_of_one_batch_link_to_the_first_of_their_chain(
    db: Database, people: dict[str, Principal]
) -> None:
    first, second, other, third, copy = submit(
        db,
        people["cs_rep"],
        complaint("b1", "快递丢了", phone="13812345678"),
        complaint("b2", "发票开错了", channel="hotline", phone="+86 138 1234 5678"),
        complaint("b3", "发票开错了", phone="13900001111"),
        complaint("b4", "还是没人管", email="wang@example.com", phone="13812345678"),
        complaint("b5", NOISE + "！！", channel="email"),
    )
    ids = [r.case.id for r in (first, second, other, third, copy)]
    assert links(db, *ids) == [
        (None, None),
        (first.case.id, "contact"),
        (None, None),  # a short text alone is no repeat
        (first.case.id, "contact"),  # the chain's first case, not the latest one
        (None, None),  # no earlier text like it
    ]
    with db.read() as session:
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == third.case.id))
    assert event.data == {"channel": "api", "repeat_of": first.case.id}


def test_a_batch_links_to_stored_cases_and_to_its_own(
    db: Database, people: dict[str, Principal]
) -> None:
    (stored,) = submit(db, people["cs_rep"], complaint("s1", NOISE, email="li@example.com"))
    again, near, later = submit(
        db,
        people["cs_rep"],
        complaint("s2", "又来投诉", email="LI@example.com "),
        complaint("s3", NOISE + "。", channel="hotline", phone="13700000000"),
        complaint("s4", "第二次打电话", phone="137 0000 0000"),
    )
    assert links(db, again.case.id, near.case.id, later.case.id) == [
        (stored.case.id, "contact"),
        (stored.case.id, "text"),
        (stored.case.id, "contact"),  # through `near`, whose chain starts at `stored`
    ]


def test_a_past_complaint_links_to_the_case_before_it_not_a_later_one(
    db: Database, people: dict[str, Principal], at
) -> None:
    at(utc(2026, 3, 10, 9))
    phone = "13812345678"
    january_call = complaint("p1", "快递丢了", phone=phone, received_at=utc(2026, 1, 1, 9))
    march_call = complaint("p2", "又丢了", phone=phone, received_at=utc(2026, 3, 1, 9))
    (january,) = submit(db, people["cs_rep"], january_call)
    (march,) = submit(db, people["cs_rep"], march_call)
    assert load(db, march.case.id).repeat_of_id is None  # 59 days later: outside the window
    # An import of older calls: the one of 20 January repeats January's case (the latest before
    # it), although a later case of the same phone is stored; the batch reaches to March.
    imported, recent = submit(
        db,
        people["cs_rep"],
        complaint("p3", "上次的事", channel="hotline", phone=phone, received_at=utc(2026, 1, 20)),
        complaint(
            "p4", "别的事", channel="hotline", phone="13900001111", received_at=utc(2026, 3, 5)
        ),
    )
    assert links(db, imported.case.id, recent.case.id) == [
        (january.case.id, "contact"),
        (None, None),
    ]


def test_a_repeat_is_not_linked_after_the_window(
    db: Database, people: dict[str, Principal], at
) -> None:
    at(utc(2026, 3, 10, 9))
    (old,) = submit(
        db,
        people["cs_rep"],
        complaint(
            "w1", NOISE, phone="13812345678", received_at=utc(2026, 3, 10, 9) - timedelta(31)
        ),
    )
    (new,) = submit(db, people["cs_rep"], complaint("w2", NOISE + "！", phone="13812345678"))
    assert links(db, new.case.id) == [(None, None)]
    assert old.case.id != new.case.id


def test_a_retried_batch_doubles_nothing(db: Database, people: dict[str, Principal]) -> None:
    batch = [complaint(f"r{i}", f"第{i}次投诉：快递丢了", phone="13812345678") for i in range(3)]
    with db.write() as session:
        first = service.submit_ids(session, people["cs_rep"], batch)
    with db.write() as session:
        again = service.submit_ids(session, people["cs_rep"], [*batch, batch[0]])
    assert [o.created for o in first] == [True] * 3
    assert [o.created for o in again] == [False] * 4
    assert [(o.case_id, o.tracking_code) for o in again] == [
        (o.case_id, o.tracking_code) for o in (*first, first[0])
    ]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ComplaintCase)) == 3
        assert session.scalar(select(func.count()).select_from(Complainant)) == 3
    assert links(db, first[1].case_id, first[2].case_id) == [(first[0].case_id, "contact")] * 2


def test_an_api_batch_links_two_complaints_from_the_same_phone(
    client: TestClient, db: Database, seeded: RoleUsers
) -> None:
    items = [
        {"external_id": "a1", "text": "订单退款一直没到账", "phone": "13812345678"},
        {"external_id": "a2", "text": "手机充电器坏了", "phone": "13900001111"},
        {"external_id": "a3", "text": "退款还是没到", "phone": "+86 13812345678"},
    ]
    response = client.post("/api/v1/complaints/batch", json={"items": items}, headers=token(db))
    assert response.status_code == 200 and response.json()["created"] == 3
    first, other, third = (r["id"] for r in response.json()["results"])
    assert links(db, first, other, third) == [(None, None), (None, None), (first, "contact")]
    with db.read() as session:
        codes = dict(session.execute(select(ComplaintCase.id, ComplaintCase.tracking_code)).all())
    assert [codes[r["id"]] for r in response.json()["results"]] == [
        r["tracking_code"] for r in response.json()["results"]
    ]
