"""Plan §5: the resource registry and training with attendance, through the service and the
page; only who manages the organisation changes them, bad input names its field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clamor.accounts import service as accounts
from clamor.core.errors import PermissionDenied, ValidationError
from clamor.org.service import principal_for
from clamor.resources import service
from tests.web.conftest import Browser


def _principal(db, name: str):
    with db.read() as session:
        return principal_for(session, accounts.get_user(session, name))


def test_registry_and_training_with_attendance(db, seeded) -> None:
    admin, gm = _principal(db, "admin"), _principal(db, "gm")
    with db.write() as session:
        service.add_resource(
            session, admin, kind="hotline", name="客服热线 400-800-1234", contact="客服部"
        )
        service.add_resource(
            session, admin, kind="legal_contact", name="法务部 张律师", contact="legal@example.cn"
        )
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.add_resource(session, admin, kind="fax", name="x")
    assert error.value.field == "kind"
    with db.write() as session, pytest.raises(PermissionDenied):
        service.add_resource(session, gm, kind="hotline", name="x")
    with db.write() as session:
        training = service.add_training(
            session,
            admin,
            title="舆情应对培训",
            topic="opinion",
            held_at="2026-03-20T14:00",
            trainer="公关部",
        )
        result = service.record_attendance(
            session, admin, training.id, ["cs_rep", "analyst"], ["pr_manager"]
        )
    assert result == {"analyst": True, "cs_rep": True, "pr_manager": False}
    # The form's wall-clock time is Beijing time: 14:00 there is 06:00 UTC.
    assert training.held_at == datetime(2026, 3, 20, 6, 0, tzinfo=UTC)
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.record_attendance(session, admin, training.id, ["ghost"])
    assert error.value.field == "attendees"
    with db.read() as session:
        assert [r.kind for r in service.resources(session)] == ["hotline", "legal_contact"]
        assert service.attendance(session, training.id)["pr_manager"] is False


def test_resources_page(browser: Browser, db) -> None:
    browser.login("admin")
    assert browser.get("/resources").status_code == 200
    added = browser.post_form(
        "/resources", {"kind": "social_account", "name": "官方微博", "url": "https://weibo.com/x"}
    )
    assert added.status_code == 303
    refused = browser.post_form("/resources", {"kind": "social_account", "name": ""})
    assert refused.status_code == 422
    page = browser.get("/resources")
    assert "官方微博" in page.text and page.text.count("data-resource=") == 1
    browser.client.cookies.clear()
    browser.login("cs_rep")
    assert "官方微博" in browser.get("/resources").text
    browser.get("/resources")
    assert browser.post_form("/resources", {"kind": "hotline", "name": "x"}).status_code == 403


def test_training_time_is_entered_and_shown_in_beijing_time(browser: Browser, db) -> None:
    browser.login("admin")
    browser.get("/resources")
    added = browser.post_form(
        "/resources/trainings",
        {
            "title": "投诉处理培训",
            "topic": "complaints",
            "held_at": "2026-03-20T14:00",
            "trainer": "客服部",
        },
    )
    assert added.status_code == 303, added.text
    # What the admin typed is what everyone reads (not shifted by eight hours).
    assert "2026-03-20 14:00" in browser.get("/resources").text


def test_a_refused_resource_or_training_keeps_what_was_typed(browser: Browser, db) -> None:
    browser.login("admin")
    browser.get("/resources")
    refused = browser.post_form(
        "/resources", {"kind": "legal_contact", "name": "", "detail": "合同与个人信息合规"}
    )
    # The resources page again, the field named, nothing typed lost.
    assert refused.status_code == 422 and 'id="resources-error"' in refused.text
    assert "名称不能为空" in refused.text and 'value="合同与个人信息合规"' in refused.text
    assert '<option value="legal_contact" selected>' in refused.text
    refused = browser.post_form(
        "/resources/trainings",
        {
            "title": "舆情应对培训",
            "topic": "opinion",
            "held_at": "2026-13-01T10:00",
            "trainer": "公关部",
        },
    )
    assert refused.status_code == 422 and "培训时间必须是日期和时间" in refused.text
    assert 'value="舆情应对培训"' in refused.text and 'value="2026-13-01T10:00"' in refused.text
