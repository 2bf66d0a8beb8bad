"""The public complaint form and status page over HTTP: no login, honeypot, rate limit,
attachment limits, and a status page that leaks nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from clamor.storage.database import Database
from clamor.workflow.complaints.models import Attachment, ComplaintCase
from tests.web.conftest import Browser

CODE = re.compile(r'id="tracking-code">([0-9A-Z-]+)<')


def cases(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ComplaintCase)) or 0


def form(browser: Browser, **fields: str) -> dict[str, str]:
    page = browser.get("/complain").text
    submission = re.search(r'name="submission_id" value="([0-9a-f]{32})"', page)
    assert submission is not None
    values = {"text": "楼上噪音太大，物业不管", "phone": "13812345678", "website": ""}
    return {**values, "submission_id": submission.group(1), **fields}


def test_a_visitor_complains_and_checks_the_status(browser: Browser, db: Database) -> None:
    data = form(browser, email="zhang@example.com")
    response = browser.post_form(
        "/complain",
        data,
        files={"attachments": ("photo.png", b"\x89PNG" + b"0" * 100, "image/png")},
    )
    assert response.status_code == 200
    code = CODE.search(response.text).group(1)
    assert browser.post_form("/complain", data).status_code == 200  # the same form again
    assert cases(db) == 1
    with db.read() as session:
        assert session.scalar(select(Attachment.filename)) == "photo.png"
    browser.get("/complain/status")
    found = browser.post_form("/complain/status", {"code": code, "contact": "138 1234 5678"})
    assert 'id="status-result"' in found.text and code in found.text


def test_wrong_contact_and_unknown_code_get_the_same_answer(browser: Browser, db: Database) -> None:
    response = browser.post_form("/complain", form(browser))
    code = CODE.search(response.text).group(1)
    browser.get("/complain/status")
    wrong = browser.post_form("/complain/status", {"code": code, "contact": "13900000000"})
    unknown_code = "00000-0000" + _check("000000000")
    unknown = browser.post_form(
        "/complain/status", {"code": unknown_code, "contact": "13900000000"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert 'id="status-none"' in wrong.text
    strip = lambda page, value: page.replace(value, "CODE")  # noqa: E731
    assert strip(wrong.text, code) == strip(unknown.text, unknown_code)


def _check(body: str) -> str:
    from clamor.workflow.complaints.tracking import check_character

    return check_character(body)


def test_the_honeypot_drops_bots_quietly(browser: Browser, db: Database) -> None:
    response = browser.post_form("/complain", form(browser, website="http://spam.example"))
    assert response.status_code == 200 and "tracking-code" not in response.text
    assert cases(db) == 0


def test_bad_attachments_are_refused_and_nothing_is_stored(browser: Browser, db: Database) -> None:
    too_big = ("big.pdf", b"0" * 5_000_001, "application/pdf")
    response = browser.post_form("/complain", form(browser), files={"attachments": too_big})
    assert response.status_code == 422 and 'data-field="attachments"' in response.text
    exe = ("tool.exe", b"MZ", "application/x-msdownload")
    response = browser.post_form("/complain", form(browser), files={"attachments": exe})
    assert response.status_code == 422 and "application/x-msdownload" in response.text
    assert cases(db) == 0


def test_a_contact_is_required_and_the_text_kept(browser: Browser, db: Database) -> None:
    response = browser.post_form("/complain", form(browser, phone="", text="退款不到账"))
    assert response.status_code == 422 and 'data-field="contact"' in response.text
    assert "退款不到账" in response.text and cases(db) == 0


def test_the_form_is_rate_limited_per_address(browser: Browser, db: Database) -> None:
    limit = browser.client.app.state.clamor.settings.complaint_form_limit_per_hour
    for _ in range(limit):
        assert browser.post_form("/complain", form(browser)).status_code == 200
    refused = browser.post_form("/complain", form(browser))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert cases(db) == limit


def test_the_form_speaks_english(browser: Browser) -> None:
    browser.client.cookies.set("clamor_lang", "en")
    assert "Submit a complaint" in browser.get("/complain").text
