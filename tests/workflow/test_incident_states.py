"""The incident transition table: the plan's path, guards, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from clamor.core.errors import InvalidTransition, PermissionDenied, ValidationError
from clamor.workflow.incidents.states import (
    FINAL_STATES,
    INCIDENT_TABLE,
    IncidentAction,
    IncidentState,
    allowed_actions,
    apply,
)
from clamor.workflow.vocabulary import ALL_PERMISSIONS

S, A = IncidentState, IncidentAction
EVERYONE = ALL_PERMISSIONS
ANALYST = frozenset({"incidents.report"})
CS_MANAGER = frozenset({"incidents.assess", "incidents.instruct", "incidents.respond"})
ASSESSMENT = {"severity": 3, "scope": 3, "risk": 3, "level": "II"}


def test_the_plan_path_each_step_by_its_role() -> None:
    steps: list[tuple[A, frozenset[str], dict[str, Any], S]] = [
        (
            A.REPORT,
            ANALYST,
            {"summary": "大量用户反映数据泄露", "category": "data_privacy"},
            S.REPORTED,
        ),
        (A.ASSESS, CS_MANAGER, ASSESSMENT, S.ASSESSED),
        (A.INSTRUCT, CS_MANAGER, {"tasks": ["t1", "t2"]}, S.INSTRUCTED),
        (A.RESPOND, CS_MANAGER, {}, S.RESPONDING),
        (A.RESOLVE, frozenset({"incidents.resolve"}), {"resolution_summary": "已修复"}, S.RESOLVED),
        (A.SUBMIT_REVIEW, frozenset({"incidents.review"}), {"review_report": "r1"}, S.REVIEWED),
        (A.ACCEPT_REVIEW, frozenset({"incidents.accept_review"}), {}, S.REVIEWED),
        (
            A.CLOSE,
            frozenset({"incidents.close"}),
            {"review_accepted": True, "uncontacted_customers": []},
            S.CLOSED,
        ),
    ]
    state = S.IDENTIFIED
    for action, permissions, fields, expected in steps:
        state = apply(state, action, permissions, fields).target
        assert state is expected


def test_wrong_role_is_refused_at_each_step() -> None:
    with pytest.raises(PermissionDenied, match=r"incidents\.assess"):
        apply(S.REPORTED, A.ASSESS, ANALYST, ASSESSMENT)
    with pytest.raises(PermissionDenied, match=r"incidents\.report"):
        apply(S.IDENTIFIED, A.REPORT, CS_MANAGER, {"summary": "x", "category": "other"})


def test_illegal_transition() -> None:
    with pytest.raises(InvalidTransition, match=r"'close'.*'responding'"):
        apply(S.RESPONDING, A.CLOSE, EVERYONE, {"review_accepted": True})


def test_report_needs_a_known_category() -> None:
    with pytest.raises(ValidationError) as error:
        apply(S.IDENTIFIED, A.REPORT, ANALYST, {"summary": "x", "category": "weather"})
    assert error.value.field == "category"


@pytest.mark.parametrize("missing", ["severity", "scope", "risk", "level"])
def test_assessment_needs_all_ratings_and_a_level(missing: str) -> None:
    fields = {k: v for k, v in ASSESSMENT.items() if k != missing}
    with pytest.raises(ValidationError) as error:
        apply(S.REPORTED, A.ASSESS, CS_MANAGER, fields)
    assert error.value.field == missing


def test_assessment_rating_out_of_scale() -> None:
    with pytest.raises(ValidationError, match="risk"):
        apply(S.REPORTED, A.ASSESS, CS_MANAGER, {**ASSESSMENT, "risk": 7})
    with pytest.raises(ValidationError, match="level"):
        apply(S.REPORTED, A.ASSESS, CS_MANAGER, {**ASSESSMENT, "level": "V"})


def test_overriding_the_proposed_level_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="level_reason") as error:
        apply(S.REPORTED, A.ASSESS, CS_MANAGER, {**ASSESSMENT, "level": "I"})
    assert error.value.field == "level"
    with_reason = {**ASSESSMENT, "level": "I", "level_reason": "监管已介入"}
    assert apply(S.REPORTED, A.ASSESS, CS_MANAGER, with_reason).target is S.ASSESSED


def test_reassess_and_instruct_repeat_in_place() -> None:
    for state in (S.INSTRUCTED, S.RESPONDING):
        assert apply(state, A.REASSESS, CS_MANAGER, ASSESSMENT).target is state
        assert apply(state, A.INSTRUCT, CS_MANAGER, {"tasks": ["t9"]}).target is state
    with pytest.raises(ValidationError, match="tasks"):
        apply(S.ASSESSED, A.INSTRUCT, CS_MANAGER, {"tasks": []})


def test_closing_needs_an_accepted_review() -> None:
    with pytest.raises(ValidationError) as error:
        apply(S.REVIEWED, A.CLOSE, EVERYONE, {"uncontacted_customers": []})
    assert error.value.field == "review_accepted"


def test_closing_needs_every_customer_contacted_or_a_reason() -> None:
    fields = {"review_accepted": True, "uncontacted_customers": ["c1", "c2"]}
    with pytest.raises(ValidationError, match="2 affected") as error:
        apply(S.REVIEWED, A.CLOSE, EVERYONE, fields)
    assert error.value.field == "uncontacted_reason"
    explained = {**fields, "uncontacted_reason": "客户拒绝联系"}
    assert apply(S.REVIEWED, A.CLOSE, EVERYONE, explained).target is S.CLOSED


def test_review_can_be_sent_back_with_comments() -> None:
    with pytest.raises(ValidationError, match="comments"):
        apply(S.REVIEWED, A.RETURN_REVIEW, frozenset({"incidents.accept_review"}), {})
    back = apply(S.REVIEWED, A.RETURN_REVIEW, EVERYONE, {"comments": "原因分析不足"})
    assert back.target is S.RESOLVED


def test_cancel_and_merge_before_resolution_only() -> None:
    assert apply(S.REPORTED, A.CANCEL, EVERYONE, {"reason": "误报"}).target is S.CANCELLED
    with pytest.raises(ValidationError):
        apply(S.REPORTED, A.CANCEL, EVERYONE, {})
    merged = apply(S.ASSESSED, A.MERGE, EVERYONE, {"incident_id": "i1", "target_incident": "i2"})
    assert merged.target is S.MERGED
    with pytest.raises(ValidationError, match="itself"):
        apply(S.ASSESSED, A.MERGE, EVERYONE, {"incident_id": "i1", "target_incident": "i1"})
    with pytest.raises(InvalidTransition):
        apply(S.RESOLVED, A.CANCEL, EVERYONE, {"reason": "late"})


def test_allowed_actions_and_table_shape() -> None:
    assert allowed_actions(S.REPORTED, ANALYST) == ()
    assert allowed_actions(S.REPORTED, CS_MANAGER) == ("assess",)
    assert INCIDENT_TABLE.final_states() == FINAL_STATES
    assert INCIDENT_TABLE.states() == frozenset(IncidentState)
    assert {r.permission for r in INCIDENT_TABLE.rules} <= ALL_PERMISSIONS
