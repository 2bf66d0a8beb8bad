"""The complaint case lifecycle (ISO 10002 and plan §4) as one transition table.

    received ─acknowledge─► acknowledged ─accept─► accepted ─assign─► assigned ─start─► in_progress
    received, acknowledged ─reject (reason)─► rejected
    in_progress ─request_info─► awaiting_customer ─provide_info─► in_progress
    in_progress ─assign─► assigned                                (hand it to someone else)
    in_progress ─reply─► replied ─request_feedback─► awaiting_feedback
    replied, awaiting_feedback ─close_satisfied─► closed
    awaiting_feedback ─close_without_feedback (reason)─► closed
    replied, awaiting_feedback, closed ─reopen (reason: unsatisfied)─► in_progress

Every open state can also be `merge`d into another case (target required) or `escalate`d into an
incident. Escalation does not move the case: the complainant is still owed a reply, so the case
keeps its own lifecycle and only gains a link to the incident.

The SLA clock pauses while the ball is in the complainant's court (`awaiting_customer`,
`awaiting_feedback`) and stops in the finished states (rejected, closed, merged).
"""

from __future__ import annotations

from enum import StrEnum

from clamor.core.errors import ValidationError
from clamor.workflow.transitions import (
    Fields,
    Guard,
    Need,
    SlaEffect,
    Transition,
    TransitionRule,
    TransitionTable,
)
from clamor.workflow.vocabulary import Perm


class CaseState(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_CUSTOMER = "awaiting_customer"
    REPLIED = "replied"
    AWAITING_FEEDBACK = "awaiting_feedback"
    CLOSED = "closed"
    MERGED = "merged"


class CaseAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ACCEPT = "accept"
    REJECT = "reject"
    ASSIGN = "assign"
    START = "start"
    REQUEST_INFO = "request_info"
    PROVIDE_INFO = "provide_info"
    REPLY = "reply"
    REQUEST_FEEDBACK = "request_feedback"
    CLOSE_SATISFIED = "close_satisfied"
    CLOSE_WITHOUT_FEEDBACK = "close_without_feedback"
    REOPEN = "reopen"
    MERGE = "merge"
    ESCALATE = "escalate"


PAUSED_STATES = frozenset({CaseState.AWAITING_CUSTOMER, CaseState.AWAITING_FEEDBACK})
# Finished: the clocks stop and the case leaves the inbox. Only `closed` can come back (reopen).
FINISHED_STATES = frozenset({CaseState.REJECTED, CaseState.CLOSED, CaseState.MERGED})
OPEN_STATES = frozenset(CaseState) - FINISHED_STATES


def _not_itself(fields: Fields) -> ValidationError | None:
    # The service passes the case's own id as `case_id`; merging a case into itself would
    # hide it for good.
    if fields.get("case_id") is not None and fields.get("case_id") == fields.get("target_case"):
        return ValidationError.keyed("error.complaints.merge_into_itself")
    return None


MERGE_TARGET_GUARD = Guard("target_case", "the target is another case", _not_itself)

S, A, P = CaseState, CaseAction, Perm
REASON = Need("reason")
ASSIGNEE = Need("assignee_group", "assignee_user")


def _rule(
    source: CaseState,
    action: CaseAction,
    target: CaseState,
    permission: Perm,
    *required: Need,
    effect: SlaEffect = SlaEffect.NONE,
) -> TransitionRule[CaseState]:
    return TransitionRule(
        source=source,
        action=action.value,
        target=target,
        permission=permission.value,
        required=required,
        pauses_sla=target in PAUSED_STATES,
        sla_effect=effect,
    )


HANDLE, ASSIGN, CLOSE = P.COMPLAINTS_HANDLE, P.COMPLAINTS_ASSIGN, P.COMPLAINTS_CLOSE
FIRST, RESOLVED, STOPS, REOPENS = (
    SlaEffect.FIRST_RESPONSE,
    SlaEffect.RESOLVED,
    SlaEffect.CLOSED,
    SlaEffect.REOPENED,
)

_LIFECYCLE = [
    _rule(S.RECEIVED, A.ACKNOWLEDGE, S.ACKNOWLEDGED, HANDLE, effect=FIRST),
    # Spam and abuse can be rejected before acknowledgement; the reason is what the audit keeps.
    _rule(S.RECEIVED, A.REJECT, S.REJECTED, HANDLE, REASON, effect=STOPS),
    _rule(S.ACKNOWLEDGED, A.ACCEPT, S.ACCEPTED, HANDLE),
    _rule(S.ACKNOWLEDGED, A.REJECT, S.REJECTED, HANDLE, REASON, effect=STOPS),
    _rule(S.ACCEPTED, A.ASSIGN, S.ASSIGNED, ASSIGN, ASSIGNEE),
    _rule(S.ASSIGNED, A.ASSIGN, S.ASSIGNED, ASSIGN, ASSIGNEE),
    _rule(S.ASSIGNED, A.START, S.IN_PROGRESS, HANDLE),
    _rule(S.IN_PROGRESS, A.ASSIGN, S.ASSIGNED, ASSIGN, ASSIGNEE),
    _rule(S.IN_PROGRESS, A.REQUEST_INFO, S.AWAITING_CUSTOMER, HANDLE, Need("message")),
    _rule(S.AWAITING_CUSTOMER, A.PROVIDE_INFO, S.IN_PROGRESS, HANDLE),
    _rule(S.IN_PROGRESS, A.REPLY, S.REPLIED, HANDLE, Need("reply"), effect=RESOLVED),
    _rule(S.REPLIED, A.REQUEST_FEEDBACK, S.AWAITING_FEEDBACK, HANDLE),
    _rule(S.REPLIED, A.CLOSE_SATISFIED, S.CLOSED, CLOSE, effect=STOPS),
    _rule(S.AWAITING_FEEDBACK, A.CLOSE_SATISFIED, S.CLOSED, CLOSE, effect=STOPS),
    # No answer within the feedback period: close, saying so.
    _rule(S.AWAITING_FEEDBACK, A.CLOSE_WITHOUT_FEEDBACK, S.CLOSED, CLOSE, REASON, effect=STOPS),
    # An unsatisfied complainant reopens the case; it goes back to whoever handled it, and can
    # be reassigned from in_progress. Reopening a closed case is the manager's call.
    _rule(S.REPLIED, A.REOPEN, S.IN_PROGRESS, HANDLE, REASON, effect=REOPENS),
    _rule(S.AWAITING_FEEDBACK, A.REOPEN, S.IN_PROGRESS, HANDLE, REASON, effect=REOPENS),
    _rule(S.CLOSED, A.REOPEN, S.IN_PROGRESS, CLOSE, REASON, effect=REOPENS),
]

_MERGES = [
    TransitionRule(
        source=state,
        action=A.MERGE.value,
        target=S.MERGED,
        permission=P.COMPLAINTS_MERGE.value,
        required=(Need("target_case"),),
        guards=(MERGE_TARGET_GUARD,),
        sla_effect=SlaEffect.CLOSED,
    )
    for state in CaseState
    if state in OPEN_STATES
]

_ESCALATIONS = [
    TransitionRule(
        source=state,
        action=A.ESCALATE.value,
        target=state,
        permission=P.COMPLAINTS_ESCALATE.value,
        required=(Need("incident_id"),),
        pauses_sla=state in PAUSED_STATES,
    )
    for state in CaseState
    if state in OPEN_STATES
]

CASE_TABLE: TransitionTable[CaseState] = TransitionTable(
    "complaint case", [*_LIFECYCLE, *_MERGES, *_ESCALATIONS]
)


def allowed_actions(state: CaseState, permissions: frozenset[str]) -> tuple[str, ...]:
    """The actions a person with `permissions` may take on a case in `state` (for the UI)."""
    return CASE_TABLE.allowed_actions(state, permissions)


def apply(
    state: CaseState,
    action: str,
    permissions: frozenset[str],
    fields: Fields | None = None,
) -> Transition[CaseState]:
    """Check one action; raises InvalidTransition, PermissionDenied or ValidationError."""
    return CASE_TABLE.apply(state, action, permissions, fields)


def clock_pauses_in(state: CaseState) -> bool:
    return state in PAUSED_STATES
