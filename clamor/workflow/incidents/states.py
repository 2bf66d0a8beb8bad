"""The incident lifecycle (plan §4) as one transition table with guards.

    identified ─report─► reported ─assess─► assessed ─instruct─► instructed ─respond─► responding
    responding ─resolve─► resolved ─submit_review─► reviewed ─close─► closed
    reviewed ─accept_review─► reviewed                   (the leadership group accepts the report)
    reviewed ─return_review (comments)─► resolved        (or sends it back)

Until it is resolved an incident can be `cancel`led (a false alarm, with a reason) or `merge`d
into another incident. `reassess` and `instruct` repeat in place while the response runs: the
level may change and new tasks may be given without leaving the state.

The guards carry the plan's "what must be filled in": a report names its category and summary;
an assessment has the three ratings and a level, and a level other than the matrix's proposal
needs a reason; instructions name at least one task; closing needs an accepted review report and
every affected customer contacted, or a reason why not.
"""

from __future__ import annotations

from enum import StrEnum

from clamor.core.errors import ValidationError
from clamor.workflow.incidents.assessment import Level, Ratings, propose_level
from clamor.workflow.transitions import (
    Fields,
    Guard,
    Need,
    Transition,
    TransitionRule,
    TransitionTable,
)
from clamor.workflow.vocabulary import Perm, RiskCategory


class IncidentState(StrEnum):
    IDENTIFIED = "identified"
    REPORTED = "reported"
    ASSESSED = "assessed"
    INSTRUCTED = "instructed"
    RESPONDING = "responding"
    RESOLVED = "resolved"
    REVIEWED = "reviewed"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"


class IncidentAction(StrEnum):
    REPORT = "report"
    ASSESS = "assess"
    REASSESS = "reassess"
    INSTRUCT = "instruct"
    RESPOND = "respond"
    RESOLVE = "resolve"
    SUBMIT_REVIEW = "submit_review"
    RETURN_REVIEW = "return_review"
    ACCEPT_REVIEW = "accept_review"
    CLOSE = "close"
    CANCEL = "cancel"
    MERGE = "merge"


# -- guards ----------------------------------------------------------------------------------


# A guard returns what is wrong as a keyed error (not raised): the engine wraps it, naming the
# action and the field, in the reader's language.


def _known_category(fields: Fields) -> ValidationError | None:
    value = fields.get("category")
    if value is not None and value not in {c.value for c in RiskCategory}:
        return ValidationError.keyed("error.incidents.unknown_category", value=repr(value))
    return None


def _assessment_consistent(fields: Fields) -> ValidationError | None:
    try:
        ratings = Ratings(int(fields["severity"]), int(fields["scope"]), int(fields["risk"]))
    except (TypeError, ValueError):
        return ValidationError.keyed("error.incidents.ratings_not_whole")
    except ValidationError as error:
        return error
    if fields["level"] not in {level.value for level in Level}:
        return ValidationError.keyed("error.incidents.unknown_level", value=repr(fields["level"]))
    proposed = propose_level(ratings).level
    if fields["level"] != proposed and not _filled(fields.get("level_reason")):
        return ValidationError.keyed(
            "error.incidents.level_needs_reason", level=f"{fields['level']}", proposed=f"{proposed}"
        )
    return None


def _customers_contacted(fields: Fields) -> ValidationError | None:
    # The service passes the ids of affected customers not yet contacted (from the linked
    # complaints' communication logs); the plan lets the incident close only with a reason.
    waiting = fields.get("uncontacted_customers") or ()
    if waiting and not _filled(fields.get("uncontacted_reason")):
        return ValidationError.keyed("error.incidents.customers_not_contacted", count=len(waiting))
    return None


def _review_accepted(fields: Fields) -> ValidationError | None:
    if fields.get("review_accepted") is not True:
        return ValidationError.keyed("error.incidents.review_not_accepted")
    return None


def _not_itself(fields: Fields) -> ValidationError | None:
    if fields.get("incident_id") is not None and fields.get("incident_id") == fields.get(
        "target_incident"
    ):
        return ValidationError.keyed("error.incidents.merge_into_itself")
    return None


def _filled(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


CATEGORY_GUARD = Guard("category", "a known risk category", _known_category)
ASSESSMENT_GUARD = Guard(
    "level", "ratings valid; level as proposed or explained", _assessment_consistent
)
CONTACT_GUARD = Guard(
    "uncontacted_reason", "every affected customer contacted", _customers_contacted
)
REVIEW_GUARD = Guard("review_accepted", "the review report accepted", _review_accepted)
MERGE_GUARD = Guard("target_incident", "another incident", _not_itself)

# -- the table --------------------------------------------------------------------------------

S, A, P = IncidentState, IncidentAction, Perm
RATINGS = (Need("severity"), Need("scope"), Need("risk"), Need("level"))
ASSESS_GUARDS = (ASSESSMENT_GUARD,)
TASKS = (Need("tasks"),)
REPORT_NEEDS = (Need("summary"), Need("category"))
MERGE_NEEDS = (Need("target_incident"),)
BEFORE_RESOLUTION = (S.IDENTIFIED, S.REPORTED, S.ASSESSED, S.INSTRUCTED, S.RESPONDING)


def _rule(
    source: IncidentState,
    action: IncidentAction,
    target: IncidentState,
    permission: Perm,
    required: tuple[Need, ...] = (),
    guards: tuple[Guard, ...] = (),
) -> TransitionRule[IncidentState]:
    return TransitionRule(source, action.value, target, permission.value, required, guards)


_RULES = [
    _rule(S.IDENTIFIED, A.REPORT, S.REPORTED, P.INCIDENTS_REPORT, REPORT_NEEDS, (CATEGORY_GUARD,)),
    _rule(S.REPORTED, A.ASSESS, S.ASSESSED, P.INCIDENTS_ASSESS, RATINGS, ASSESS_GUARDS),
    _rule(S.ASSESSED, A.REASSESS, S.ASSESSED, P.INCIDENTS_ASSESS, RATINGS, ASSESS_GUARDS),
    _rule(S.INSTRUCTED, A.REASSESS, S.INSTRUCTED, P.INCIDENTS_ASSESS, RATINGS, ASSESS_GUARDS),
    _rule(S.RESPONDING, A.REASSESS, S.RESPONDING, P.INCIDENTS_ASSESS, RATINGS, ASSESS_GUARDS),
    _rule(S.ASSESSED, A.INSTRUCT, S.INSTRUCTED, P.INCIDENTS_INSTRUCT, TASKS),
    _rule(S.INSTRUCTED, A.INSTRUCT, S.INSTRUCTED, P.INCIDENTS_INSTRUCT, TASKS),
    _rule(S.RESPONDING, A.INSTRUCT, S.RESPONDING, P.INCIDENTS_INSTRUCT, TASKS),
    _rule(S.INSTRUCTED, A.RESPOND, S.RESPONDING, P.INCIDENTS_RESPOND),
    _rule(S.RESPONDING, A.RESOLVE, S.RESOLVED, P.INCIDENTS_RESOLVE, (Need("resolution_summary"),)),
    _rule(S.RESOLVED, A.SUBMIT_REVIEW, S.REVIEWED, P.INCIDENTS_REVIEW, (Need("review_report"),)),
    _rule(S.REVIEWED, A.RETURN_REVIEW, S.RESOLVED, P.INCIDENTS_ACCEPT_REVIEW, (Need("comments"),)),
    _rule(S.REVIEWED, A.ACCEPT_REVIEW, S.REVIEWED, P.INCIDENTS_ACCEPT_REVIEW),
    _rule(S.REVIEWED, A.CLOSE, S.CLOSED, P.INCIDENTS_CLOSE, (), (REVIEW_GUARD, CONTACT_GUARD)),
    *(
        _rule(state, A.CANCEL, S.CANCELLED, P.INCIDENTS_CANCEL, (Need("reason"),))
        for state in BEFORE_RESOLUTION
    ),
    *(
        _rule(state, A.MERGE, S.MERGED, P.INCIDENTS_MERGE, MERGE_NEEDS, (MERGE_GUARD,))
        for state in BEFORE_RESOLUTION
    ),
]

INCIDENT_TABLE: TransitionTable[IncidentState] = TransitionTable("incident", _RULES)
FINAL_STATES = frozenset({S.CLOSED, S.CANCELLED, S.MERGED})


def allowed_actions(state: IncidentState, permissions: frozenset[str]) -> tuple[str, ...]:
    return INCIDENT_TABLE.allowed_actions(state, permissions)


def apply(
    state: IncidentState,
    action: str,
    permissions: frozenset[str],
    fields: Fields | None = None,
) -> Transition[IncidentState]:
    """Check one action; raises InvalidTransition, PermissionDenied or ValidationError."""
    return INCIDENT_TABLE.apply(state, action, permissions, fields)
