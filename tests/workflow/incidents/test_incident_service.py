"""Incidents stored and moved through the plan's process: opening, the lifecycle with
permissions and audit, assessment and leadership engagement, instructions and playbooks,
support requests, statements, close-out, metrics — and bad input refused with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clamor.audit.models import AuditEntry
from clamor.core import clock
from clamor.core.errors import InvalidTransition, PermissionDenied, ValidationError
from clamor.notify.models import Outbox
from clamor.storage.database import Database
from clamor.workflow.complaints import service as complaints
from clamor.workflow.incidents import service
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.models import IncidentTask, StoredPlaybook
from clamor.workflow.incidents.playbooks import calendar_for_level, default_playbook
from clamor.workflow.vocabulary import RiskCategory
from tests.workflow.complaints.conftest import complaint
from tests.workflow.incidents.conftest import assessed, load, opened

MONDAY_10 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a working Monday


@pytest.fixture(autouse=True)
def _monday() -> object:
    clock.freeze(MONDAY_10)
    yield
    clock.freeze(None)


def _outbox(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        return [(o.recipient, o.dedup_key) for o in session.scalars(select(Outbox))]


def _audit_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _task_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(IncidentTask)) or 0


def test_open_report_and_notify_the_complaint_handling_group(db, people) -> None:
    incident_id = opened(db, people["analyst"])
    assert load(db, incident_id).state == "identified"
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
    incident = load(db, incident_id)
    assert incident.state == "reported"
    assert incident.reported_at == MONDAY_10
    assert ("group:complaint_handling", f"incident:{incident_id}:reported") in _outbox(db)
    with db.read() as session:
        actions = [(e.actor, e.action) for e in service.timeline(session, incident_id)]
    assert actions == [("analyst", "open"), ("analyst", "report")]


def test_opening_needs_the_report_permission_and_a_known_category(db, people) -> None:
    with pytest.raises(PermissionDenied):
        opened(db, people["admin"])  # an administrator manages users, not incidents
    with pytest.raises(ValidationError) as error:
        opened(db, people["analyst"], category="weather")
    assert error.value.field == "category"
    with pytest.raises(ValidationError) as error:
        opened(db, people["analyst"], title="  ")
    assert error.value.field == "title"
    assert [a for a in _all_audit(db) if a.action == "incident.open"] == []


def _all_audit(db: Database) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry)))


def test_illegal_transition_and_missing_permission_change_nothing(db, people) -> None:
    incident_id = opened(db, people["analyst"])
    before = _audit_count(db)
    with db.write() as session, pytest.raises(InvalidTransition) as error:
        service.act(
            session, people["cs_manager"], incident_id, "resolve", {"resolution_summary": "x"}
        )
    assert "not allowed in state 'identified'" in error.value.message
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
    with db.write() as session, pytest.raises(PermissionDenied):
        service.act(
            session,
            people["cs_rep"],
            incident_id,
            "assess",
            {"severity": 1, "scope": 1, "risk": 1, "level": "IV"},
        )
    incident = load(db, incident_id)
    assert incident.state == "reported" and incident.level is None
    assert _audit_count(db) == before + 1  # only the report


def test_assessment_follows_the_matrix_and_levels_one_two_engage_leadership(db, people) -> None:
    incident_id = opened(db, people["analyst"])
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
    # A level other than the matrix's proposal (II for 3+3+3) needs a reason.
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.act(
            session,
            people["cs_manager"],
            incident_id,
            "assess",
            {"severity": 3, "scope": 3, "risk": 3, "level": "III"},
        )
    assert error.value.field == "level"
    assert load(db, incident_id).state == "reported"
    with db.write() as session:
        service.act(
            session,
            people["cs_manager"],
            incident_id,
            "assess",
            {"severity": 3, "scope": 3, "risk": 3, "level": "II"},
        )
    incident = load(db, incident_id)
    assert (incident.state, incident.level, incident.severity) == ("assessed", "II", 3)
    assert incident.leadership_engaged_at == MONDAY_10
    assert ("group:leadership", f"incident:{incident_id}:leadership") in _outbox(db)
    with db.read() as session:
        assert [i.id for i in service.leadership_watch(session)] == [incident_id]
    assert service.proposal(3, 3, 3).level is Level.II


def test_level_four_stays_with_the_complaint_group(db, people) -> None:
    incident_id = assessed(db, people, "IV")
    assert load(db, incident_id).leadership_engaged_at is None
    assert not [k for _, k in _outbox(db) if k.endswith(":leadership")]


def test_open_from_complaints_links_them_and_suggests_a_level(db, people) -> None:
    with db.write() as session:
        cases = [
            s.case
            for s in complaints.submit(
                session,
                people["admin"],
                [
                    complaint(str(i), f"你们泄露了我的手机号，天天接到诈骗电话 {i}")
                    for i in range(4)
                ],
            )
        ]
    incident_id = opened(db, people["cs_rep"], complaint_ids=[c.id for c in cases])
    with db.read() as session:
        incident = service.get(session, incident_id)
        linked = service.linked_cases(session, incident_id)
        assert incident.source == "complaints"
        assert [c.id for c in linked] == [c.id for c in cases]
        assert all(c.incident_id == incident_id for c in linked)
        assert incident.suggested_level in {lv.value for lv in Level}
        codes = [r["code"] for r in incident.suggested_reasons]
        assert "linked_complaints" in codes and codes[-1] == "result"
    with pytest.raises(ValidationError) as error:
        opened(db, people["cs_rep"], complaint_ids=[9999])
    assert error.value.field == "complaint_ids"


def test_open_from_alert_is_one_call_and_idempotent(db, people) -> None:
    with db.write() as session:
        first = service.open_from_alert(
            session,
            people["analyst"],
            41,
            "微博热搜：App 泄露手机号",
            "2 小时内 320 条相关帖子，负面 85%",
            "data_privacy",
            "II",
            ["volume 320 in 2 h", {"code": "negative", "en": "85% negative", "zh": "负面 85%"}],
        )
        again = service.open_from_alert(
            session, people["analyst"], 41, "dup", "", "data_privacy", "II", []
        )
        assert again.id == first.id
        assert first.source == "alert" and first.suggested_level == "II"
        assert first.suggested_reasons[1]["zh"] == "负面 85%"
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.open_from_alert(session, people["analyst"], 42, "t", "", "other", "V", [])
    assert error.value.field == "suggested_level"


def test_playbook_tasks_with_deadlines_on_the_business_calendar(db, people) -> None:
    incident_id = assessed(db, people, "II")
    with db.write() as session:
        tasks = service.instruct_from_playbook(session, people["cs_manager"], incident_id)
        rows = [(t.task_type, t.due_at) for t in tasks]
    playbook = default_playbook(RiskCategory.DATA_PRIVACY, Level.II)
    calendar = calendar_for_level(Level.II, service.CALENDAR)
    assert rows == [(t.task_type.value, calendar.add(MONDAY_10, t.due_in)) for t in playbook.tasks]
    assert load(db, incident_id).state == "instructed"
    assert ("group:complaint_handling", f"task:{tasks[0].id}:assigned") in _outbox(db)


def test_a_task_for_someone_outside_the_group_is_refused_and_nothing_stored(db, people) -> None:
    incident_id = assessed(db, people, "III")
    good = service.TaskSpec("information_collection", "收集信息", "complaint_handling", 4)
    outsider = service.TaskSpec(
        "customer_communication", "联系客户", "complaint_handling", 4, assignee="pr_manager"
    )
    before = _audit_count(db)
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.instruct(session, people["cs_manager"], incident_id, [good, outsider])
    assert error.value.field == "tasks[1].assignee"
    assert "not a member" in error.value.message
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.instruct(
            session,
            people["cs_manager"],
            incident_id,
            [service.TaskSpec("make_coffee", "x", "complaint_handling", 1)],
        )
    assert error.value.field == "tasks[0].type"
    assert _task_count(db) == 0 and _audit_count(db) == before
    assert load(db, incident_id).state == "assessed"


def test_receivers_acknowledge_and_complete_overdue_is_escalated_once(db, people) -> None:
    incident_id = assessed(db, people, "III")
    spec = service.TaskSpec(
        "customer_communication", "联系受影响客户", "complaint_handling", 2, assignee="cs_rep"
    )
    with db.write() as session:
        (task,) = service.instruct(session, people["cs_manager"], incident_id, [spec])
        task_id, due = task.id, task.due_at
    with db.write() as session, pytest.raises(PermissionDenied):
        service.task_act(session, people["analyst"], task_id, "acknowledge")
    with db.write() as session:
        service.task_act(session, people["cs_rep"], task_id, "acknowledge")
    clock.freeze(due - timedelta(minutes=1))
    with db.write() as session:
        assert service.remind_due_soon(session) == 1
        assert service.remind_due_soon(session) == 0
    assert ("user:" + str(people["cs_rep"].user_id), f"task:{task_id}:reminder") in _outbox(db)
    clock.freeze(due + timedelta(minutes=1))
    with db.write() as session:
        assert service.remind_due_soon(session) == 0  # overdue now: escalation, not reminder
        assert service.is_overdue(service.get_task(session, task_id), clock.now())
        assert service.escalate_overdue(session) == 1
    with db.write() as session:
        assert service.escalate_overdue(session) == 0
    assert [k for _, k in _outbox(db) if k == f"task:{task_id}:overdue"] == [
        f"task:{task_id}:overdue"
    ]
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.task_act(session, people["cs_rep"], task_id, "complete", {})
    assert error.value.field == "result"
    with db.write() as session:
        service.task_act(session, people["cs_rep"], task_id, "complete", {"result": "已致电 3 位"})
    with db.read() as session:
        figures = service.record(session, incident_id).task_figures
    assert (figures.total, figures.done, figures.done_on_time, figures.late) == (1, 1, 0, 1)


def test_reassign_only_within_the_group(db, people) -> None:
    incident_id = assessed(db, people, "III")
    spec = service.TaskSpec("custom", "复核服务记录", "complaint_handling", 4)
    with db.write() as session:
        (task,) = service.instruct(session, people["cs_manager"], incident_id, [spec])
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.task_act(
            session, people["cs_manager"], task.id, "reassign", {"assignee_user": "gm"}
        )
    assert error.value.field == "assignee_user"
    with db.write() as session:
        service.task_act(
            session, people["cs_manager"], task.id, "reassign", {"assignee_user": "cs_rep"}
        )
    with db.read() as session:
        assert service.get_task(session, task.id).assignee_user_id == people["cs_rep"].user_id


def test_support_request_goes_to_logistics_with_its_own_deadline(db, people) -> None:
    incident_id = assessed(db, people, "III")
    with db.write() as session:
        task = service.request_support(
            session,
            people["cs_manager"],
            incident_id,
            kind="legal_consultation",
            title="评估通知义务",
            detail="个人信息保护法",
            hours=3,
        )
        assert task.is_support and task.due_at == service.CALENDAR.add(
            MONDAY_10, timedelta(hours=3)
        )
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.request_support(
            session,
            people["cs_manager"],
            incident_id,
            kind="catering",
            title="x",
            detail="",
            hours=1,
        )
    assert error.value.field == "kind"
    with db.write() as session:  # legal (logistics deputy) acknowledges it
        service.task_act(session, people["legal"], task.id, "acknowledge")


def test_admin_playbooks_are_validated_and_used(db, people) -> None:
    bad = {
        "name": "privacy III",
        "category": "data_privacy",
        "level": "III",
        "tasks": [
            {"type": "teleport", "title_zh": "x", "title_en": "x", "group": "x", "due_hours": 1}
        ],
    }
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.save_playbook(session, people["admin"], bad)
    assert error.value.field == "tasks[0].type"
    wrong_group = {**bad, "tasks": [{**bad["tasks"][0], "type": "custom", "group": "chefs"}]}
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.save_playbook(session, people["admin"], wrong_group)
    assert error.value.field == "tasks[0].group"
    with db.write() as session, pytest.raises(PermissionDenied):
        service.save_playbook(session, people["cs_manager"], bad)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(StoredPlaybook)) == 0
    good = {
        **bad,
        "tasks": [
            {
                "type": "it_support",
                "title_zh": "封堵接口",
                "title_en": "Close the API hole",
                "group": "logistics_support",
                "due_hours": 2,
            }
        ],
    }
    with db.write() as session:
        service.save_playbook(session, people["admin"], good)
    incident_id = assessed(db, people, "III")
    with db.write() as session:
        tasks = service.instruct_from_playbook(session, people["cs_manager"], incident_id)
        assert [(t.task_type, t.title) for t in tasks] == [("it_support", "封堵接口")]


def _statement(db, people, incident_id: int) -> int:
    with db.write() as session:
        return service.draft_statement(
            session,
            people["pr_manager"],
            incident_id,
            title="关于用户信息安全的说明",
            text="第一稿",
        ).id


def test_statement_needs_legal_review_and_the_gm_for_level_two(db, people) -> None:
    incident_id = assessed(db, people, "II")
    statement_id = _statement(db, people, incident_id)
    with db.write() as session, pytest.raises(InvalidTransition):
        service.statement_act(session, people["pr_manager"], statement_id, "publish")
    with db.write() as session:
        service.edit_statement(
            session, people["pr_manager"], statement_id, "第一稿\n第二段：已报警"
        )
        service.statement_act(session, people["pr_manager"], statement_id, "submit")
    with db.write() as session, pytest.raises(PermissionDenied):
        service.statement_act(session, people["pr_manager"], statement_id, "clear")
    with db.write() as session:
        service.statement_act(session, people["legal"], statement_id, "clear")
    with db.write() as session, pytest.raises(PermissionDenied) as error:
        service.statement_act(session, people["cs_manager"], statement_id, "approve")
    assert "statements.approve_major" in error.value.message
    with db.write() as session:
        service.statement_act(session, people["gm"], statement_id, "approve")
        service.statement_act(session, people["pr_manager"], statement_id, "publish")
    with db.write() as session, pytest.raises(InvalidTransition) as error:
        service.edit_statement(session, people["pr_manager"], statement_id, "改过的")
    assert "frozen" in error.value.message
    with db.read() as session:
        statement = service.get_statement(session, statement_id)
        assert (statement.state, statement.published_version, statement.approved_by) == (
            "published",
            2,
            "gm",
        )
        lines = service.statement_diff(session, statement_id, 1, 2)
        assert [(line.op.value, line.text) for line in lines] == [
            ("equal", "第一稿"),
            ("insert", "第二段：已报警"),
        ]
        assert service.get(session, incident_id).first_statement_at == MONDAY_10


def _to_resolved(db, people, incident_id: int) -> None:
    with db.write() as session:
        service.instruct_from_playbook(session, people["cs_manager"], incident_id)
        service.act(session, people["cs_rep"], incident_id, "respond")
        service.act(
            session, people["cs_manager"], incident_id, "resolve", {"resolution_summary": "已修复"}
        )


def test_close_out_review_returned_then_accepted_and_customers_contacted(db, people) -> None:
    with db.write() as session:
        (submitted,) = complaints.submit(session, people["admin"], [complaint("c1", "手机号泄露")])
    incident_id = opened(db, people["analyst"], complaint_ids=[submitted.case.id])
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
        service.act(
            session,
            people["cs_manager"],
            incident_id,
            "assess",
            {"severity": 2, "scope": 2, "risk": 2, "level": "III"},
        )
    _to_resolved(db, people, incident_id)
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.act(session, people["cs_manager"], incident_id, "submit_review")
    assert error.value.field == "review_report"
    with db.write() as session:
        service.save_review(
            session,
            people["cs_manager"],
            incident_id,
            summary="",
            causes="接口未鉴权",
            improvements="上线前安全评审",
        )
        service.add_improvement(
            session,
            people["cs_manager"],
            incident_id,
            text="接口鉴权整改",
            owner="cs_manager",
            due_on="2026-04-01",
        )
        service.act(session, people["cs_manager"], incident_id, "submit_review")
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.act(session, people["gm"], incident_id, "return_review", {})
    assert error.value.field == "comments"
    with db.write() as session:
        service.act(session, people["gm"], incident_id, "return_review", {"comments": "补充时间线"})
    assert load(db, incident_id).state == "resolved"
    with db.write() as session:
        service.save_review(
            session,
            people["cs_manager"],
            incident_id,
            summary="",
            causes="接口未鉴权（补充）",
            improvements="",
        )
        service.act(session, people["cs_manager"], incident_id, "submit_review")
        offered = service.actions_for(people["gm"], service.get(session, incident_id))
        # Not yet accepted: no close button that the review guard would refuse.
        assert "accept_review" in offered and "close" not in offered
        service.act(session, people["gm"], incident_id, "accept_review")
    # Accepted once: the page no longer offers an acceptance that `act` would refuse.
    with db.read() as session:
        offered = service.actions_for(people["gm"], service.get(session, incident_id))
        assert "accept_review" not in offered and "close" in offered
    # The linked complaint's customer has not been contacted: no close without a reason.
    with db.write() as session, pytest.raises(ValidationError) as error:
        service.act(session, people["gm"], incident_id, "close")
    assert error.value.field == "uncontacted_reason"
    with db.write() as session:
        complaints.add_communication(
            session,
            people["cs_rep"],
            submitted.case.id,
            kind="call",
            direction="out",
            body="已致电并提供补偿方案",
        )
        service.act(session, people["gm"], incident_id, "close")
    incident = load(db, incident_id)
    assert incident.state == "closed" and incident.closed_at == MONDAY_10
    with db.read() as session:
        actions = [e.action for e in service.timeline(session, incident_id)]
        assert actions[-4:] == ["review.save", "submit_review", "accept_review", "close"]
        assert "return_review" in actions


def test_cancel_needs_a_reason_and_merge_moves_the_complaints(db, people) -> None:
    first = opened(db, people["analyst"])
    with db.write() as session, pytest.raises(ValidationError):
        service.act(session, people["cs_manager"], first, "cancel", {})
    with db.write() as session:
        (submitted,) = complaints.submit(session, people["admin"], [complaint("m1", "泄露")])
    second = opened(db, people["analyst"], complaint_ids=[submitted.case.id])
    with db.write() as session, pytest.raises(ValidationError):
        service.act(session, people["cs_manager"], second, "merge", {"target_incident": second})
    with db.write() as session:
        service.act(session, people["cs_manager"], second, "merge", {"target_incident": first})
        assert [c.id for c in service.linked_cases(session, first)] == [submitted.case.id]
    assert load(db, second).state == "merged"
    with db.write() as session:
        service.act(session, people["cs_manager"], first, "cancel", {"reason": "误报"})
    assert load(db, first).end_reason == "误报"


def test_metrics_per_level_and_category_without_drills(db, people) -> None:
    incident_id = opened(db, people["analyst"])
    opened(db, people["analyst"], is_drill=True)
    clock.freeze(MONDAY_10 + timedelta(minutes=30))
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
    clock.freeze(MONDAY_10 + timedelta(hours=2, minutes=30))
    with db.write() as session:
        service.act(
            session,
            people["cs_manager"],
            incident_id,
            "assess",
            {"severity": 3, "scope": 3, "risk": 3, "level": "II"},
        )
    with db.read() as session:
        (row,) = service.metrics(session)
        drills = service.metrics(session, drills=True)
    assert (row.level, row.category, row.incidents) == ("II", "data_privacy", 1)
    assert row.hours["report"] == 0.5 and row.hours["assess"] == 2.0
    assert row.hours["close"] is None
    assert [(d.level, d.incidents) for d in drills] == [("—", 1)]
