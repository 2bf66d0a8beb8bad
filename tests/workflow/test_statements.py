"""Statement approval by level, frozen publication, version diffs."""

from __future__ import annotations

import pytest

from clamor.core.errors import InvalidTransition, PermissionDenied, ValidationError
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.statements import (
    STATEMENT_TABLE,
    DiffOp,
    StatementAction,
    StatementState,
    allowed_actions,
    apply,
    approval_permissions,
    assert_editable,
    diff_lines,
    unified_diff,
)
from clamor.workflow.vocabulary import ALL_PERMISSIONS

S, A = StatementState, StatementAction
PR = frozenset({"statements.draft", "statements.publish"})
LEGAL = frozenset({"statements.legal_review"})
PR_MANAGER = frozenset({"statements.approve"})
GM = frozenset({"statements.approve_major"})


def test_full_path_for_a_level_ii_incident() -> None:
    state = S.DRAFT
    for action, who in [
        (A.SUBMIT, PR),
        (A.CLEAR, LEGAL),
        (A.APPROVE, GM),
        (A.PUBLISH, PR),
    ]:
        state = apply(state, action, who, Level.II).target
    assert state is S.PUBLISHED


def test_level_i_and_ii_need_the_general_manager() -> None:
    for level in (Level.I, Level.II):
        with pytest.raises(PermissionDenied, match=r"statements\.approve_major"):
            apply(S.PENDING_APPROVAL, A.APPROVE, PR_MANAGER, level)
        with pytest.raises(PermissionDenied, match=r"statements\.approve_major"):
            apply(S.PENDING_APPROVAL, A.REJECT, PR_MANAGER, level, {"comments": "x"})


def test_level_iii_and_iv_accept_the_pr_manager_or_the_gm() -> None:
    for level in (Level.III, Level.IV):
        assert apply(S.PENDING_APPROVAL, A.APPROVE, PR_MANAGER, level).target is S.APPROVED
        assert apply(S.PENDING_APPROVAL, A.APPROVE, GM, level).target is S.APPROVED
        with pytest.raises(PermissionDenied, match=r"'statements\.approve'"):
            apply(S.PENDING_APPROVAL, A.APPROVE, PR, level)
    assert approval_permissions(Level.I) == {"statements.approve_major"}


def test_publishing_without_approval_is_refused() -> None:
    for state in (S.DRAFT, S.LEGAL_REVIEW, S.PENDING_APPROVAL):
        with pytest.raises(InvalidTransition, match="'publish'"):
            apply(state, A.PUBLISH, PR | GM | LEGAL, Level.IV)


def test_published_statement_is_frozen() -> None:
    assert allowed_actions(S.PUBLISHED, frozenset(ALL_PERMISSIONS), Level.I) == ()
    with pytest.raises(InvalidTransition, match="frozen"):
        assert_editable(S.PUBLISHED)
    with pytest.raises(InvalidTransition, match="revise"):
        assert_editable(S.APPROVED)
    assert_editable(S.DRAFT)
    assert apply(S.APPROVED, A.REVISE, PR, Level.III).target is S.DRAFT


def test_sending_back_needs_comments() -> None:
    with pytest.raises(ValidationError) as error:
        apply(S.LEGAL_REVIEW, A.REQUEST_CHANGES, LEGAL, Level.III)
    assert error.value.field == "comments"
    with pytest.raises(ValidationError):
        apply(S.PENDING_APPROVAL, A.REJECT, GM, Level.I)
    back = apply(S.PENDING_APPROVAL, A.REJECT, GM, Level.I, {"comments": "措辞过硬"})
    assert back.target is S.DRAFT


def test_allowed_actions_depend_on_level() -> None:
    assert allowed_actions(S.PENDING_APPROVAL, PR_MANAGER, Level.III) == ("approve", "reject")
    assert allowed_actions(S.PENDING_APPROVAL, PR_MANAGER, Level.II) == ()
    assert allowed_actions(S.PENDING_APPROVAL, GM, Level.II) == ("approve", "reject")
    assert {r.permission for r in STATEMENT_TABLE.rules} <= ALL_PERMISSIONS


def test_line_diff_between_versions() -> None:
    old = "关于近期用户反馈的说明\n我们高度重视。\n正在调查。"
    new = "关于近期用户反馈的说明\n我们高度重视。\n调查已完成，问题已修复。\n感谢监督。"
    lines = diff_lines(old, new)
    assert [(d.op, d.old_number, d.new_number) for d in lines] == [
        (DiffOp.EQUAL, 1, 1),
        (DiffOp.EQUAL, 2, 2),
        (DiffOp.DELETE, 3, None),
        (DiffOp.INSERT, None, 3),
        (DiffOp.INSERT, None, 4),
    ]
    assert lines[2].text == "正在调查。"
    text = unified_diff(old, new, "v1", "v2")
    assert text.startswith("--- v1\n+++ v2")
    assert "-正在调查。" in text and "+感谢监督。" in text
    same = diff_lines(old, old)
    assert len(same) == 3 and all(d.op is DiffOp.EQUAL for d in same)
