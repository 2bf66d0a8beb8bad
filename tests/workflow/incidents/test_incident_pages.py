"""Incident pages through HTTP: open, report, assess with the matrix's proposal, instruct from
the playbook, statements, the review report downloads, admin playbooks, the JSON API — and bad
input answered with 4xx naming the field, nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from clamor.core import clock
from clamor.workflow.incidents import service
from tests.web.conftest import Browser, signed_in_as

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> object:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def _open(person: Browser, **extra) -> int:
    person.get("/incidents")
    response = person.post_form(
        "/incidents",
        {
            "title": "App 泄露手机号",
            "summary": "多名用户收到诈骗电话",
            "category": "data_privacy",
            **extra,
        },
    )
    assert response.status_code == 303, response.text
    return int(re.search(r"/incidents/(\d+)", response.headers["location"]).group(1))


def test_open_report_assess_and_instruct_through_the_pages(client, seeded, db) -> None:
    analyst = signed_in_as(client, "analyst")
    incident_id = _open(analyst)
    page = analyst.get(f"/incidents/{incident_id}")
    assert page.status_code == 200 and 'data-state="identified"' in page.text
    assert (
        analyst.post_form(f"/incidents/{incident_id}/act", {"action": "report"}).status_code == 303
    )

    manager = signed_in_as(client, "cs_manager")
    proposal = manager.get(f"/incidents/{incident_id}?severity=3&scope=3&risk=3")
    assert '<span id="proposed-level">II</span>' in proposal.text
    response = manager.post_form(
        f"/incidents/{incident_id}/act",
        {"action": "assess", "severity": "3", "scope": "3", "risk": "3", "level": "II"},
    )
    assert response.status_code == 303
    listing = manager.get("/incidents")
    assert f'href="/incidents/{incident_id}"' in listing.text.split('id="leadership-watch"')[1]
    assert (
        manager.post_form(f"/incidents/{incident_id}/instruct", {"playbook": "1"}).status_code
        == 303
    )
    page = manager.get(f"/incidents/{incident_id}")
    assert 'data-state="instructed"' in page.text
    assert page.text.count("data-task=") == 6  # the data-privacy, major playbook


def test_bad_input_is_refused_naming_the_field_and_nothing_changes(client, seeded, db) -> None:
    analyst = signed_in_as(client, "analyst")
    refused = analyst.post_form("/incidents", {"title": "", "category": "data_privacy"})
    assert refused.status_code == 422 and "title" in refused.text
    incident_id = _open(analyst)
    # illegal transition: resolve an incident that is only identified
    manager = signed_in_as(client, "cs_manager")
    manager.get(f"/incidents/{incident_id}")
    refused = manager.post_form(
        f"/incidents/{incident_id}/act", {"action": "resolve", "resolution_summary": "x"}
    )
    assert refused.status_code == 409
    analyst = signed_in_as(client, "analyst")
    analyst.get(f"/incidents/{incident_id}")
    analyst.post_form(f"/incidents/{incident_id}/act", {"action": "report"})
    manager = signed_in_as(client, "cs_manager")
    manager.get(f"/incidents/{incident_id}")
    manager.post_form(
        f"/incidents/{incident_id}/act",
        {"action": "assess", "severity": "2", "scope": "2", "risk": "2", "level": "III"},
    )
    outsider = manager.post_form(
        f"/incidents/{incident_id}/instruct",
        {
            "task_type": "customer_communication",
            "title": "联系客户",
            "group": "complaint_handling",
            "assignee": "pr_manager",
            "hours": "4",
        },
    )
    assert outsider.status_code == 422
    assert "tasks[0]：用户 &#39;pr_manager&#39; 不是该任务所属小组的成员" in outsider.text
    with db.read() as session:
        assert service.tasks_of(session, incident_id) == []
        assert service.get(session, incident_id).state == "assessed"
    # a statement cannot be published before approval
    pr = signed_in_as(client, "pr_manager")
    pr.get(f"/incidents/{incident_id}")
    assert (
        pr.post_form(
            f"/incidents/{incident_id}/statements", {"title": "说明", "text": "正文"}
        ).status_code
        == 303
    )
    with db.read() as session:
        (statement,) = service.statements_of(session, incident_id)
    refused = pr.post_form(f"/incidents/statements/{statement.id}/act", {"action": "publish"})
    assert refused.status_code == 409 and "publish" in refused.text
    with db.read() as session:
        assert service.get_statement(session, statement.id).state == "draft"


def test_admin_edits_playbooks_and_a_bad_one_is_refused(client, seeded, db) -> None:
    admin = signed_in_as(client, "admin")
    assert admin.get("/incidents/playbooks").status_code == 200
    bad = (
        "name: x\ntasks:\n"
        "  - {type: teleport, title_zh: 甲, title_en: a, group: leadership, due_hours: 1}\n"
    )
    refused = admin.post_form("/incidents/playbooks", {"data": bad})
    assert refused.status_code == 422
    assert "tasks[0]：未知的任务类型 &#39;teleport&#39;" in refused.text
    with db.read() as session:
        assert service.stored_playbooks(session) == []
    good = bad.replace("teleport", "custom")
    assert admin.post_form("/incidents/playbooks", {"data": good}).status_code == 303
    with db.read() as session:
        assert [p.name for p in service.stored_playbooks(session)] == ["x"]
    rep = signed_in_as(client, "cs_rep")
    assert rep.get("/incidents/playbooks").status_code == 403


def test_json_api_opens_from_an_alert_and_acts(client, seeded) -> None:
    analyst = signed_in_as(client, "analyst")
    analyst.get("/incidents")
    headers = {"X-CSRF-Token": analyst.csrf}
    created = client.post(
        "/api/v1/incidents/from-alert",
        json={
            "alert_id": 7,
            "title": "热搜",
            "category": "product_quality",
            "suggested_level": "III",
            "reasons": ["volume 120"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["source"] == "alert" and body["suggested_level"] == "III"
    assert body["allowed_actions"] == ["report"]
    path = f"/api/v1/incidents/{body['id']}/actions"
    refused = client.post(path, json={"action": "report"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "summary"
    acted = client.post(
        path, json={"action": "report", "fields": {"summary": "120 条投诉帖"}}, headers=headers
    )
    assert acted.status_code == 200 and acted.json()["state"] == "reported"
    refused = client.post(
        f"/api/v1/incidents/{body['id']}/actions", json={"action": "close"}, headers=headers
    )
    assert refused.status_code == 409
    listed = client.get("/api/v1/incidents")
    assert listed.status_code == 200
    assert [(i["id"], i["state"]) for i in listed.json()] == [(body["id"], "reported")]


def test_one_click_from_a_stored_alert(client, seeded, db) -> None:
    from clamor.monitoring.models import AlertRecord

    with db.write() as session:
        alert = AlertRecord(
            key="topic:t9",
            book_id="b9",
            topic_id=None,
            watch_query_id=None,
            level=4,
            score=0.95,
            reasons=[{"code": "reach", "text": "触达 120 万"}],
            keywords=["爆炸", "电池"],
            opened_at=NOW,
            updated_at=NOW,
            raised_at=NOW,
            first_item_id=None,
            updates=0,
            status="open",
        )
        session.add(alert)
        session.flush()
        alert_id = alert.id
    analyst = signed_in_as(client, "analyst")
    analyst.get("/incidents")
    assert analyst.post_form("/incidents/from-alert", {"alert_id": "x"}).status_code == 422
    assert analyst.post_form("/incidents/from-alert", {"alert_id": "999"}).status_code == 404
    first = analyst.post_form("/incidents/from-alert", {"alert_id": str(alert_id)})
    second = analyst.post_form("/incidents/from-alert", {"alert_id": str(alert_id)})
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with db.read() as session:
        (incident,) = service.list_incidents(session)
        assert (incident.source, incident.alert_id, incident.suggested_level) == (
            "alert",
            alert_id,
            "I",
        )
        assert incident.title == "舆情预警：爆炸、电池" and incident.category == "other"


def test_times_on_the_incident_pages_are_beijing_time(client, seeded, db) -> None:
    analyst = signed_in_as(client, "analyst")
    incident_id = _open(analyst)
    # NOW is 02:00 UTC, which people in the company read as 10:00.
    page = analyst.get(f"/incidents/{incident_id}").text
    assert "2026-03-09 10:00" in page and "2026-03-09 02:00" not in page
    assert "2026-03-09 10:00" in analyst.get("/incidents").text


def test_linked_complaints_link_only_for_who_may_read_complaints(
    client, seeded, db, people
) -> None:
    from clamor.workflow.complaints import service as complaints
    from tests.workflow.complaints.conftest import complaint
    from tests.workflow.incidents.conftest import opened

    with db.write() as session:
        (submitted,) = complaints.submit(session, people["admin"], [complaint("c1", "手机号泄露")])
    incident_id = opened(db, people["cs_rep"], complaint_ids=[submitted.case.id])
    case_link = f'href="/complaints/{submitted.case.id}"'
    assert case_link in signed_in_as(client, "cs_rep").get(f"/incidents/{incident_id}").text
    # The analyst (opinion monitoring) may not open complaint cases: no link that ends in 403.
    analyst_page = signed_in_as(client, "analyst").get(f"/incidents/{incident_id}").text
    assert case_link not in analyst_page and submitted.case.tracking_code in analyst_page


def test_a_refused_form_keeps_what_was_typed(client, seeded, db, people) -> None:
    from tests.workflow.incidents.conftest import assessed

    analyst = signed_in_as(client, "analyst")
    analyst.get("/incidents")
    refused = analyst.post_form(
        "/incidents",
        {"title": "", "summary": "多名用户收到诈骗电话", "category": "data_privacy"},
    )
    assert refused.status_code == 422 and 'id="incident-error"' in refused.text
    assert "多名用户收到诈骗电话" in refused.text
    assert '<option value="data_privacy" selected>' in refused.text
    # Bad case numbers: the same list page with the message, not a bare error page.
    refused = analyst.post_form(
        "/incidents", {"title": "标题", "summary": "摘要", "complaint_ids": "abc"}
    )
    assert refused.status_code == 422 and 'id="incident-error"' in refused.text
    assert 'value="abc"' in refused.text and 'value="标题"' in refused.text

    incident_id = assessed(db, people)
    pr = signed_in_as(client, "pr_manager")
    pr.get(f"/incidents/{incident_id}")
    refused = pr.post_form(
        f"/incidents/{incident_id}/statements",
        {"title": "", "text": "经核查，未发现用户数据泄露。"},
    )
    assert refused.status_code == 422 and "经核查，未发现用户数据泄露。" in refused.text
    manager = signed_in_as(client, "cs_manager")
    manager.get(f"/incidents/{incident_id}")
    refused = manager.post_form(
        f"/incidents/{incident_id}/support",
        {
            "kind": "legal_consultation",
            "title": "评估通知义务",
            "detail": "个人信息保护法",
            "hours": "x",
        },
    )
    assert refused.status_code == 422 and 'id="incident-error"' in refused.text
    assert 'value="个人信息保护法"' in refused.text and 'value="x"' in refused.text


def test_a_refused_statement_edit_keeps_the_new_text(client, seeded, db, people) -> None:
    from tests.workflow.incidents.conftest import assessed

    incident_id = assessed(db, people)
    pr = signed_in_as(client, "pr_manager")
    pr.get(f"/incidents/{incident_id}")
    drafted = pr.post_form(
        f"/incidents/{incident_id}/statements", {"title": "说明", "text": "第一版"}
    )
    assert drafted.status_code == 303
    statement_id = re.search(r'data-statement="(\d+)"', pr.get(f"/incidents/{incident_id}").text)
    too_long = "新版本开头" + "字" * 20_000
    refused = pr.post_form(
        f"/incidents/statements/{statement_id.group(1)}/edit", {"text": too_long}
    )
    assert refused.status_code == 422 and "text：不能超过 20000 个字符" in refused.text
    assert too_long in refused.text  # in the textarea, not replaced by the stored version


def test_an_unknown_state_filter_is_named_not_an_empty_list(client, seeded) -> None:
    analyst = signed_in_as(client, "analyst")
    page = analyst.get("/incidents?state=bogus")
    assert page.status_code == 422
    assert "state：&#39;bogus&#39; 不是有效的状态" in page.text and "reported" in page.text
    assert analyst.get("/incidents?state=reported").status_code == 200
