"""The organisation page's edit forms: a refusal names the field and keeps what was typed."""

from __future__ import annotations

from clamor.org import service as org
from clamor.storage.database import Database
from tests.web.conftest import Browser


def test_a_refused_group_edit_keeps_the_typed_duties(browser: Browser, db: Database) -> None:
    browser.login("admin")
    browser.get("/organisation")
    fields = {"name_zh": " ", "name_en": "Opinion", "duties_zh": "盯紧舆情动态", "duties_en": ""}
    refused = browser.post_form("/organisation/groups/opinion_monitoring", fields)
    assert refused.status_code == 422 and "名称（中文）不能为空" in refused.text
    assert "盯紧舆情动态" in refused.text  # the typed duties, in the form opened again
    too_long = browser.post_form(
        "/organisation/groups/opinion_monitoring", {**fields, "name_zh": "舆" * 101}
    )
    assert too_long.status_code == 422 and "名称（中文）不能超过 100 个字符" in too_long.text
    with db.read() as session:
        group = next(g for g in org.load_org(session).groups if g.key == "opinion_monitoring")
    assert "盯紧舆情动态" not in group.duties.get("zh-CN", "")


def test_a_person_needs_a_real_email_and_a_refusal_keeps_the_row(
    browser: Browser, db: Database
) -> None:
    browser.login("admin")
    browser.get("/organisation")
    fields = {"name": "王总", "email": "wang-at-example", "phone": "010-1234", "username": "gm"}
    refused = browser.post_form("/organisation/people/gm", fields)
    assert refused.status_code == 422 and "不是有效的电子邮箱地址" in refused.text
    assert 'value="wang-at-example"' in refused.text and 'value="010-1234"' in refused.text
    with db.read() as session:
        person = next(p for p in org.load_org(session).people if p.key == "gm")
    assert person.email != "wang-at-example"


def test_adding_nobody_is_a_clear_422(browser: Browser) -> None:
    browser.login("admin")
    browser.get("/organisation")
    refused = browser.post_form(
        "/organisation/groups/leadership/members", {"person": "", "role": "member"}
    )
    assert refused.status_code == 422 and "请选择要加入的人员" in refused.text
