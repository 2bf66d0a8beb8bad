"""A refusal of the organisation reaches a person in their language: Chinese on a zh-CN page,
English on an English one; the service keeps the English `message` (API, CLI, logs) and can say
it in either language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clamor.core.errors import ValidationError
from clamor.core.principal import SYSTEM
from clamor.org import service as org
from clamor.org.document import parse_org_yaml
from clamor.storage.database import Database
from tests.conftest import RoleUsers
from tests.web.conftest import Browser


def test_the_org_page_refuses_in_the_reader_s_language(browser: Browser) -> None:
    browser.login("admin")  # a new user reads the pages in zh-CN
    browser.get("/organisation")
    add_a_second_leader = {"person": "cs_rep", "role": "leader"}
    refused = browser.post_form("/organisation/groups/leadership/members", add_a_second_leader)
    assert refused.status_code == 422
    assert "该小组已有组长；请先将其改为副组长。" in refused.text
    assert "already has a leader" not in refused.text
    emptied = browser.post_form(
        "/organisation/groups/opinion_monitoring",
        {"name_zh": "", "name_en": "Opinion", "duties_zh": "舆情", "duties_en": ""},
    )
    assert emptied.status_code == 422 and "名称（中文）不能为空。" in emptied.text

    browser.post_form("/language", {"language": "en", "back": "/organisation"})
    browser.get("/organisation")
    refused = browser.post_form("/organisation/groups/leadership/members", add_a_second_leader)
    assert refused.status_code == 422
    assert "this group already has a leader; make them a deputy first" in refused.text


def test_a_service_refusal_speaks_english_and_chinese(db: Database, seeded: RoleUsers) -> None:
    with pytest.raises(ValidationError) as caught, db.write() as session:
        org.update_person(
            session, SYSTEM, "gm", name="王总", email="wang-at-example", phone=None, username=None
        )
    error = caught.value
    assert error.message == "email: 'wang-at-example' is not an e-mail address"
    assert error.text("zh-CN") == "邮箱：“wang-at-example” 不是有效的电子邮箱地址。"
    assert error.field == "email" and error.key == "error.org.bad_email"

    with pytest.raises(ValidationError) as caught:
        parse_org_yaml("people:\n  - key: p\n    name: P\n    shoe: 42\n")
    error = caught.value  # the problem inside "line: path: problem" follows the language too
    assert error.message.startswith("line 4: people[0].shoe: unknown field (allowed: ")
    assert error.text("zh-CN").startswith("第 4 行：people[0].shoe：未知字段（允许：")


def test_the_api_keeps_english_and_adds_the_key(client: TestClient, seeded: RoleUsers) -> None:
    refused = client.get("/api/v1/org")
    assert refused.status_code == 401
    assert refused.json()["message"] == (
        "log in first, or send an API token (Authorization: Bearer …)"
    )
    assert refused.json()["key"] == "error.web.login_needed"
