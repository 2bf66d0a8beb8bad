"""SLA of stored cases: due times refreshed on creation and on every transition, and a sweep that
writes warnings and escalations into the notification outbox, each exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.notify.models import Outbox
from clamor.org.models import Group, Membership, Person
from clamor.workflow.calendar import BusinessCalendar, Pause
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.complaints.states import FINISHED_STATES, PAUSED_STATES, CaseState
from clamor.workflow.sla import (
    CaseSla,
    CaseTimes,
    NotificationKind,
    Recipient,
    SlaNotification,
    case_notifications,
    evaluate_case,
)
from clamor.workflow.vocabulary import Priority, RiskCategory

CALENDAR = BusinessCalendar()
# Values of ComplaintCase.sla_state besides ok / warning / breached.
PAUSED, DONE = "paused", "done"
SLA_STATES = ("ok", "warning", "breached", PAUSED, DONE)
COMPLAINT_GROUP_KIND = "complaint_handling"


def pauses_of(case: ComplaintCase) -> tuple[Pause, ...]:
    return tuple(
        Pause(datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None)
        for start, end in case.pauses
    )


def start_pause(case: ComplaintCase, now: datetime) -> None:
    case.pauses = [*case.pauses, [now.isoformat(), None]]


def end_pause(case: ComplaintCase, now: datetime) -> None:
    if case.pauses and case.pauses[-1][1] is None:
        case.pauses = [*case.pauses[:-1], [case.pauses[-1][0], now.isoformat()]]


def _category(value: str) -> RiskCategory | None:
    try:
        return RiskCategory(value)
    except ValueError:
        return None


def case_times(case: ComplaintCase) -> CaseTimes:
    return CaseTimes(
        case_id=str(case.id),
        priority=Priority(case.priority),
        received_at=case.received_at,
        category=_category(case.category),
        first_responded_at=case.first_responded_at,
        resolved_at=case.resolved_at or case.closed_at,
        pauses=pauses_of(case),
        cycle=case.sla_cycle,
        cycle_started_at=case.cycle_started_at,
    )


def evaluate(case: ComplaintCase, now: datetime) -> CaseSla:
    return evaluate_case(case_times(case), now, CALENDAR)


def refresh(case: ComplaintCase, now: datetime) -> CaseSla:
    """Store the due times and the SLA state the case has at `now`."""
    sla = evaluate(case, now)
    case.first_response_due_at = sla.first_response.due_at
    case.resolution_due_at = sla.resolution.due_at
    status = CaseState(case.status)
    if status in FINISHED_STATES:
        case.sla_state = DONE
    elif status in PAUSED_STATES:
        case.sla_state = PAUSED
    else:
        case.sla_state = sla.state.value
    return sla


def _leader_address(session: Session, group_id: int | None) -> str | None:
    query = (
        select(Person.email)
        .join(Membership, Membership.person_id == Person.id)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.role == "leader")
    )
    if group_id is not None:
        query = query.where(Group.id == group_id)
    else:
        query = query.where(Group.kind == COMPLAINT_GROUP_KIND)
    email = session.scalar(query.limit(1))
    return email or None


def _recipient(session: Session, case: ComplaintCase, note: SlaNotification) -> str:
    if note.recipient is Recipient.ASSIGNEE:
        if case.assignee_user_id is not None:
            return f"user:{case.assignee_user_id}"
        if case.assignee_group_id is not None:
            return f"group:{case.assignee_group_id}"
        return f"group:{COMPLAINT_GROUP_KIND}"
    return _leader_address(session, case.assignee_group_id) or f"leader:{COMPLAINT_GROUP_KIND}"


def _message(case: ComplaintCase, note: SlaNotification) -> tuple[str, str]:
    what = "warning" if note.kind is NotificationKind.WARNING else "breached"
    due = note.due_at.isoformat() if note.due_at else "paused"
    subject = f"[SLA {what}] complaint {case.tracking_code}: {note.target} due {due}"
    body = (
        f"Complaint {case.tracking_code} ({case.priority}, {case.category}, status "
        f"{case.status}): the {note.target} deadline is {what} (due {due})."
    )
    return subject, body


def sweep_sla(session: Session, now: datetime, batch: int = 1000) -> dict[str, Any]:
    """Evaluate every open case at `now`; write due notifications into the outbox once each
    (dedup key), update stored SLA states. Safe to run every minute, from any process."""
    open_states = [s.value for s in CaseState if s not in FINISHED_STATES]
    written = evaluated = 0
    last_id = 0
    while True:
        cases = session.scalars(
            select(ComplaintCase)
            .where(ComplaintCase.status.in_(open_states), ComplaintCase.id > last_id)
            .order_by(ComplaintCase.id)
            .limit(batch)
        ).all()
        if not cases:
            break
        due = [(case, note) for case in cases for note in case_notifications(refresh(case, now))]
        evaluated += len(cases)
        keys = [note.dedup_key for _, note in due]
        known = set(session.scalars(select(Outbox.dedup_key).where(Outbox.dedup_key.in_(keys))))
        for case, note in due:
            if note.dedup_key in known:
                continue
            subject, body = _message(case, note)
            session.add(
                Outbox(
                    channel="email",
                    recipient=_recipient(session, case, note),
                    subject=subject,
                    body=body,
                    dedup_key=note.dedup_key,
                    created_at=now,
                    state="pending",
                )
            )
            known.add(note.dedup_key)
            written += 1
        last_id = cases[-1].id
        session.flush()
    return {"evaluated": evaluated, "notifications": written}
