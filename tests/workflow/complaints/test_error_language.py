"""A refusal of the complaint side reaches a person in their language: the words come from the
catalogue (zh-CN on the pages by default), while `message` stays English for the API and logs."""

from __future__ import annotations

import pytest

from clamor.core.errors import NotFoundError, ValidationError
from clamor.core.principal import Principal
from clamor.storage.database import Database
from clamor.workflow.complaints import service
from tests.web.conftest import Browser
from tests.workflow.complaints.conftest import complaint, submit


def test_service_refusals_speak_chinese_and_english(
    db: Database, people: dict[str, Principal]
) -> None:
    with pytest.raises(ValidationError) as empty:
        service.check(complaint(text="  "))
    assert empty.value.message == "the complaint text must not be empty"
    assert empty.value.text("zh-CN") == "投诉内容不能为空。"

    (first,) = submit(db, people["cs_rep"], complaint("lang1"))
    leader = people["cs_manager"]
    with pytest.raises(ValidationError) as typo, db.write() as session:
        service.act(session, leader, first.case.id, "merge", {"target_case": "K7Q2M"})
    # the tracking code's own refusal, passed on under the merge's field, in the same language
    assert typo.value.field == "target_case"
    assert typo.value.message == "a tracking code has 10 characters, this one has 5"
    assert typo.value.text("zh-CN") == "受理编号应为 10 个字符，这个有 5 个。"

    with pytest.raises(NotFoundError) as missing, db.read() as session:
        service.get_case(session, 999_999)
    assert missing.value.text("zh-CN") == "没有 ID 为 999999 的信访案件。"
    assert missing.value.to_dict()["key"] == "error.complaints.no_case"


def test_the_settings_page_refuses_in_chinese(browser: Browser) -> None:
    browser.login("cs_manager")  # reads the pages in Chinese
    browser.get("/complaints/settings")
    refused = browser.post_form(
        "/complaints/settings/templates/reply/zh-CN",
        {"subject": "答复 {tracking_code}", "body": "{nickname}，您好"},
    )
    assert refused.status_code == 422
    assert "模板正文中有未知的占位符 {nickname}" in refused.text
    assert "unknown placeholder" not in refused.text
