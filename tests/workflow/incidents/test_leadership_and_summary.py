"""Through HTTP: one click from a monitoring alert to a new incident (CSRF, permission), the
leadership group's panel on the home dashboard, and the quarterly summary (HTML, CSV with BOM,
XLSX, zh and en) with drills left out."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from clamor.accounts import service as accounts
from clamor.core import clock
from clamor.monitoring.models import AlertRecord
from clamor.workflow.incidents import service
from clamor.workflow.incidents.models import ReviewReport
from tests.web.conftest import signed_in_as
from tests.workflow.incidents.conftest import assessed, opened

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, 2026-Q1


@pytest.fixture(autouse=True)
def _frozen() -> object:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def _alert(db) -> int:
    with db.write() as session:
        alert = AlertRecord(
            key="topic:t1",
            book_id="b1",
            topic_id=None,
            watch_query_id=None,
            level=3,
            score=0.8,
            reasons=[{"code": "reach", "text": "触达 20 万", "points": 30}],
            keywords=["退款", "客服"],
            opened_at=NOW,
            updated_at=NOW,
            raised_at=NOW,
            first_item_id=None,
            updates=0,
            status="open",
        )
        session.add(alert)
        session.flush()
        return alert.id


# --- the alert page's one click -----------------------------------------------------------------


def test_alert_page_opens_an_incident_in_one_click_and_lands_on_it(client, seeded, db) -> None:
    alert_id = _alert(db)
    analyst = signed_in_as(client, "analyst")
    page = analyst.get("/monitoring/alerts")
    assert page.status_code == 200
    card = page.text.split(f'id="alert-{alert_id}"')[1]
    form = re.search(r'<form method="post" action="/incidents/from-alert".*?</form>', card, re.S)
    assert form and f'name="alert_id" value="{alert_id}"' in form.group(0)
    assert 'name="csrf_token"' in form.group(0)
    # without the CSRF token the post is refused and nothing is opened
    assert (
        analyst.post_form("/incidents/from-alert", {"alert_id": alert_id}, csrf=False).status_code
        == 403
    )
    with db.read() as session:
        assert service.list_incidents(session) == []
    clicked = analyst.post_form("/incidents/from-alert", {"alert_id": alert_id})
    assert clicked.status_code == 303
    landing = clicked.headers["location"]
    assert re.fullmatch(r"/incidents/\d+\?done=notice\.incident_opened", landing)
    incident_page = analyst.get(landing)
    assert incident_page.status_code == 200 and "退款" in incident_page.text
    with db.read() as session:
        (incident,) = service.list_incidents(session)
    assert (incident.source, incident.alert_id) == ("alert", alert_id)


def test_who_may_not_open_incidents_sees_no_button_and_is_refused(client, seeded, db) -> None:
    alert_id = _alert(db)
    with db.write() as session:  # an admin reads monitoring here but may not open incidents
        admin = accounts.get_user(session, "admin")
        assert admin.is_admin
    person = signed_in_as(client, "admin")
    page = person.get("/monitoring/alerts")
    if page.status_code == 200:
        assert "/incidents/from-alert" not in page.text
    person.get("/")
    refused = person.post_form("/incidents/from-alert", {"alert_id": alert_id})
    assert refused.status_code == 403
    with db.read() as session:
        assert service.list_incidents(session) == []


# --- the leadership panel -----------------------------------------------------------------------


def _leadership_data(db, people) -> dict[str, int]:
    major = assessed(db, people, "II")
    minor = assessed(db, people, "IV")
    drill = opened(db, people["analyst"], is_drill=True, title="演练事件不应出现")
    with db.write() as session:
        service.instruct(
            session,
            people["cs_manager"],
            major,
            [service.TaskSpec("custom", "核实用户数据", "complaint_handling", 1)],
        )
        statement = service.draft_statement(
            session, people["pr_manager"], major, title="关于用户数据的说明", text="正文"
        )
        service.statement_act(session, people["pr_manager"], statement.id, "submit", {})
        service.statement_act(session, people["legal"], statement.id, "clear", {})
        session.add(
            ReviewReport(
                incident_id=minor,
                state="submitted",
                summary="总结",
                causes="原因",
                improvements="改进",
                updated_at=NOW,
                submitted_at=NOW,
                submitted_by="cs_manager",
            )
        )
    return {"major": major, "minor": minor, "drill": drill}


def test_leadership_panel_on_the_dashboard_for_leadership_and_admins_only(
    client, seeded, db, people
) -> None:
    ids = _leadership_data(db, people)
    clock.freeze(NOW + timedelta(days=2))  # the one-hour task is overdue now
    for username in ("gm", "legal", "admin"):  # leader, member, administrator
        page = signed_in_as(client, username).get("/")
        assert page.status_code == 200
        panel = page.text.split('id="leadership-panel"')[1].split("</section>")[0]
        watch = panel.split('id="leadership-watch"')[1].split('id="leadership-reviews"')[0]
        reviews = panel.split('id="leadership-reviews"')[1].split('id="leadership-statements"')[0]
        if username == "admin":
            # An administrator sees the panel but may not open incidents: listed, not linked.
            assert f"#{ids['major']} " in watch and 'href="/incidents/' not in panel
            assert f"#{ids['minor']} " in reviews
        else:
            assert f'href="/incidents/{ids["major"]}"' in watch
            assert f'href="/incidents/{ids["minor"]}#review"' in reviews
        assert f"#{ids['minor']} " not in watch  # level IV: not the leaders'
        statements = panel.split('id="leadership-statements"')[1]
        statements = statements.split('id="leadership-overdue"')[0]
        assert "关于用户数据的说明" in statements
        overdue = panel.split('id="leadership-overdue"')[1]
        assert "核实用户数据" in overdue
        assert "演练事件不应出现" not in panel
    for username in ("cs_rep", "analyst"):
        page = signed_in_as(client, username).get("/")
        assert page.status_code == 200 and 'id="leadership-panel"' not in page.text
    with db.read() as session:
        panel = service.leadership_panel(session, NOW + timedelta(days=2))
    assert [i.id for i in panel.watch] == [ids["major"]]
    assert [(r.incident_id, i.id) for r, i in panel.reviews] == [(ids["minor"], ids["minor"])]
    assert len(panel.statements) == 1 and len(panel.overdue) == 1


# --- metrics on the dashboard and the quarterly summary -----------------------------------------


def _closed_like(db, people) -> int:
    """A level II incident reported after 1 h, assessed 2 h after the report."""
    clock.freeze(NOW)
    incident_id = opened(db, people["analyst"])
    clock.freeze(NOW + timedelta(hours=1))
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
    clock.freeze(NOW + timedelta(hours=3))
    with db.write() as session:
        service.act(
            session,
            people["cs_manager"],
            incident_id,
            "assess",
            {"severity": 3, "scope": 3, "risk": 3, "level": "II"},
        )
    clock.freeze(NOW + timedelta(hours=4))
    return incident_id


def test_metrics_on_the_dashboard_and_the_quarterly_summary(client, seeded, db, people) -> None:
    _closed_like(db, people)
    opened(db, people["analyst"], is_drill=True)  # a drill: left out everywhere
    manager = signed_in_as(client, "cs_manager")
    home = manager.get("/")
    metrics = home.text.split('id="dashboard-metrics"')[1].split("</section>")[0]
    assert "<td>II</td>" in metrics and "1.0 h" in metrics and "2.0 h" in metrics

    page = manager.get("/incidents/summary?year=2026&quarter=1")
    assert page.status_code == 200
    assert '<dd id="summary-opened">1</dd>' in page.text
    assert '<dd id="summary-drills">1</dd>' in page.text
    assert "2026-01-01 – 2026-03-31" in page.text
    assert "1.0 / 1.0 h" in page.text and "2.0 / 2.0 h" in page.text
    empty = manager.get("/incidents/summary?year=2026&quarter=2")
    assert '<dd id="summary-opened">0</dd>' in empty.text

    csv_zh = manager.get("/incidents/summary.csv?year=2026&quarter=1")
    assert csv_zh.status_code == 200 and csv_zh.headers["content-type"].startswith("text/csv")
    assert csv_zh.content.startswith(b"\xef\xbb\xbf")
    text = csv_zh.content.decode("utf-8-sig")
    assert "2026-Q1 季度信访舆情处置汇总" in text and "新发事件,1" in text
    assert "未计入的演练,1" in text and "数据隐私" in text

    with db.write() as session:
        accounts.get_user(session, "cs_manager").language = "en"
    english = signed_in_as(client, "cs_manager")
    xlsx = english.get("/incidents/summary.xlsx?year=2026&quarter=1")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    facts, times = book.worksheets
    assert facts["A1"].value == "Quarterly summary 2026-Q1"
    assert ["Incidents opened", 1] in [[r[0].value, r[1].value] for r in facts.iter_rows(min_row=2)]
    header = [c.value for c in times[1]]
    assert header[:3] == ["Level", "Category", "Incidents"]
    rows = [[c.value for c in row] for row in times.iter_rows(min_row=2)]
    detail = rows[0]
    assert detail[:3] == ["II", "Data privacy", 1]
    report = header.index("Report · mean hours")
    assess = header.index("Assess · mean hours")
    assert (detail[report], detail[assess]) == (1.0, 2.0)
    assert rows[-1][:3] == ["All", "All", 1]

    refused = manager.get("/incidents/summary?year=2026&quarter=5")
    assert refused.status_code == 422 and "quarter" in refused.text
    assert manager.get("/incidents/summary.pdf?year=2026&quarter=1").status_code == 422


def test_briefings_page_lists_what_the_scheduler_kept(client, seeded, db, people) -> None:
    from clamor.reports import briefing

    with db.write() as session:
        assert briefing.publish(session, "daily", NOW) is not None
    page = signed_in_as(client, "gm").get("/briefings")
    assert page.status_code == 200 and "信访舆情日报 daily 2026-03-08" in page.text
    assert signed_in_as(client, "analyst").get("/briefings").status_code == 200  # writes them
    assert signed_in_as(client, "cs_rep").get("/briefings").status_code == 403


def test_dashboard_recent_activity_reads_as_words_in_beijing_time(
    client, seeded, db, people
) -> None:
    incident_id = opened(db, people["analyst"])
    page = signed_in_as(client, "gm").get("/").text
    recent = page.split('id="dashboard-recent"')[1]
    # 02:00 UTC is 10:00 in Shanghai; the action is named, not shown as its code.
    assert "03-09 10:00" in recent and "发现并创建事件" in recent
    assert "<code>incident.open</code>" not in recent
    assert f'href="/incidents/{incident_id}"' in recent


def test_home_lists_my_groups_open_tasks_with_guidance_when_none(
    client, seeded, db, people
) -> None:
    rep = signed_in_as(client, "cs_rep")
    empty = rep.get("/").text.split('id="my-tasks"')[1]
    assert "暂无待办任务" in empty  # the empty state says what will appear here
    incident_id = assessed(db, people, level="II")
    with db.write() as session:
        service.instruct_from_playbook(session, people["cs_manager"], incident_id)
    mine = signed_in_as(client, "cs_rep").get("/").text.split('id="my-tasks"')[1]
    mine = mine.split("</section>")[0]
    # The complaint handling group's customer-communication task, linked to its incident.
    assert f'href="/incidents/{incident_id}#tasks"' in mine and "客户沟通" in mine
    # The monitoring group's tasks are not the CS representative's.
    assert "舆情监测:" not in mine
