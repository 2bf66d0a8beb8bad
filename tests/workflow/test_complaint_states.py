"""The complaint case transition table: paths, refusals, permissions and SLA columns."""

from __future__ import annotations

import pytest

from clamor.core.errors import InvalidTransition, PermissionDenied, ValidationError
from clamor.workflow.complaints.states import (
    CASE_TABLE,
    FINISHED_STATES,
    PAUSED_STATES,
    CaseAction,
    CaseState,
    allowed_actions,
    apply,
)
from clamor.workflow.transitions import SlaEffect
from clamor.workflow.vocabulary import ALL_PERMISSIONS

AGENT = frozenset({"complaints.read", "complaints.handle"})
MANAGER = AGENT | {
    "complaints.assign",
    "complaints.close",
    "complaints.merge",
    "complaints.escalate",
}
S, A = CaseState, CaseAction


def test_happy_path_from_received_to_closed() -> None:
    steps = [
        (A.ACKNOWLEDGE, {}, S.ACKNOWLEDGED),
        (A.ACCEPT, {}, S.ACCEPTED),
        (A.ASSIGN, {"assignee_group": "complaint_handling"}, S.ASSIGNED),
        (A.START, {}, S.IN_PROGRESS),
        (A.REQUEST_INFO, {"message": "请提供订单号"}, S.AWAITING_CUSTOMER),
        (A.PROVIDE_INFO, {}, S.IN_PROGRESS),
        (A.REPLY, {"reply": "已为您退款"}, S.REPLIED),
        (A.REQUEST_FEEDBACK, {}, S.AWAITING_FEEDBACK),
        (A.CLOSE_SATISFIED, {}, S.CLOSED),
    ]
    state = S.RECEIVED
    for action, fields, expected in steps:
        transition = apply(state, action, MANAGER, fields)
        assert transition.target is expected
        state = transition.target
    assert state in FINISHED_STATES


def test_unsatisfied_reply_reopens_into_progress() -> None:
    transition = apply(S.AWAITING_FEEDBACK, A.REOPEN, AGENT, {"reason": "仍未解决"})
    assert transition.target is S.IN_PROGRESS
    assert transition.sla_effect is SlaEffect.REOPENED
    # ... and from in_progress a manager can hand it to someone else.
    assert apply(S.IN_PROGRESS, A.ASSIGN, MANAGER, {"assignee_user": "u7"}).target is S.ASSIGNED


def test_illegal_transition_names_state_and_action() -> None:
    with pytest.raises(InvalidTransition) as error:
        apply(S.RECEIVED, A.REPLY, MANAGER, {"reply": "x"})
    assert "'reply'" in error.value.message and "'received'" in error.value.message
    with pytest.raises(InvalidTransition, match="final state"):
        apply(S.MERGED, A.REOPEN, MANAGER, {"reason": "x"})


def test_missing_permission_is_named() -> None:
    with pytest.raises(PermissionDenied) as error:
        apply(S.ACCEPTED, A.ASSIGN, AGENT, {"assignee_group": "g"})
    assert "complaints.assign" in error.value.message


def test_permission_is_checked_before_fields() -> None:
    with pytest.raises(PermissionDenied):
        apply(S.ACCEPTED, A.ASSIGN, AGENT, {})


@pytest.mark.parametrize(
    ("state", "action", "fields", "field"),
    [
        (S.ACKNOWLEDGED, A.REJECT, {"reason": "  "}, "reason"),
        (S.ACCEPTED, A.ASSIGN, {"assignee_group": None}, "assignee_group"),
        (S.IN_PROGRESS, A.REPLY, {}, "reply"),
        (S.IN_PROGRESS, A.MERGE, {}, "target_case"),
        (S.IN_PROGRESS, A.ESCALATE, {}, "incident_id"),
        (S.AWAITING_FEEDBACK, A.CLOSE_WITHOUT_FEEDBACK, {}, "reason"),
    ],
)
def test_required_fields_are_named(
    state: CaseState, action: CaseAction, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        apply(state, action, MANAGER, fields)
    assert error.value.field == field


def test_assignment_accepts_a_group_or_a_person() -> None:
    assert apply(S.ACCEPTED, A.ASSIGN, MANAGER, {"assignee_user": "u1"}).target is S.ASSIGNED
    assert apply(S.ACCEPTED, A.ASSIGN, MANAGER, {"assignee_group": "g1"}).target is S.ASSIGNED


def test_merge_needs_another_case() -> None:
    with pytest.raises(ValidationError, match="itself"):
        apply(S.ASSIGNED, A.MERGE, MANAGER, {"case_id": "c1", "target_case": "c1"})
    assert apply(S.ASSIGNED, A.MERGE, MANAGER, {"case_id": "c1", "target_case": "c2"}).target is (
        S.MERGED
    )


def test_escalation_keeps_the_case_in_its_state() -> None:
    transition = apply(S.IN_PROGRESS, A.ESCALATE, MANAGER, {"incident_id": "i1"})
    assert transition.target is S.IN_PROGRESS and not transition.changes_state


def test_allowed_actions_follow_permissions() -> None:
    assert allowed_actions(S.IN_PROGRESS, AGENT) == ("request_info", "reply")
    assert set(allowed_actions(S.IN_PROGRESS, MANAGER)) == {
        "assign",
        "request_info",
        "reply",
        "merge",
        "escalate",
    }
    assert allowed_actions(S.CLOSED, AGENT) == ()
    assert allowed_actions(S.CLOSED, MANAGER) == ("reopen",)
    assert allowed_actions(S.IN_PROGRESS, frozenset()) == ()


def test_sla_columns() -> None:
    paused_targets = {r.target for r in CASE_TABLE.rules if r.pauses_sla}
    assert paused_targets == PAUSED_STATES
    for rule in CASE_TABLE.rules:
        assert rule.pauses_sla == (rule.target in PAUSED_STATES)
        if rule.target in FINISHED_STATES:
            assert rule.sla_effect is SlaEffect.CLOSED
    assert apply(S.RECEIVED, A.ACKNOWLEDGE, AGENT).sla_effect is SlaEffect.FIRST_RESPONSE
    assert apply(S.IN_PROGRESS, A.REPLY, AGENT, {"reply": "ok"}).sla_effect is SlaEffect.RESOLVED


def test_table_shape() -> None:
    assert CASE_TABLE.final_states() == FINISHED_STATES - {S.CLOSED}
    assert CASE_TABLE.states() == frozenset(CaseState)
    assert {r.permission for r in CASE_TABLE.rules} <= ALL_PERMISSIONS
    # Every non-final state is reachable from `received`.
    reachable, frontier = {S.RECEIVED}, [S.RECEIVED]
    while frontier:
        state = frontier.pop()
        for rule in CASE_TABLE.rules:
            if rule.source == state and rule.target not in reachable:
                reachable.add(rule.target)
                frontier.append(rule.target)
    assert reachable == set(CaseState)
