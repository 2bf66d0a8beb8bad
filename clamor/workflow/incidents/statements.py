"""Public statements (plan §4.4): draft → legal review → approval → published, then frozen.

    draft ─submit─► legal_review ─clear─► pending_approval ─approve─► approved ─publish─► published
    legal_review ─request_changes (comments)─► draft
    pending_approval ─reject (comments)─► draft
    pending_approval, approved ─revise─► draft                    (the text must change)

Legal clears the text, then someone with authority approves it: for levels III–IV
`statements.approve` (or the GM's `statements.approve_major`), for levels I–II only the GM's
`statements.approve_major`. The text may change only in `draft` — a change after legal review
sends it back through review — and a published statement never changes: a correction is a new
statement.

Every saved text is a version; `diff_lines` / `unified_diff` show what changed between two.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from clamor.core.errors import InvalidTransition, PermissionDenied
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.transitions import (
    Fields,
    Need,
    Transition,
    TransitionRule,
    TransitionTable,
)
from clamor.workflow.vocabulary import Perm


class StatementState(StrEnum):
    DRAFT = "draft"
    LEGAL_REVIEW = "legal_review"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    PUBLISHED = "published"


class StatementAction(StrEnum):
    SUBMIT = "submit"
    REQUEST_CHANGES = "request_changes"
    CLEAR = "clear"
    APPROVE = "approve"
    REJECT = "reject"
    REVISE = "revise"
    PUBLISH = "publish"


S, A, P = StatementState, StatementAction, Perm
COMMENTS = (Need("comments"),)


def _rule(
    source: StatementState,
    action: StatementAction,
    target: StatementState,
    permission: Perm,
    required: tuple[Need, ...] = (),
) -> TransitionRule[StatementState]:
    return TransitionRule(source, action.value, target, permission.value, required)


STATEMENT_TABLE: TransitionTable[StatementState] = TransitionTable(
    "statement",
    [
        _rule(S.DRAFT, A.SUBMIT, S.LEGAL_REVIEW, P.STATEMENTS_DRAFT),
        _rule(S.LEGAL_REVIEW, A.REQUEST_CHANGES, S.DRAFT, P.STATEMENTS_LEGAL_REVIEW, COMMENTS),
        _rule(S.LEGAL_REVIEW, A.CLEAR, S.PENDING_APPROVAL, P.STATEMENTS_LEGAL_REVIEW),
        # The table names the ordinary permission; `apply` asks for the GM's on levels I–II.
        _rule(S.PENDING_APPROVAL, A.APPROVE, S.APPROVED, P.STATEMENTS_APPROVE),
        _rule(S.PENDING_APPROVAL, A.REJECT, S.DRAFT, P.STATEMENTS_APPROVE, COMMENTS),
        _rule(S.PENDING_APPROVAL, A.REVISE, S.DRAFT, P.STATEMENTS_DRAFT),
        _rule(S.APPROVED, A.REVISE, S.DRAFT, P.STATEMENTS_DRAFT),
        _rule(S.APPROVED, A.PUBLISH, S.PUBLISHED, P.STATEMENTS_PUBLISH),
    ],
)

_APPROVING_ACTIONS = frozenset({A.APPROVE.value, A.REJECT.value})


def approval_permissions(level: Level) -> frozenset[str]:
    """Any one of these lets a person approve (or reject) a statement of an incident at `level`."""
    if level.engages_leadership:
        return frozenset({P.STATEMENTS_APPROVE_MAJOR.value})
    return frozenset({P.STATEMENTS_APPROVE.value, P.STATEMENTS_APPROVE_MAJOR.value})


def _may(action: str, permission: str, permissions: frozenset[str], level: Level) -> bool:
    if action in _APPROVING_ACTIONS:
        return bool(approval_permissions(level) & permissions)
    return permission in permissions


def allowed_actions(
    state: StatementState, permissions: frozenset[str], level: Level
) -> tuple[str, ...]:
    return tuple(
        rule.action
        for rule in STATEMENT_TABLE.rules
        if rule.source == state and _may(rule.action, rule.permission, permissions, level)
    )


def apply(
    state: StatementState,
    action: str,
    permissions: frozenset[str],
    level: Level,
    fields: Fields | None = None,
) -> Transition[StatementState]:
    """Check one action on a statement of an incident at `level`."""
    rule = STATEMENT_TABLE.rule(state, action)  # an impossible action is refused first
    if rule.action in _APPROVING_ACTIONS:
        _require_approval_right(permissions, level, action)
        # The approval right is settled; let the table check the rest (fields).
        permissions = permissions | {rule.permission}
    return STATEMENT_TABLE.apply(state, action, permissions, fields)


def _require_approval_right(permissions: frozenset[str], level: Level, action: str) -> None:
    if approval_permissions(level) & permissions:
        return
    # Name the permission the actor would have to be given.
    needed = P.STATEMENTS_APPROVE_MAJOR if level.engages_leadership else P.STATEMENTS_APPROVE
    raise PermissionDenied.keyed(
        "error.incidents.statement_approval_permission",
        action=repr(action),
        level=f"{level}",
        permission=repr(needed.value),
    )


def assert_editable(state: StatementState) -> None:
    """The text may only be changed in draft; published statements are frozen."""
    if state is StatementState.PUBLISHED:
        raise InvalidTransition.keyed("error.incidents.statement_frozen")
    if state is not StatementState.DRAFT:
        raise InvalidTransition.keyed(
            "error.incidents.statement_not_draft", state=repr(state.value)
        )


# -- versions and diffs ------------------------------------------------------------------------


class DiffOp(StrEnum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


@dataclass(frozen=True)
class DiffLine:
    op: DiffOp
    old_number: int | None  # 1-based line number in the old text
    new_number: int | None
    text: str


def diff_lines(old: str, new: str) -> tuple[DiffLine, ...]:
    """Line-by-line differences, for showing two versions side by side."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    result: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.extend(
                DiffLine(DiffOp.EQUAL, i + 1, j + 1, old_lines[i])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        # 'replace' shows as the old lines deleted, then the new ones inserted.
        result.extend(DiffLine(DiffOp.DELETE, i + 1, None, old_lines[i]) for i in range(i1, i2))
        result.extend(DiffLine(DiffOp.INSERT, None, j + 1, new_lines[j]) for j in range(j1, j2))
    return tuple(result)


def unified_diff(old: str, new: str, old_label: str = "v1", new_label: str = "v2") -> str:
    return "\n".join(
        difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="")
    )
