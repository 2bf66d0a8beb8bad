"""Monitoring's refusals reach a person in the language they read: the sources and watch-query
pages in Chinese (and in English for whoever chose it), a service refusal through `text`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clamor.accounts import service as accounts
from clamor.analysis.watch import QuerySyntaxError, WatchSet
from clamor.core.errors import ConflictError, NotFoundError, ValidationError
from clamor.core.principal import SYSTEM
from clamor.monitoring import service
from clamor.org import service as org
from clamor.storage.database import Database
from tests.web.conftest import Browser, signed_in_as


def _signed_in(client: TestClient, db: Database, username: str, language: str) -> Browser:
    with db.write() as session:
        user = accounts.get_user(session, username)
        accounts.set_language(session, org.principal_for(session, user), language)
    person = signed_in_as(client, username)
    person.get("/monitoring/sources")  # the page whose form carries the CSRF token
    return person


def test_a_duplicate_source_is_refused_in_the_reader_s_language(
    client: TestClient, seeded, db: Database
) -> None:
    with db.write() as session:
        service.add_feed(session, SYSTEM, "行业新闻", "https://example.com/feed.xml", 300)
    form = {"name": "行业新闻", "url": "https://example.com/other.xml", "interval": "300"}

    chinese = _signed_in(client, db, "pr_manager", "zh-CN").post_form("/monitoring/sources", form)
    assert chinese.status_code == 409
    assert "已有名为“行业新闻”的信息源。" in chinese.text
    assert "exists already" not in chinese.text

    english = _signed_in(client, db, "pr_manager", "en").post_form("/monitoring/sources", form)
    assert english.status_code == 409
    assert "a source named &#39;行业新闻&#39; exists already" in english.text


def test_a_broken_query_names_its_position_in_chinese(
    client: TestClient, seeded, db: Database
) -> None:
    person = _signed_in(client, db, "pr_manager", "zh-CN")
    person.get("/monitoring/queries")
    bad = person.post_form(
        "/monitoring/queries", {"name": "品牌", "kind": "brand", "query": "nova NEAR/x 电池"}
    )
    assert bad.status_code == 422
    assert "NEAR 需要指定距离，例如 NEAR/5（位置 5）。" in bad.text


def test_service_refusals_speak_both_languages(db: Database, seeded) -> None:
    with db.write() as session, pytest.raises(NotFoundError) as missing:
        service.change_alert(session, SYSTEM, 999, "acknowledge")
    assert missing.value.message == "no alert 999"
    assert missing.value.text("zh-CN") == "预警 999 不存在。"

    with db.write() as session:
        service.create_query(session, SYSTEM, "品牌", "brand", "nova")
    with db.write() as session, pytest.raises(ConflictError) as taken:
        service.create_query(session, SYSTEM, "品牌", "product", "nova phone")
    assert taken.value.message == "a watch query named '品牌' exists already"
    assert taken.value.text("zh-CN") == "已有名为“品牌”的监测词。"

    with db.read() as session, pytest.raises(ValidationError) as hours:
        service.dashboard(session, hours=0)
    assert hours.value.text("zh-CN") == "时间范围须在 1 到 744 小时之间。"


def test_a_query_error_wrapped_by_compile_keeps_its_position_in_either_language() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        WatchSet.compile({"ok": "refund", "broken": "refund AND"})
    error = caught.value
    assert (error.field, error.position) == ("broken", 10)
    assert error.message == "query 'broken': query ends where a term was expected at position 10"
    assert error.text("en") == error.message
    assert error.text("zh-CN") == "监测词“broken”：检索式不完整，此处缺少检索词（位置 10）。"
