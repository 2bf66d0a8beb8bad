"""SLA of stored cases: the policies in force (edited in the UI, else the shipped defaults), due
times refreshed on creation and on every transition, and a sweep that writes warnings and
escalations into the notification outbox, each exactly once.

`sweep_sla_committing(db, now)` is what the scheduler calls every minute (`sweep_sla(session,
now)` is the same in one transaction): it re-reads the policies and the company's own days
(`business_calendar`), so an edited policy or a new company closure reaches every open case at
the next sweep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, lazyload

from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.errors import ConfigurationError, NotFoundError, Term, ValidationError
from clamor.core.principal import Principal
from clamor.notify.models import PENDING, Outbox
from clamor.org.models import Membership
from clamor.storage.database import Database
from clamor.workflow.calendar import BusinessCalendar, Pause
from clamor.workflow.complaints.models import CompanyDay, ComplaintCase, SlaPolicyRow
from clamor.workflow.complaints.states import FINISHED_STATES, PAUSED_STATES, CaseState
from clamor.workflow.sla import (
    DEFAULT_POLICIES,
    CaseSla,
    CaseTimes,
    ClockKind,
    NotificationKind,
    Recipient,
    SlaNotification,
    SlaPolicy,
    SlaPolicySet,
    case_notifications,
    evaluate_case,
    next_check_at,
)
from clamor.workflow.vocabulary import Priority, RiskCategory

CALENDAR = BusinessCalendar()
# Values of ComplaintCase.sla_state besides ok / warning / breached.
PAUSED, DONE = "paused", "done"
SLA_STATES = ("ok", "warning", "breached", PAUSED, DONE)
COMPLAINT_GROUP_KIND = "complaint_handling"
OPEN_STATES = tuple(s.value for s in CaseState if s not in FINISHED_STATES)
# `sla_check_at` of a case that time alone cannot change (met, breached, paused, finished): it
# waits for a transition (NULL means the opposite: look at it at the next sweep).
NOTHING_TO_CHECK = datetime(9999, 12, 31, tzinfo=UTC)


def recheck_open_cases(session: Session) -> None:
    """Have the next sweep evaluate every open case again: a policy or the calendar changed, so
    the stored next-check moments may be wrong."""
    session.execute(
        update(ComplaintCase).where(ComplaintCase.status.in_(OPEN_STATES)).values(sla_check_at=None)
    )


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


def evaluate(
    case: ComplaintCase,
    now: datetime,
    policies: SlaPolicySet | None = None,
    calendar: BusinessCalendar = CALENDAR,
) -> CaseSla:
    return evaluate_case(case_times(case), now, calendar, policies or DEFAULT_POLICIES)


def initial_deadlines(
    priority: str,
    category: str,
    received_at: datetime,
    now: datetime,
    policies: SlaPolicySet,
    calendar: BusinessCalendar = CALENDAR,
) -> tuple[datetime | None, datetime | None, str]:
    """(first response due, resolution due, SLA state) of a case just received."""
    times = CaseTimes("new", Priority(priority), received_at, _category(category))
    sla = evaluate_case(times, now, calendar, policies)
    return sla.first_response.due_at, sla.resolution.due_at, sla.state.value


def refresh(
    case: ComplaintCase,
    now: datetime,
    policies: SlaPolicySet | None = None,
    calendar: BusinessCalendar = CALENDAR,
) -> CaseSla:
    """Store the due times and the SLA state the case has at `now` (under `policies` and on
    `calendar`: pass `policy_set(session)` and `business_calendar(session)`; the defaults are
    the shipped policies on the public-holiday calendar)."""
    times = case_times(case)
    sla = evaluate_case(times, now, calendar, policies or DEFAULT_POLICIES)
    case.first_response_due_at = sla.first_response.due_at
    case.resolution_due_at = sla.resolution.due_at
    status = CaseState(case.status)
    if status in FINISHED_STATES:
        case.sla_state = DONE
    elif status in PAUSED_STATES:
        case.sla_state = PAUSED
    else:
        case.sla_state = sla.state.value
    next_check = next_check_at(times, sla, calendar) if status not in FINISHED_STATES else None
    case.sla_check_at = next_check or NOTHING_TO_CHECK
    return sla


def _has_leader(session: Session, group_id: int) -> bool:
    found = session.scalar(
        select(Membership.id)
        .where(Membership.group_id == group_id, Membership.role == "leader")
        .limit(1)
    )
    return found is not None


def _recipient(session: Session, case: ComplaintCase, note: SlaNotification) -> str:
    """Whom the outbox row names. Never a raw address: the deliverer (`notify.deliver`) expands
    `user:` / `group:` / `leader:` into people and applies each person's preferences (e-mail
    off, quiet hours) and the group's subscribed webhooks. A breach goes to the leader of the
    assigned group, else (no group, or a group without a leader) the complaint group's leader."""
    if note.recipient is Recipient.ASSIGNEE:
        if case.assignee_user_id is not None:
            return f"user:{case.assignee_user_id}"
        if case.assignee_group_id is not None:
            return f"group:{case.assignee_group_id}"
        return f"group:{COMPLAINT_GROUP_KIND}"
    group_id = case.assignee_group_id
    if group_id is not None and _has_leader(session, group_id):
        return f"leader:{group_id}"
    return f"leader:{COMPLAINT_GROUP_KIND}"


def _message(case: ComplaintCase, note: SlaNotification) -> tuple[str, str]:
    what = "warning" if note.kind is NotificationKind.WARNING else "breached"
    due = note.due_at.isoformat() if note.due_at else "paused"
    subject = f"[SLA {what}] complaint {case.tracking_code}: {note.target} due {due}"
    body = (
        f"Complaint {case.tracking_code} ({case.priority}, {case.category}, status "
        f"{case.status}): the {note.target} deadline is {what} (due {due})."
    )
    return subject, body


def _known_keys(session: Session, keys: list[str]) -> set[str]:
    """Dedup keys already in the outbox (a shortcut only: `_insert_once` is the guard)."""
    return set(session.scalars(select(Outbox.dedup_key).where(Outbox.dedup_key.in_(keys))))


def _insert_once(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose dedup key is already there — also one written by
    a concurrent sweep after our look-up (a job delivered twice, two workers): INSERT … ON
    CONFLICT DO NOTHING, atomic on both databases. Returns the rows really inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = Outbox.__table__
    statement = (
        insert(table).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.id)
    )
    return len(session.execute(statement, rows).all())


def sweep_sla(session: Session, now: datetime, batch: int = 1000) -> dict[str, Any]:
    """Evaluate every open case at `now` in one transaction; write due notifications into the
    outbox once each (dedup key, inserted with ON CONFLICT DO NOTHING), update stored SLA states.
    Safe to run every minute, from any process, and from two at once: overlapping sweeps write
    each warning and escalation exactly once."""
    policies, calendar = policy_set(session), business_calendar(session)
    evaluated = written = last_id = 0
    while True:
        done = _sweep_batch(session, now, policies, calendar, last_id, batch)
        if done is None:
            return {"evaluated": evaluated, "notifications": written}
        last_id, counted, wrote = done
        evaluated, written = evaluated + counted, written + wrote


def sweep_sla_committing(db: Database, now: datetime, batch: int = 500) -> dict[str, Any]:
    """`sweep_sla` with a commit after every `batch` cases: what the scheduler runs. At 100,000
    open cases one transaction would hold SQLite's write lock for seconds every minute and stall
    intake; batches let other writers in between. Each batch is complete on its own (a case's
    new SLA state and its notifications commit together), so a sweep cut short loses nothing the
    next one will not redo."""
    with db.read() as session:
        policies, calendar = policy_set(session), business_calendar(session)
    evaluated = written = last_id = 0
    while True:
        with db.write() as session:
            done = _sweep_batch(session, now, policies, calendar, last_id, batch)
        if done is None:
            return {"evaluated": evaluated, "notifications": written}
        last_id, counted, wrote = done
        evaluated, written = evaluated + counted, written + wrote


def _sweep_batch(
    session: Session,
    now: datetime,
    policies: SlaPolicySet,
    calendar: BusinessCalendar,
    after_id: int,
    batch: int,
) -> tuple[int, int, int] | None:
    """Refresh the next `batch` open cases after `after_id` and queue their due notifications:
    (last case id, cases evaluated, notifications written), or None when no case is left."""
    cases = session.scalars(
        select(ComplaintCase)
        .where(
            ComplaintCase.status.in_(OPEN_STATES),
            ComplaintCase.id > after_id,
            # Only cases whose next warning or breach has come (or that were never looked at):
            # at 100,000 open cases the others would cost seconds of evaluation every minute.
            or_(ComplaintCase.sla_check_at.is_(None), ComplaintCase.sla_check_at <= now),
        )
        .order_by(ComplaintCase.id)
        .limit(batch)
        # Deadlines need no personal data: the complainant is not joined nor decrypted.
        .options(lazyload(ComplaintCase.complainant))
    ).all()
    if not cases:
        return None
    due = [
        (case, note)
        for case in cases
        for note in case_notifications(refresh(case, now, policies, calendar))
    ]
    known = _known_keys(session, [note.dedup_key for _, note in due])
    rows = []
    for case, note in due:
        if note.dedup_key in known:
            continue
        subject, body = _message(case, note)
        rows.append(
            {
                "channel": "email",
                "recipient": _recipient(session, case, note),
                "subject": subject,
                "body": body,
                "dedup_key": note.dedup_key,
                "created_at": now,
                "state": PENDING,
            }
        )
        known.add(note.dedup_key)
    written = _insert_once(session, rows)
    session.flush()
    return cases[-1].id, len(cases), written


# --- editing the policies ---------------------------------------------------------------------

ANY_CATEGORY = "*"
CONFIGURE = "complaints.configure"
MAX_BUDGET_HOURS = 24 * 90


@dataclass(frozen=True)
class PolicyIn:
    """One policy as a person typed it: hours (decimals allowed) of the chosen clock."""

    priority: str
    category: str  # a RiskCategory value, or "*" for the priority's default
    first_response_hours: float
    resolution_hours: float
    clock: str = ClockKind.BUSINESS.value


def _row_policy(row: SlaPolicyRow) -> SlaPolicy:
    return SlaPolicy(
        Priority(row.priority),
        timedelta(minutes=row.first_response_minutes),
        timedelta(minutes=row.resolution_minutes),
        category=None if row.category == ANY_CATEGORY else RiskCategory(row.category),
        clock=ClockKind(row.clock),
    )


def policy_set(session: Session) -> SlaPolicySet:
    """The policies in force: the stored ones, else the shipped defaults."""
    rows = session.scalars(select(SlaPolicyRow)).all()
    return SlaPolicySet(_row_policy(row) for row in rows) if rows else DEFAULT_POLICIES


def policy_inputs(policies: SlaPolicySet) -> list[PolicyIn]:
    """The policies as the editor shows them: defaults first, by priority, then overrides."""
    order = {p: i for i, p in enumerate(Priority)}
    return [
        PolicyIn(
            p.priority.value,
            p.category.value if p.category else ANY_CATEGORY,
            p.first_response.total_seconds() / 3600,
            p.resolution.total_seconds() / 3600,
            p.clock.value,
        )
        for p in sorted(policies, key=lambda p: (p.category is not None, order[p.priority]))
    ]


def _minutes(hours: float, field: str) -> int:
    if not 0 < hours <= MAX_BUDGET_HOURS:
        raise ValidationError.keyed(
            "error.complaints.policy_hours", field=field, max=MAX_BUDGET_HOURS
        )
    return round(hours * 60)


def _checked(index: int, entry: PolicyIn) -> SlaPolicy:
    where = f"policies[{index}]"
    try:
        priority = Priority(entry.priority)
    except ValueError:
        raise ValidationError.keyed(
            "error.complaints.policy_one_of",
            field=f"{where}.priority",
            allowed=", ".join(p.value for p in Priority),
        ) from None
    category: RiskCategory | None = None
    if entry.category != ANY_CATEGORY:
        try:
            category = RiskCategory(entry.category)
        except ValueError:
            allowed = ", ".join([ANY_CATEGORY, *(c.value for c in RiskCategory)])
            raise ValidationError.keyed(
                "error.complaints.policy_one_of", field=f"{where}.category", allowed=allowed
            ) from None
    try:
        kind = ClockKind(entry.clock)
    except ValueError:
        raise ValidationError.keyed(
            "error.complaints.policy_clock", field=f"{where}.clock"
        ) from None
    first = _minutes(entry.first_response_hours, f"{where}.first_response_hours")
    resolution = _minutes(entry.resolution_hours, f"{where}.resolution_hours")
    if first > resolution:
        raise ValidationError.keyed(
            "error.complaints.policy_first_after_resolution",
            field=f"{where}.first_response_hours",
            where=where,
        )
    return SlaPolicy(
        priority,
        timedelta(minutes=first),
        timedelta(minutes=resolution),
        category=category,
        clock=kind,
    )


def save_policies(
    session: Session, actor: Principal, entries: list[PolicyIn], reason: str = ""
) -> SlaPolicySet:
    """Replace the policies in force with `entries` (a default per priority is required; at
    most one policy per priority and category). Needs complaints.configure; audited with the
    policies before and after. Open cases take them up at the next SLA sweep."""
    actor.require(CONFIGURE)
    checked = [_checked(i, entry) for i, entry in enumerate(entries)]
    try:
        policies = SlaPolicySet(checked)
    except ConfigurationError as exc:
        raise ValidationError.keyed(
            "error.complaints.detail", field="policies", detail=exc
        ) from exc
    before = [_as_dict(p) for p in policy_inputs(policy_set(session))]
    session.execute(delete(SlaPolicyRow))
    now = clock.now()
    for policy in checked:
        session.add(
            SlaPolicyRow(
                priority=policy.priority.value,
                category=policy.category.value if policy.category else ANY_CATEGORY,
                first_response_minutes=int(policy.first_response.total_seconds() // 60),
                resolution_minutes=int(policy.resolution.total_seconds() // 60),
                clock=policy.clock.value,
                updated_at=now,
                updated_by=actor.username,
            )
        )
    session.flush()
    recheck_open_cases(session)
    after = [_as_dict(p) for p in policy_inputs(policies)]
    audit.record(
        session,
        actor,
        "complaint.sla_policies",
        "sla_policies",
        "complaints",
        before={"policies": before},
        after={"policies": after},
        reason=reason.strip() or None,
    )
    return policies


def _as_dict(entry: PolicyIn) -> dict[str, Any]:
    return {
        "priority": entry.priority,
        "category": entry.category,
        "first_response_hours": entry.first_response_hours,
        "resolution_hours": entry.resolution_hours,
        "clock": entry.clock,
    }


# --- the company's own days on the business calendar ------------------------------------------

CLOSED, WORKDAY = "closed", "workday"
COMPANY_DAY_KINDS = (CLOSED, WORKDAY)
MAX_DAY_LABEL = 200
# A date outside these years is a typing mistake (20226-05-01), not a plan.
COMPANY_DAY_YEARS = (2000, 2100)


def business_calendar(session: Session) -> BusinessCalendar:
    """The calendar complaint deadlines count on: working hours, weekends, public holidays and
    make-up workdays, and the company's own closed days and extra working days."""
    rows = session.execute(select(CompanyDay.day, CompanyDay.kind)).all()
    if not rows:
        return CALENDAR
    closed = frozenset(day for day, kind in rows if kind == CLOSED)
    return _calendar_with(closed, frozenset(day for day, _ in rows) - closed)


@lru_cache(maxsize=32)
def _calendar_with(closed: frozenset[date], workdays: frozenset[date]) -> BusinessCalendar:
    # One object per set of company days: the calendar caches each day's working periods by
    # calendar, so a fresh (equal) object per request would only cost hashing.
    return BusinessCalendar(extra_holidays=closed, extra_workdays=workdays)


def company_days(session: Session) -> list[CompanyDay]:
    """The company's days, earliest first."""
    return list(session.scalars(select(CompanyDay).order_by(CompanyDay.day)))


def parse_day(value: str | date, field: str = "day") -> date:
    """A date from the form (YYYY-MM-DD); ValidationError naming `field`."""
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError.keyed(
                "error.complaints.not_a_date", field=field, value=value
            ) from None
    first, last = COMPANY_DAY_YEARS
    if not first <= day.year <= last:
        raise ValidationError.keyed(
            "error.complaints.year_range", field=field, first=first, last=last
        )
    return day


def _day_dict(row: CompanyDay) -> dict[str, str]:
    return {"day": row.day.isoformat(), "kind": row.kind, "label": row.label}


def add_company_day(
    session: Session, actor: Principal, day: str | date, kind: str, label: str
) -> CompanyDay:
    """Put one day on the company calendar: `closed` (no working hours that day, even on a
    make-up workday) or `workday` (working hours, even on a weekend or public holiday). Needs
    complaints.configure; a date already there is refused (remove it first); audited. Open
    cases take the day up at the next SLA sweep; new cases at once."""
    actor.require(CONFIGURE)
    when = parse_day(day)
    if kind not in COMPANY_DAY_KINDS:
        raise ValidationError.keyed(
            "error.complaints.day_kind", field="kind", closed=CLOSED, workday=WORKDAY
        )
    text = label.strip()
    if not text:
        raise ValidationError.keyed("error.complaints.day_label_missing", field="label")
    if len(text) > MAX_DAY_LABEL:
        raise ValidationError.keyed(
            "error.complaints.day_label_too_long", field="label", max=MAX_DAY_LABEL
        )
    existing = session.scalar(select(CompanyDay).where(CompanyDay.day == when))
    if existing is not None:
        raise ValidationError.keyed(
            "error.complaints.day_taken",
            field="day",
            day=when.isoformat(),
            label=existing.label,
            kind=Term(f"error.complaints.day_kind.{existing.kind}"),
        )
    row = CompanyDay(
        day=when, kind=kind, label=text, created_at=clock.now(), created_by=actor.username
    )
    session.add(row)
    session.flush()  # the unique day: a concurrent add of the same date fails here, not later
    recheck_open_cases(session)
    audit.record(
        session,
        actor,
        "complaint.company_day_add",
        "company_day",
        when.isoformat(),
        after=_day_dict(row),
    )
    return row


def remove_company_day(session: Session, actor: Principal, day: str | date) -> None:
    """Take one day off the company calendar (complaints.configure); audited."""
    actor.require(CONFIGURE)
    when = parse_day(day)
    row = session.scalar(select(CompanyDay).where(CompanyDay.day == when))
    if row is None:
        raise NotFoundError.keyed(
            "error.complaints.day_not_on_calendar", field="day", day=when.isoformat()
        )
    before = _day_dict(row)
    session.delete(row)
    session.flush()
    recheck_open_cases(session)
    audit.record(
        session,
        actor,
        "complaint.company_day_remove",
        "company_day",
        when.isoformat(),
        before=before,
    )
