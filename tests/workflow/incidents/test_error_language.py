"""A refusal of the incident workflow reaches a person in their language: Chinese on a zh-CN
page, English on an English one; the service keeps the English `message` (API, CLI, logs) and
can say it in either language."""

from __future__ import annotations

import re

import pytest

from clamor.core.errors import InvalidTransition, NotFoundError, ValidationError
from clamor.core.principal import Principal
from clamor.storage.database import Database
from clamor.workflow.incidents import service
from tests.web.conftest import signed_in_as
from tests.workflow.incidents.conftest import opened


def test_the_incident_page_refuses_in_the_reader_s_language(client, seeded) -> None:
    analyst = signed_in_as(client, "analyst")  # a new user reads the pages in zh-CN
    analyst.get("/incidents")
    created = analyst.post_form(
        "/incidents", {"title": "App 泄露手机号", "summary": "诈骗电话", "category": "data_privacy"}
    )
    incident_id = int(re.search(r"/incidents/(\d+)", created.headers["location"]).group(1))
    analyst.get(f"/incidents/{incident_id}")
    resolve = {"action": "resolve", "resolution_summary": "已处置"}
    refused = analyst.post_form(f"/incidents/{incident_id}/act", resolve)
    assert refused.status_code == 409
    assert "事件：当前状态 &#39;identified&#39; 下不能执行操作 &#39;resolve&#39;" in refused.text
    assert "is not allowed" not in refused.text

    analyst.post_form("/language", {"language": "en", "back": f"/incidents/{incident_id}"})
    analyst.get(f"/incidents/{incident_id}")
    refused = analyst.post_form(f"/incidents/{incident_id}/act", resolve)
    assert refused.status_code == 409
    assert "incident: action &#39;resolve&#39; is not allowed in state &#39;identified&#39;" in (
        refused.text
    )


def test_a_service_refusal_speaks_english_and_chinese(
    db: Database, people: dict[str, Principal]
) -> None:
    incident_id = opened(db, people["analyst"])
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
    ratings = {"severity": 3, "scope": 3, "risk": 3, "level": "III"}  # the matrix says II
    with pytest.raises(ValidationError) as caught, db.write() as session:
        service.act(session, people["cs_manager"], incident_id, "assess", ratings)
    error = caught.value  # a guard's problem, wrapped by the engine, follows the language too
    assert (
        error.message
        == "action 'assess': level III differs from the proposed II: give level_reason"
    )
    assert error.text("zh-CN") == (
        "操作 'assess'：级别 III 与矩阵建议的 II 不同：请填写理由（level_reason）。"
    )
    assert error.field == "level" and error.key == "error.workflow.guard_failed"

    with pytest.raises(NotFoundError) as missing, db.read() as session:
        service.get(session, 999_999)
    assert missing.value.message == "incident 999999 does not exist"
    assert missing.value.text("zh-CN") == "事件 999999 不存在。"

    with db.write() as session:
        service.act(session, people["cs_manager"], incident_id, "cancel", {"reason": "误报"})
    with pytest.raises(InvalidTransition) as final, db.write() as session:
        service.link_complaints(session, people["cs_manager"], incident_id, [1])
    assert final.value.message == f"incident {incident_id} is cancelled: nothing can change"
    assert final.value.text("zh-CN") == f"事件 {incident_id} 已处于终态（cancelled），不能再更改。"
