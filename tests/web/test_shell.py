"""The web shell end to end over HTTP: login, sessions, CSRF, permissions, language, pages."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clamor.accounts import service as accounts
from clamor.audit.models import AuditEntry
from clamor.core import clock
from clamor.core.principal import SYSTEM
from clamor.org import service as org
from clamor.storage.database import Database
from tests.web.conftest import Browser


def audit_rows(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_healthz_reports_version_and_database(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"]["ok"] is True and body["version"]


def test_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/organisation")
    assert (
        response.status_code == 303 and response.headers["location"] == "/login?next=/organisation"
    )


def test_login_and_see_the_organisation(browser: Browser) -> None:
    response = browser.login("gm")
    assert response.status_code == 303
    page = browser.get("/organisation")
    assert page.status_code == 200
    assert "信访舆情管理领导小组" in page.text and "组长" in page.text
    assert (
        "HttpOnly" in response.headers["set-cookie"]
        and "samesite=lax" in response.headers["set-cookie"].lower()
    )


def test_wrong_password_shows_the_error_and_then_the_rate_limit(browser: Browser) -> None:
    response = browser.login("gm", "not the password")
    assert response.status_code == 401 and "用户名或密码错误" in response.text
    for _ in range(4):
        browser.login("gm", "not the password")
    limited = browser.login("gm", "not the password")
    assert limited.status_code == 429 and "登录失败次数过多" in limited.text
    assert limited.headers["retry-after"]


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, db: Database
) -> None:
    browser.login("admin")
    browser.get("/organisation")
    before = audit_rows(db)
    response = browser.post_form(
        "/organisation/groups/leadership/members",
        {"person": "cs_rep", "role": "member"},
        csrf=False,
    )
    assert response.status_code == 403 and "安全令牌缺失或已过期" in response.text
    assert audit_rows(db) == before


def test_login_form_needs_the_csrf_token_too(browser: Browser) -> None:
    browser.get("/login")
    response = browser.post_form("/login", {"username": "gm", "password": "x"}, csrf=False)
    assert response.status_code == 403


def test_an_expired_session_sends_you_to_login(browser: Browser, settings, frozen_now) -> None:
    browser.login("gm")
    assert browser.get("/").status_code == 200
    clock.freeze(frozen_now + timedelta(hours=settings.session_lifetime_hours + 1))
    response = browser.get("/organisation")
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    assert "会话已过期" in browser.get(response.headers["location"]).text


def test_admin_edits_a_member_and_the_audit_log_shows_it(browser: Browser, db: Database) -> None:
    browser.login("admin")
    browser.get("/organisation")
    response = browser.post_form(
        "/organisation/groups/opinion_monitoring/members", {"person": "cs_rep", "role": "member"}
    )
    assert response.status_code == 303
    assert "成员已加入小组" in browser.get(response.headers["location"]).text
    audit_page = browser.get("/audit?action=org.member")
    assert "org.member.add" in audit_page.text and "cs_rep" in audit_page.text


def test_a_refused_edit_returns_403_and_changes_nothing(browser: Browser, db: Database) -> None:
    browser.login("cs_rep")
    browser.get("/")
    before = audit_rows(db)
    response = browser.post_form(
        "/organisation/groups/leadership/members", {"person": "cs_rep", "role": "leader"}
    )
    assert response.status_code == 403 and "org.manage" in response.text
    assert audit_rows(db) == before


def test_admin_rewrites_a_groups_duties(browser: Browser, db: Database) -> None:
    browser.login("admin")
    browser.get("/organisation")
    fields = {
        "name_zh": "舆情小组",
        "name_en": "Opinion group",
        "duties_zh": "盯紧舆情",
        "duties_en": "",
    }
    response = browser.post_form("/organisation/groups/opinion_monitoring", fields)
    assert response.status_code == 303
    page = browser.get("/organisation").text
    assert "舆情小组" in page and "盯紧舆情" in page
    empty = browser.post_form("/organisation/groups/opinion_monitoring", {**fields, "name_zh": " "})
    assert empty.status_code == 422 and "名称（中文）不能为空" in empty.text
    with db.read() as session:
        group = next(g for g in org.load_org(session).groups if g.key == "opinion_monitoring")
    assert group.name == {"zh-CN": "舆情小组", "en": "Opinion group"} and group.duties == {
        "zh-CN": "盯紧舆情"
    }


def test_an_invalid_edit_shows_the_message(browser: Browser) -> None:
    browser.login("admin")
    browser.get("/organisation")
    response = browser.post_form(
        "/organisation/groups/leadership/members", {"person": "cs_rep", "role": "leader"}
    )
    assert response.status_code == 422 and "该小组已有组长" in response.text


def test_malformed_org_yaml_upload_names_the_line(browser: Browser, db: Database) -> None:
    browser.login("admin")
    browser.get("/organisation")
    before = audit_rows(db)
    broken = (
        "groups:\n  - key: g\n    name: G\n    members:\n      - {person: ghost, role: leader}\n"
    )
    response = browser.client.post(
        "/organisation/import",
        data={"csrf_token": browser.csrf},
        files={"file": ("org.yaml", broken.encode(), "application/yaml")},
    )
    assert response.status_code == 422
    assert "第 5 行：groups[0].members[0].person：没有人员 “ghost”。" in response.text
    assert audit_rows(db) == before


def test_export_then_import_round_trips(browser: Browser, db: Database) -> None:
    browser.login("admin")
    exported = browser.get("/organisation/export.yaml")
    assert exported.status_code == 200 and "信访处理小组" in exported.text
    response = browser.client.post(
        "/organisation/import",
        data={"csrf_token": browser.csrf},
        files={"file": ("org.yaml", exported.content, "application/yaml")},
    )
    assert response.status_code == 303


def test_language_switch_is_remembered_for_the_user(browser: Browser, db: Database) -> None:
    browser.login("gm")
    browser.get("/")
    response = browser.post_form("/language", {"language": "en", "back": "/organisation"})
    assert response.status_code == 303
    assert "Leadership group" in browser.get("/organisation").text
    with db.read() as session:
        assert accounts.get_user(session, "gm").language == "en"


def test_a_page_that_does_not_exist_says_so_in_the_reader_s_language(browser: Browser) -> None:
    browser.login("gm")
    missing = browser.get("/no/such/page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    browser.post_form("/language", {"language": "en", "back": "/"})
    assert "Not Found" in browser.get("/no/such/page").text
    assert browser.client.get("/api/v1/no-such").json()["message"] == "Not Found"


def test_api_needs_a_token_and_the_right_scope(client: TestClient, db: Database, seeded) -> None:
    assert client.get("/api/v1/org").status_code == 401
    assert (
        client.get("/api/v1/org", headers={"Authorization": "Bearer clm_nonsense"}).status_code
        == 401
    )
    with db.write() as session:
        audit_only = accounts.create_token(session, SYSTEM, "gm", "audit", ["audit:read"]).secret
        org_reader = accounts.create_token(session, SYSTEM, "gm", "org", ["org:read"]).secret
    refused = client.get("/api/v1/org", headers={"Authorization": f"Bearer {audit_only}"})
    assert (
        refused.status_code == 403 and "scopes do not allow org.read" in refused.json()["message"]
    )
    allowed = client.get("/api/v1/org", headers={"Authorization": f"Bearer {org_reader}"})
    assert allowed.status_code == 200 and allowed.json()["groups"][0]["key"] == "leadership"


def test_api_token_cannot_exceed_its_owner(client: TestClient, db: Database, seeded) -> None:
    with db.write() as session:
        token = accounts.create_token(session, SYSTEM, "cs_rep", "wide", ["users:write"]).secret
    response = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_api_create_user_validates_and_refuses_duplicates(
    client: TestClient, db: Database, seeded
) -> None:
    with db.write() as session:
        token = accounts.create_token(session, SYSTEM, "admin", "users", ["users:write"]).secret
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/users", json={"username": "newbie", "password": "long enough"}, headers=headers
    )
    assert created.status_code == 201
    duplicate = client.post(
        "/api/v1/users", json={"username": "newbie", "password": "long enough"}, headers=headers
    )
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "username"
    missing = client.post("/api/v1/users", json={"username": "x"}, headers=headers)
    assert missing.status_code == 422 and missing.json()["field"] == "password"


def test_api_docs_are_served_from_the_package(client: TestClient) -> None:
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in client.get("/docs").text
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/htmx/htmx.min.js").status_code == 200
    assert client.get("/static/vendor/echarts/echarts.min.js").status_code == 200
    assert "/api/v1/org" in client.get("/openapi.json").json()["paths"]


def test_settings_page_creates_a_token_shown_once(browser: Browser, db: Database) -> None:
    browser.login("gm")
    browser.get("/settings")
    response = browser.client.post(
        "/settings/tokens", data={"csrf_token": browser.csrf, "name": "bi", "scopes": ["org:read"]}
    )
    assert response.status_code == 200 and 'id="new-token">clm_' in response.text
    assert 'id="new-token"' not in browser.get("/settings").text


def test_members_without_the_right_do_not_see_admin_navigation(browser: Browser) -> None:
    browser.login("cs_rep")
    page = browser.get("/").text
    assert 'href="/complaints"' in page and 'href="/audit"' not in page
    assert browser.get("/audit").status_code == 403


def test_org_read_in_english(browser: Browser, db: Database) -> None:
    with db.write() as session:
        accounts.set_language(
            session, org.principal_for(session, accounts.get_user(session, "gm")), "en"
        )
    browser.login("gm")
    assert "Complaint handling group" in browser.get("/organisation").text


def test_the_audit_log_reads_in_beijing_time_with_the_actions_words(
    browser: Browser, db: Database
) -> None:
    from datetime import UTC, datetime

    from clamor.audit import service as audit

    clock.freeze(datetime(2026, 3, 2, 1, 30, 5, tzinfo=UTC))
    try:
        with db.write() as session:
            audit.record(session, SYSTEM, "complaint.accept", "complaint", 7)
    finally:
        clock.freeze(None)
    browser.login("admin")
    page = browser.get("/audit?action=complaint.accept").text
    assert "2026-03-02 09:30:05" in page  # 01:30 UTC is 09:30 in Beijing
    assert "受理" in page and "complaint.accept" in page  # the words, and the code kept
    browser.post_form("/language", {"language": "en", "back": "/audit"})
    assert "Accept" in browser.get("/audit?action=complaint.accept").text


def test_a_malformed_query_value_is_named_in_the_reader_s_language(browser: Browser) -> None:
    browser.login("gm")
    refused = browser.get("/audit?before_id=abc")
    assert refused.status_code == 422 and "before_id：须为整数。" in refused.text
