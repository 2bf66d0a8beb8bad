"""The inbox: filters, search that finds two-character Chinese words, keyset pages, bulk assign,
and the case page with only the allowed actions — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from clamor.core.principal import Principal
from clamor.storage.database import Database
from clamor.workflow.complaints import service
from clamor.workflow.complaints.inbox import InboxFilter, list_cases
from tests.web.conftest import Browser
from tests.workflow.complaints.conftest import complaint, load, submit

TEXTS = [
    "申请退款一个月了还没到账",
    "楼下商铺噪音扰民",
    "客服电话一直打不通",
    "100% 的用户都遇到 this_bug",
    "退款流程太复杂",
]


def seed(db: Database, actor: Principal) -> list[int]:
    results = submit(db, actor, *(complaint(f"t{i}", t) for i, t in enumerate(TEXTS)))
    return [r.case.id for r in results]


def page(db: Database, **filters) -> list[int]:
    with db.read() as session:
        cases, _ = list_cases(session, InboxFilter(**filters))
    return [c.id for c in cases]


def test_search_finds_two_character_chinese_words(db: Database, people) -> None:
    ids = seed(db, people["cs_rep"])
    assert page(db, search="退款") == [ids[4], ids[0]]
    assert page(db, search="噪音") == [ids[1]]
    assert page(db, search="100%") == [ids[3]]  # LIKE wildcards are taken literally
    assert page(db, search="s%b") == [] and page(db, search="d_u") == []
    assert page(db, search="THIS_BUG") == [ids[3]]


def test_filters_and_keyset_pages(db: Database, people) -> None:
    ids = seed(db, people["cs_rep"])
    with db.write() as session:
        service.act(session, people["cs_manager"], ids[2], "acknowledge", {})
    assert page(db, status="acknowledged") == [ids[2]]
    assert page(db, status="received", channel="api") == [ids[4], ids[3], ids[1], ids[0]]
    with db.read() as session:
        first, after = list_cases(session, InboxFilter(), limit=2)
        second, after2 = list_cases(session, InboxFilter(before_id=after), limit=2)
        third, end = list_cases(session, InboxFilter(before_id=after2), limit=2)
    assert [c.id for c in first + second + third] == ids[::-1] and end is None


def test_inbox_page_filters_and_bulk_assigns(browser: Browser, db: Database, people) -> None:
    ids = seed(db, people["cs_rep"])
    for case_id in ids[:2]:
        for action in ("acknowledge", "accept"):
            with db.write() as session:
                service.act(session, people["cs_manager"], case_id, action, {})
    browser.login("cs_manager")
    listing = browser.get("/complaints?q=退款").text
    assert listing.count('class="case-row"') == 2
    response = browser.post_form(
        "/complaints/bulk-assign",
        {"case_ids": [str(ids[0]), str(ids[1]), str(ids[2])], "assignee_user": "cs_rep"},
    )
    assert response.status_code == 303 and "some_skipped" in response.headers["location"]
    assert load(db, ids[0]).status == "assigned" and load(db, ids[1]).status == "assigned"
    assert load(db, ids[2]).status == "received"
    cs_rep_id = load(db, ids[0]).assignee_user_id
    mine = browser.get(f"/complaints?assignee={cs_rep_id}").text
    assert mine.count('class="case-row"') == 2
    assert browser.get("/complaints?status=bogus").status_code == 422


def test_case_page_offers_only_the_allowed_actions(browser: Browser, db: Database, people) -> None:
    (result,) = submit(
        db, people["cs_rep"], complaint("c", "我的手机号13812345678被泄露", phone="13812345678")
    )
    browser.login("cs_rep")
    page_text = browser.get(f"/complaints/{result.case.id}").text
    offered = set(re.findall(r'data-action="([a-z_]+)"', page_text.split('id="timeline"')[0]))
    assert offered == {"acknowledge", "reject"}
    assert "13812345678" not in page_text and 'id="reveal"' not in page_text
    response = browser.post_form(f"/complaints/{result.case.id}/act", {"action": "acknowledge"})
    assert response.status_code == 303
    refused = browser.post_form(f"/complaints/{result.case.id}/act", {"action": "close_satisfied"})
    assert refused.status_code == 409
    browser.client.cookies.clear()
    browser.login("cs_manager")
    assert 'id="reveal"' in browser.get(f"/complaints/{result.case.id}").text
    revealed = browser.post_form(f"/complaints/{result.case.id}/reveal")
    assert "+8613812345678" in revealed.text


def test_reply_template_fills_the_reply(browser: Browser, db: Database, people) -> None:
    (result,) = submit(db, people["cs_rep"], complaint("r", name="王小明", phone="13812345678"))
    manager = people["cs_manager"]
    for action, fields in (
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_manager"}),
        ("start", {}),
    ):
        with db.write() as session:
            service.act(session, manager, result.case.id, action, fields)
    browser.login("cs_manager")
    text = browser.get(f"/complaints/{result.case.id}?template=reply").text
    reply = text.split('name="reply"')[1].split("</textarea>")[0]
    assert result.case.tracking_code in reply and "王小明" in reply
