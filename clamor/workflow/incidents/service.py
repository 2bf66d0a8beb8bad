"""Incidents as stored objects (plan §4): opened by hand, from complaints or from an alert;
moved only through the pure transition tables (`states`, `tasks`, `statements`) with the
actor's permissions; every change audited in the same transaction, always on the object
("incident", id) so that the incident's timeline is read straight from the audit log.

Notifications are outbox rows written in the same transaction (`clamor.notify.models.Outbox`):
the complaint handling group when an incident is reported, the leadership group when the level
is I or II or a review report is submitted, a task's group when it is given a task, and the
group again when a task is overdue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.errors import (
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from clamor.core.principal import SYSTEM, Principal
from clamor.notify.models import Outbox
from clamor.org.models import Group, Membership, Person
from clamor.workflow.calendar import BusinessCalendar
from clamor.workflow.complaints.models import Communication, ComplaintCase
from clamor.workflow.incidents import metrics as metric_rules
from clamor.workflow.incidents import statements as statement_rules
from clamor.workflow.incidents import tasks as task_rules
from clamor.workflow.incidents.assessment import (
    Level,
    LevelOpinion,
    Ratings,
    Signals,
    propose_level,
    suggest_level,
)
from clamor.workflow.incidents.deadlines import Milestone, StepResult, step_results
from clamor.workflow.incidents.models import (
    ImprovementAction,
    Incident,
    IncidentComplaint,
    IncidentTask,
    ReviewReport,
    Statement,
    StatementVersion,
    StoredPlaybook,
)
from clamor.workflow.incidents.playbooks import (
    COMPLAINT_HANDLING,
    DEFAULT_PLAYBOOKS,
    LEADERSHIP,
    LOGISTICS_SUPPORT,
    Playbook,
    PlaybookSet,
    TaskType,
    calendar_for_level,
    parse_playbook,
    playbook_to_data,
)
from clamor.workflow.incidents.statements import StatementState
from clamor.workflow.incidents.states import (
    FINAL_STATES,
    IncidentAction,
    IncidentState,
    allowed_actions,
    apply,
)
from clamor.workflow.incidents.tasks import TaskState
from clamor.workflow.vocabulary import ALL_PERMISSIONS, Perm, RiskCategory

CALENDAR = BusinessCalendar()
SOURCES = ("manual", "complaints", "alert")
MAX_TITLE = 300
MAX_STATEMENT = 20_000  # a public statement, with room to spare
OPEN_TASK_STATES = (TaskState.OPEN.value, TaskState.ACKNOWLEDGED.value)
SUPPORT_TYPES = (TaskType.IT_SUPPORT.value, TaskType.LEGAL_CONSULTATION.value)
OUTBOUND_KINDS = ("call", "message", "email", "reply")


def permissions_of(actor: Principal) -> frozenset[str]:
    """The actor's permissions as the transition tables read them ('*' means all)."""
    return ALL_PERMISSIONS if "*" in actor.permissions else actor.permissions


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _required(value: object, field: str, limit: int | None = None) -> str:
    text = _text(value)
    if not text:
        raise ValidationError.keyed("error.incidents.required", field=field)
    if limit is not None and len(text) > limit:
        raise ValidationError.keyed("error.incidents.too_long", field=field, limit=limit)
    return text


def _category(value: object) -> str:
    try:
        return RiskCategory(str(value)).value
    except ValueError:
        known = ", ".join(c.value for c in RiskCategory)
        raise ValidationError.keyed(
            "error.incidents.unknown_category_choose",
            field="category",
            value=repr(value),
            known=known,
        ) from None


def _record(
    session: Session,
    actor: Principal,
    incident: Incident,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    incident.updated_at = clock.now()
    audit.record(
        session,
        actor,
        f"incident.{action}",
        "incident",
        incident.id,
        before=before,
        after=after,
        reason=reason,
    )


def _notify(session: Session, recipient: str, subject: str, body: str, dedup_key: str) -> None:
    """One outbox row, at most once per dedup key (written in the caller's transaction)."""
    if session.scalar(select(Outbox.id).where(Outbox.dedup_key == dedup_key)) is not None:
        return
    session.add(
        Outbox(
            channel="in_app",
            recipient=recipient,
            subject=subject[:500],
            body=body,
            dedup_key=dedup_key,
            created_at=clock.now(),
            state="pending",
        )
    )
    session.flush()


def _label(incident: Incident) -> str:
    drill = "[演练 drill] " if incident.is_drill else ""
    level = f" [{incident.level}]" if incident.level else ""
    return f"{drill}#{incident.id}{level} {incident.title}"


# --- reading ----------------------------------------------------------------------------------


def get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError.keyed("error.incidents.incident_not_found", id=incident_id)
    return incident


def list_incidents(
    session: Session, *, state: str | None = None, drills: bool = False, limit: int = 200
) -> list[Incident]:
    query = select(Incident).where(Incident.is_drill.is_(drills)).order_by(Incident.id.desc())
    if state:
        query = query.where(Incident.state == state)
    return list(session.scalars(query.limit(limit)))


def leadership_watch(session: Session) -> list[Incident]:
    """Open incidents of levels I–II: the leadership group's place on the dashboard."""
    final = [s.value for s in FINAL_STATES]
    return list(
        session.scalars(
            select(Incident)
            .where(
                Incident.level.in_((Level.I.value, Level.II.value)),
                Incident.state.not_in(final),
                Incident.is_drill.is_(False),
            )
            .order_by(Incident.level, Incident.id)
        )
    )


def actions_for(actor: Principal, incident: Incident) -> tuple[str, ...]:
    """What the actor may do now, leaving out what `act` would refuse whatever is typed: accepting
    a review report already accepted, and closing before the leadership group accepted it."""
    possible = allowed_actions(IncidentState(incident.state), permissions_of(actor))
    hidden = (
        IncidentAction.ACCEPT_REVIEW.value
        if incident.review_accepted_at is not None
        else IncidentAction.CLOSE.value
    )
    return tuple(a for a in possible if a != hidden)


def linked_cases(session: Session, incident_id: int) -> list[ComplaintCase]:
    ids = select(IncidentComplaint.case_id).where(IncidentComplaint.incident_id == incident_id)
    return list(
        session.scalars(
            select(ComplaintCase).where(ComplaintCase.id.in_(ids)).order_by(ComplaintCase.id)
        )
    )


def uncontacted_cases(session: Session, incident_id: int) -> list[ComplaintCase]:
    """Linked complaints whose customer has had no outbound call, message, e-mail or reply
    since the incident opened (the plan: customer service talks with every affected customer)."""
    cases = linked_cases(session, incident_id)
    if not cases:
        return []
    contacted = set(
        session.scalars(
            select(Communication.case_id).where(
                Communication.case_id.in_([c.id for c in cases]),
                Communication.direction == "out",
                Communication.kind.in_(OUTBOUND_KINDS),
            )
        )
    )
    return [case for case in cases if case.id not in contacted]


# --- opening ----------------------------------------------------------------------------------


def _reasons_data(opinion: LevelOpinion) -> list[dict[str, str]]:
    return [{"code": r.code, "en": r.en, "zh": r.zh} for r in opinion.reasons]


def _suggest_from_complaints(incident: Incident, cases: Sequence[ComplaintCase]) -> None:
    negative = sum(c.p_negative for c in cases) / len(cases) if cases else 0.0
    opinion = suggest_level(
        Signals(
            volume=len(cases),
            reach=0,
            negative_share=min(max(negative, 0.0), 1.0),
            category=RiskCategory(incident.category),
            linked_complaints=len(cases),
        )
    )
    incident.suggested_level = opinion.level.value
    incident.suggested_reasons = _reasons_data(opinion)


def _new_incident(
    actor: Principal,
    title: str,
    summary: str,
    category: str,
    source: str,
    *,
    is_drill: bool = False,
    alert_id: int | None = None,
) -> Incident:
    now = clock.now()
    return Incident(
        title=_required(title, "title", MAX_TITLE),
        summary=_text(summary),
        category=_category(category),
        state=IncidentState.IDENTIFIED.value,
        source=source,
        alert_id=alert_id,
        is_drill=is_drill,
        opened_by=actor.username,
        suggested_reasons=[],
        opened_at=now,
        updated_at=now,
    )


def open_incident(
    session: Session,
    actor: Principal,
    *,
    title: str,
    summary: str,
    category: str,
    complaint_ids: Iterable[int] = (),
    is_drill: bool = False,
) -> Incident:
    """Open an incident by hand or from complaint cases (anyone with incidents.report)."""
    actor.require(Perm.INCIDENTS_REPORT.value)
    ids = sorted(set(complaint_ids))
    cases = _cases_or_404(session, ids)
    source = "complaints" if ids else "manual"
    incident = _new_incident(actor, title, summary, category, source, is_drill=is_drill)
    session.add(incident)
    session.flush()
    _record(
        session,
        actor,
        incident,
        "open",
        after={
            "title": incident.title,
            "category": incident.category,
            "source": source,
            "complaints": ids,
            "drill": is_drill,
        },
    )
    if cases:
        _link(session, actor, incident, cases)
    return incident


def open_from_alert(
    session: Session,
    actor: Principal,
    alert_id: int,
    title: str,
    summary: str,
    category: str,
    suggested_level: str | None,
    reasons: Sequence[str | Mapping[str, str]] = (),
) -> Incident:
    """Open an incident from a monitoring alert in one step (the monitoring side calls this).
    The alert's graded level and reasons become the data-suggested level. Opening the same
    alert twice returns the incident already opened for it."""
    actor.require(Perm.INCIDENTS_REPORT.value)
    existing = session.scalar(
        select(Incident).where(Incident.alert_id == alert_id).order_by(Incident.id)
    )
    if existing is not None:
        return existing
    level: str | None = None
    if suggested_level:
        try:
            level = Level(suggested_level).value
        except ValueError:
            raise ValidationError.keyed(
                "error.incidents.unknown_level",
                field="suggested_level",
                value=repr(suggested_level),
            ) from None
    incident = _new_incident(actor, title, summary, category, "alert", alert_id=alert_id)
    incident.suggested_level = level
    incident.suggested_reasons = [
        {"code": "alert", "en": r, "zh": r}
        if isinstance(r, str)
        else {"code": r.get("code", "alert"), "en": r.get("en", ""), "zh": r.get("zh", "")}
        for r in reasons
    ]
    session.add(incident)
    session.flush()
    _record(
        session,
        actor,
        incident,
        "open",
        after={"title": incident.title, "category": incident.category, "alert": alert_id},
    )
    return incident


def _cases_or_404(session: Session, ids: Sequence[int]) -> list[ComplaintCase]:
    if not ids:
        return []
    cases = list(session.scalars(select(ComplaintCase).where(ComplaintCase.id.in_(ids))))
    missing = sorted(set(ids) - {c.id for c in cases})
    if missing:
        raise ValidationError.keyed(
            "error.incidents.cases_missing",
            field="complaint_ids",
            ids=", ".join(map(str, missing)),
        )
    return cases


def _link(
    session: Session, actor: Principal, incident: Incident, cases: Sequence[ComplaintCase]
) -> None:
    now = clock.now()
    already = set(
        session.scalars(
            select(IncidentComplaint.case_id).where(IncidentComplaint.incident_id == incident.id)
        )
    )
    for case in cases:
        if case.id in already:
            continue
        session.add(
            IncidentComplaint(
                incident_id=incident.id, case_id=case.id, linked_at=now, linked_by=actor.username
            )
        )
        if case.incident_id is None:
            case.incident_id = incident.id  # escalation: the case page links to the incident
    session.flush()
    if incident.source != "alert":
        _suggest_from_complaints(incident, linked_cases(session, incident.id))
    _record(
        session, actor, incident, "link_complaints", after={"complaints": [c.id for c in cases]}
    )


def link_complaints(
    session: Session, actor: Principal, incident_id: int, complaint_ids: Iterable[int]
) -> Incident:
    actor.require(Perm.INCIDENTS_REPORT.value)
    incident = get(session, incident_id)
    _require_open(incident)
    ids = sorted(set(complaint_ids))
    if not ids:
        raise ValidationError.keyed("error.incidents.no_case_named", field="complaint_ids")
    _link(session, actor, incident, _cases_or_404(session, ids))
    return incident


def _require_open(incident: Incident) -> None:
    if IncidentState(incident.state) in FINAL_STATES:
        raise InvalidTransition.keyed(
            "error.incidents.incident_final", id=incident.id, state=incident.state
        )


# --- group members ----------------------------------------------------------------------------


def group_by_key(session: Session, key: str) -> Group:
    group = session.scalar(select(Group).where(Group.key == key))
    if group is None:
        raise ValidationError.keyed("error.incidents.unknown_group", field="group", group=repr(key))
    return group


def member_usernames(session: Session, group_id: int) -> set[str]:
    return set(
        session.scalars(
            select(User.username)
            .join(Person, Person.user_id == User.id)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.group_id == group_id)
        )
    )


def _user_by_name(session: Session, username: str, field: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValidationError.keyed(
            "error.incidents.unknown_user", field=field, username=repr(username)
        )
    return user


# --- the lifecycle ----------------------------------------------------------------------------


def act(
    session: Session,
    actor: Principal,
    incident_id: int,
    action: str,
    fields: Mapping[str, Any] | None = None,
) -> Incident:
    """One lifecycle action (report, assess, reassess, respond, resolve, submit_review,
    return_review, accept_review, close, cancel, merge). `instruct` goes through `instruct`."""
    incident = get(session, incident_id)
    values = {k: v for k, v in (fields or {}).items()}
    if action == IncidentAction.INSTRUCT.value:
        raise ValidationError.keyed("error.incidents.instruct_with_tasks", field="tasks")
    values = _complete_fields(session, incident, action, values)
    transition = apply(IncidentState(incident.state), action, permissions_of(actor), values)
    before = {"state": incident.state, "level": incident.level}
    now = clock.now()
    reason = _effects(session, actor, incident, action, values, now)
    incident.state = transition.target.value
    _record(
        session,
        actor,
        incident,
        action,
        before=before,
        after={"state": incident.state, "level": incident.level},
        reason=reason,
    )
    return incident


def _complete_fields(
    session: Session, incident: Incident, action: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Add what the guards need from the record (the caller cannot supply these)."""
    if action == IncidentAction.REPORT.value:
        values.setdefault("summary", incident.summary)
        values.setdefault("category", incident.category)
    elif action == IncidentAction.SUBMIT_REVIEW.value:
        review = _review(session, incident.id)
        values["review_report"] = review.causes if review is not None else ""
    elif action == IncidentAction.CLOSE.value:
        values["review_accepted"] = incident.review_accepted_at is not None
        values["uncontacted_customers"] = [c.id for c in uncontacted_cases(session, incident.id)]
    elif action == IncidentAction.MERGE.value:
        values["incident_id"] = incident.id
        target = values.get("target_incident")
        if target not in (None, ""):
            try:
                values["target_incident"] = int(target)
            except (TypeError, ValueError):
                raise ValidationError.keyed(
                    "error.incidents.target_not_number", field="target_incident"
                ) from None
    return values


def _effects(
    session: Session,
    actor: Principal,
    incident: Incident,
    action: str,
    values: Mapping[str, Any],
    now: datetime,
) -> str | None:
    A = IncidentAction
    if action == A.REPORT.value:
        incident.summary = _text(values["summary"])
        incident.category = _category(values["category"])
        incident.reported_at = now
        _notify(
            session,
            f"group:{COMPLAINT_HANDLING}",
            f"事件上报 Incident reported: {_label(incident)}",
            incident.summary,
            f"incident:{incident.id}:reported",
        )
    elif action in (A.ASSESS.value, A.REASSESS.value):
        _assess(session, incident, values, now)
        return _text(values.get("level_reason")) or None
    elif action == A.RESPOND.value:
        incident.responding_at = incident.responding_at or now
    elif action == A.RESOLVE.value:
        incident.resolution_summary = _text(values["resolution_summary"])
        incident.resolved_at = now
    elif action == A.SUBMIT_REVIEW.value:
        review = _review(session, incident.id)
        assert review is not None  # the guard saw its text
        review.state, review.submitted_at, review.submitted_by = "submitted", now, actor.username
        review.updated_at = now
        incident.reviewed_at = now
        _notify(
            session,
            f"group:{LEADERSHIP}",
            f"复盘报告待审 Review report submitted: {_label(incident)}",
            review.causes,
            f"incident:{incident.id}:review:{int(now.timestamp())}",
        )
    elif action in (A.ACCEPT_REVIEW.value, A.RETURN_REVIEW.value):
        review = _review(session, incident.id)
        assert review is not None
        accepted = action == A.ACCEPT_REVIEW.value
        if accepted and incident.review_accepted_at is not None:
            raise InvalidTransition.keyed("error.incidents.review_already_accepted")
        review.state = "accepted" if accepted else "returned"
        review.comments = _text(values.get("comments")) or None
        review.decided_at, review.decided_by, review.updated_at = now, actor.username, now
        incident.review_accepted_at = now if accepted else None
        if not accepted:
            incident.reviewed_at = None
        return review.comments
    elif action == A.CLOSE.value:
        incident.uncontacted_reason = _text(values.get("uncontacted_reason")) or None
        incident.closed_at = now
        return incident.uncontacted_reason
    elif action == A.CANCEL.value:
        incident.end_reason = _text(values["reason"])
        _cancel_open_tasks(session, incident, now)
        return incident.end_reason
    elif action == A.MERGE.value:
        target = get(session, int(values["target_incident"]))
        _require_open(target)
        incident.merged_into_id = target.id
        _cancel_open_tasks(session, incident, now)
        moved = [link.case_id for link in _links(session, incident.id)]
        if moved:
            _link(session, actor, target, _cases_or_404(session, moved))
        return f"merged into #{target.id}"
    return None


def _links(session: Session, incident_id: int) -> list[IncidentComplaint]:
    return list(
        session.scalars(
            select(IncidentComplaint).where(IncidentComplaint.incident_id == incident_id)
        )
    )


def _cancel_open_tasks(session: Session, incident: Incident, now: datetime) -> None:
    for task in tasks_of(session, incident.id):
        if task.state in OPEN_TASK_STATES:
            task.state = TaskState.CANCELLED.value
            task.completed_at = now


def _assess(session: Session, incident: Incident, values: Mapping[str, Any], now: datetime) -> None:
    ratings = Ratings(int(values["severity"]), int(values["scope"]), int(values["risk"]))
    incident.severity, incident.scope, incident.risk = ratings.severity, ratings.scope, ratings.risk
    incident.level = Level(values["level"]).value
    incident.level_reason = _text(values.get("level_reason")) or None
    incident.assessed_at = incident.assessed_at or now
    if Level(incident.level).engages_leadership and incident.leadership_engaged_at is None:
        incident.leadership_engaged_at = now
        _notify(
            session,
            f"group:{LEADERSHIP}",
            f"{incident.level} 级事件，请领导小组介入 Level {incident.level} incident: "
            f"{_label(incident)}",
            incident.summary,
            f"incident:{incident.id}:leadership",
        )


def proposal(severity: int, scope: int, risk: int) -> LevelOpinion:
    """The matrix's level for three ratings (what the assessment form shows as it changes)."""
    return propose_level(Ratings(severity, scope, risk))


# --- instructions: tasks and support requests -------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    task_type: str
    title: str
    group: str  # group key
    hours: float
    assignee: str | None = None  # username, a member of the group
    detail: str | None = None


def tasks_of(session: Session, incident_id: int) -> list[IncidentTask]:
    return list(
        session.scalars(
            select(IncidentTask)
            .where(IncidentTask.incident_id == incident_id)
            .order_by(IncidentTask.id)
        )
    )


def get_task(session: Session, task_id: int) -> IncidentTask:
    task = session.get(IncidentTask, task_id)
    if task is None:
        raise NotFoundError.keyed("error.incidents.task_not_found", id=task_id)
    return task


def _level_of(incident: Incident) -> Level:
    return Level(incident.level) if incident.level else Level.IV


def _new_task(
    session: Session,
    actor: Principal,
    incident: Incident,
    spec: TaskSpec,
    index: int,
    *,
    is_support: bool,
    now: datetime,
) -> IncidentTask:
    where = f"tasks[{index}]"
    if spec.task_type not in {t.value for t in TaskType}:
        known = ", ".join(t.value for t in TaskType)
        raise ValidationError.keyed(
            "error.incidents.unknown_task_type",
            field=f"{where}.type",
            where=where,
            value=repr(spec.task_type),
            known=known,
        )
    title = _required(spec.title, f"{where}.title", MAX_TITLE)
    if isinstance(spec.hours, bool) or not isinstance(spec.hours, (int, float)) or spec.hours <= 0:
        raise ValidationError.keyed(
            "error.incidents.task_hours_not_positive", field=f"{where}.hours", where=where
        )
    group = group_by_key(session, spec.group)
    assignee_id = None
    if spec.assignee:
        try:
            task_rules.check_assignee_in_group(spec.assignee, member_usernames(session, group.id))
        except ValidationError as error:
            raise ValidationError.keyed(
                "error.incidents.in_task", field=f"{where}.assignee", where=where, detail=error
            ) from None
        assignee_id = _user_by_name(session, spec.assignee, f"{where}.assignee").id
    clock_ = calendar_for_level(_level_of(incident), CALENDAR)
    task = IncidentTask(
        incident_id=incident.id,
        task_type=spec.task_type,
        is_support=is_support,
        title=title,
        detail=_text(spec.detail) or None,
        group_id=group.id,
        assignee_user_id=assignee_id,
        state=TaskState.OPEN.value,
        time_limit_hours=float(spec.hours),
        assigned_at=now,
        due_at=clock_.add(now, timedelta(hours=spec.hours)),
        created_by=actor.username,
    )
    session.add(task)
    session.flush()
    recipient = f"user:{assignee_id}" if assignee_id else f"group:{group.key}"
    _notify(
        session,
        recipient,
        f"新任务 New task: {task.title} ({_label(incident)})",
        f"{task.detail or task.title}\n截止 due {task.due_at.isoformat()}",
        f"task:{task.id}:assigned",
    )
    return task


def instruct(
    session: Session, actor: Principal, incident_id: int, specs: Sequence[TaskSpec]
) -> list[IncidentTask]:
    """Give tasks (plan §4.3); the first instruction moves an assessed incident on. Nothing is
    stored when any task is invalid (unknown type, unknown group, person outside the group)."""
    incident = get(session, incident_id)
    transition = apply(
        IncidentState(incident.state),
        IncidentAction.INSTRUCT.value,
        permissions_of(actor),
        {"tasks": list(specs)},
    )
    now = clock.now()
    with session.begin_nested():
        created = [
            _new_task(session, actor, incident, spec, i, is_support=False, now=now)
            for i, spec in enumerate(specs)
        ]
    before = incident.state
    incident.state = transition.target.value
    incident.instructed_at = incident.instructed_at or now
    _record(
        session,
        actor,
        incident,
        "instruct",
        before={"state": before},
        after={
            "state": incident.state,
            "tasks": [{"id": t.id, "type": t.task_type, "title": t.title} for t in created],
        },
    )
    return created


def playbook_set(session: Session) -> PlaybookSet:
    """The plan's default playbooks, with the admin-edited ones replacing those of the same
    category and level (or added)."""
    by_key: dict[tuple[Any, Any], Playbook] = {
        (p.category, p.level): p for p in _default_playbooks()
    }
    for stored in session.scalars(select(StoredPlaybook).order_by(StoredPlaybook.id)):
        playbook = parse_playbook(stored.data)
        by_key[(playbook.category, playbook.level)] = playbook
    return PlaybookSet(by_key.values())


def _default_playbooks() -> list[Playbook]:
    # PlaybookSet keeps its playbooks by (category, level); read them to merge with the stored.
    return list(DEFAULT_PLAYBOOKS._by_key.values())


def all_playbooks(session: Session) -> list[Playbook]:
    """Every playbook in force, most general first."""
    found = list(playbook_set(session)._by_key.values())
    return sorted(found, key=lambda p: (p.category is not None, p.level is not None, p.name))


def playbook_for(session: Session, incident: Incident) -> Playbook:
    return playbook_set(session).select(RiskCategory(incident.category), _level_of(incident))


def playbook_specs(playbook: Playbook, language: str) -> list[TaskSpec]:
    return [
        TaskSpec(
            task_type=t.task_type.value,
            title=t.title_zh if language == "zh-CN" else t.title_en,
            group=t.group,
            hours=t.due_in.total_seconds() / 3600,
        )
        for t in playbook.tasks
    ]


def instruct_from_playbook(
    session: Session, actor: Principal, incident_id: int, language: str = "zh-CN"
) -> list[IncidentTask]:
    incident = get(session, incident_id)
    return instruct(
        session, actor, incident_id, playbook_specs(playbook_for(session, incident), language)
    )


def request_support(
    session: Session,
    actor: Principal,
    incident_id: int,
    *,
    kind: str,
    title: str,
    detail: str,
    hours: float,
) -> IncidentTask:
    """A support request to IT or legal (plan §4.5), with its own deadline."""
    if not (actor.can(Perm.INCIDENTS_RESPOND.value) or actor.can(Perm.INCIDENTS_INSTRUCT.value)):
        raise PermissionDenied.keyed("error.incidents.support_permission")
    if kind not in SUPPORT_TYPES:
        raise ValidationError.keyed(
            "error.incidents.unknown_support_kind", field="kind", known=", ".join(SUPPORT_TYPES)
        )
    incident = get(session, incident_id)
    _require_open(incident)
    if IncidentState(incident.state) in (IncidentState.RESOLVED, IncidentState.REVIEWED):
        raise InvalidTransition.keyed("error.incidents.support_only_while_responding")
    spec = TaskSpec(kind, title, LOGISTICS_SUPPORT, hours, detail=detail)
    task = _new_task(session, actor, incident, spec, 0, is_support=True, now=clock.now())
    _record(
        session,
        actor,
        incident,
        "support_request",
        after={"task": task.id, "kind": kind, "title": task.title},
    )
    return task


def task_actions_for(session: Session, actor: Principal, task: IncidentTask) -> tuple[str, ...]:
    possible = task_rules.allowed_actions(TaskState(task.state), permissions_of(actor))
    receiver = _is_receiver(session, actor, task)
    return tuple(
        a
        for a in possible
        if receiver or a not in (task_rules.TaskAction.ACKNOWLEDGE, task_rules.TaskAction.COMPLETE)
    )


def _is_receiver(session: Session, actor: Principal, task: IncidentTask) -> bool:
    if "*" in actor.permissions:
        return True
    if task.assignee_user_id is not None:
        return actor.user_id == task.assignee_user_id
    return actor.username in member_usernames(session, task.group_id)


def task_act(
    session: Session,
    actor: Principal,
    task_id: int,
    action: str,
    fields: Mapping[str, Any] | None = None,
) -> IncidentTask:
    """Acknowledge or complete (the receiver), reassign or cancel (who instructs)."""
    task = get_task(session, task_id)
    incident = get(session, task.incident_id)
    _require_open(incident)
    values = dict(fields or {})
    if action == task_rules.TaskAction.REASSIGN.value:
        group = session.get(Group, task.group_id)
        values["group_members"] = member_usernames(session, task.group_id)
        if not _text(values.get("assignee_user")):
            values["assignee_user"] = None
            values["assignee_group"] = group.key if group else None  # back to the whole group
    transition = task_rules.apply(TaskState(task.state), action, permissions_of(actor), values)
    receiving = action in (task_rules.TaskAction.ACKNOWLEDGE, task_rules.TaskAction.COMPLETE)
    if receiving and not _is_receiver(session, actor, task):
        if task.assignee_user_id:
            raise PermissionDenied.keyed("error.incidents.task_for_assignee", id=task.id)
        raise PermissionDenied.keyed("error.incidents.task_for_group", id=task.id)
    now = clock.now()
    before = {"state": task.state, "assignee": task.assignee_user_id}
    reason = None
    if action == task_rules.TaskAction.ACKNOWLEDGE:
        task.acknowledged_at = now
    elif action == task_rules.TaskAction.COMPLETE:
        task.result = _text(values["result"])
        task.completed_at = now
        reason = task.result
    elif action == task_rules.TaskAction.REASSIGN:
        username = _text(values.get("assignee_user"))
        task.assignee_user_id = (
            _user_by_name(session, username, "assignee_user").id if username else None
        )
        task.acknowledged_at = None
    elif action == task_rules.TaskAction.CANCEL:
        reason = _text(values["reason"])
        task.completed_at = now
    task.state = transition.target.value
    _record(
        session,
        actor,
        incident,
        f"task.{action}",
        before={"task": task.id, **before},
        after={"task": task.id, "state": task.state, "assignee": task.assignee_user_id},
        reason=reason,
    )
    return task


def is_overdue(task: IncidentTask, now: datetime) -> bool:
    return task.state in OPEN_TASK_STATES and now > task.due_at


REMIND_SHARE = 0.25  # remind the receiver when a quarter of the time limit is left


def remind_due_soon(session: Session, now: datetime | None = None) -> int:
    """Open tasks with a quarter of their time left (wall clock) and not yet overdue: the
    receiver (the assignee, else the group) is reminded once per task. Returns how many."""
    now = now or clock.now()
    reminded = 0
    tasks = session.scalars(
        select(IncidentTask).where(
            IncidentTask.state.in_(OPEN_TASK_STATES), IncidentTask.due_at >= now
        )
    ).all()
    for task in tasks:
        left = task.due_at - now
        if left > (task.due_at - task.assigned_at) * REMIND_SHARE:
            continue
        key = f"task:{task.id}:reminder"
        if session.scalar(select(Outbox.id).where(Outbox.dedup_key == key)) is not None:
            continue
        group = session.get(Group, task.group_id)
        recipient = (
            f"user:{task.assignee_user_id}"
            if task.assignee_user_id
            else f"group:{group.key if group else task.group_id}"
        )
        _notify(
            session,
            recipient,
            f"任务即将到期 Task due soon: {task.title} ({_label(get(session, task.incident_id))})",
            f"截止 due {task.due_at.isoformat()}",
            key,
        )
        reminded += 1
    return reminded


def escalate_overdue(session: Session, now: datetime | None = None) -> int:
    """Tasks past their deadline: the group's leader is told once per task (outbox), and the
    task is marked escalated (audited as the system). Returns how many were escalated."""
    now = now or clock.now()
    overdue = session.scalars(
        select(IncidentTask).where(
            IncidentTask.state.in_(OPEN_TASK_STATES),
            IncidentTask.due_at < now,
            IncidentTask.escalated_at.is_(None),
        )
    ).all()
    for task in overdue:
        group = session.get(Group, task.group_id)
        incident = get(session, task.incident_id)
        task.escalated_at = now
        _record(
            session,
            SYSTEM,
            incident,
            "task.escalated",
            after={"task": task.id, "due_at": task.due_at.isoformat(), "to": "group leader"},
        )
        _notify(
            session,
            f"group:{group.key if group else task.group_id}:leader",
            f"任务超时 Task overdue: {task.title} ({_label(incident)})",
            f"截止 due {task.due_at.isoformat()}",
            f"task:{task.id}:overdue",
        )
    session.flush()
    return len(overdue)


# --- playbooks edited by admins ---------------------------------------------------------------


def stored_playbooks(session: Session) -> list[StoredPlaybook]:
    return list(session.scalars(select(StoredPlaybook).order_by(StoredPlaybook.name)))


def save_playbook(session: Session, actor: Principal, data: Mapping[str, Any]) -> StoredPlaybook:
    """Create or replace an admin playbook; ValidationError names the bad field and nothing is
    stored. Its groups must exist."""
    actor.require("settings.manage")
    playbook = parse_playbook(data)
    for i, template in enumerate(playbook.tasks):
        if session.scalar(select(Group.id).where(Group.key == template.group)) is None:
            raise ValidationError.keyed(
                "error.incidents.in_task",
                field=f"tasks[{i}].group",
                where=f"tasks[{i}]",
                detail=ValidationError.keyed(
                    "error.incidents.unknown_group", group=repr(template.group)
                ),
            )
    clean = playbook_to_data(playbook)
    row = session.scalar(select(StoredPlaybook).where(StoredPlaybook.name == playbook.name))
    before = row.data if row else None
    if row is None:
        row = StoredPlaybook(name=playbook.name, data=clean, updated_at=clock.now(), updated_by="")
        session.add(row)
    row.data, row.updated_at, row.updated_by = clean, clock.now(), actor.username
    session.flush()
    audit.record(
        session,
        actor,
        "incident.playbook.save",
        "incident_playbook",
        row.id,
        before=before,
        after=clean,
    )
    return row


def delete_playbook(session: Session, actor: Principal, playbook_id: int) -> None:
    actor.require("settings.manage")
    row = session.get(StoredPlaybook, playbook_id)
    if row is None:
        raise NotFoundError.keyed("error.incidents.playbook_not_found", id=playbook_id)
    audit.record(
        session, actor, "incident.playbook.delete", "incident_playbook", row.id, before=row.data
    )
    session.delete(row)
    session.flush()


# --- statements -------------------------------------------------------------------------------


def statements_of(session: Session, incident_id: int) -> list[Statement]:
    return list(
        session.scalars(
            select(Statement).where(Statement.incident_id == incident_id).order_by(Statement.id)
        )
    )


def versions_of(session: Session, statement_id: int) -> list[StatementVersion]:
    return list(
        session.scalars(
            select(StatementVersion)
            .where(StatementVersion.statement_id == statement_id)
            .order_by(StatementVersion.number)
        )
    )


def get_statement(session: Session, statement_id: int) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFoundError.keyed("error.incidents.statement_not_found", id=statement_id)
    return statement


def statement_level(incident: Incident) -> Level:
    """Approval follows the incident's level; before an assessment, the strict rule (GM)."""
    return Level(incident.level) if incident.level else Level.II


def draft_statement(
    session: Session, actor: Principal, incident_id: int, *, title: str, text: str
) -> Statement:
    actor.require(Perm.STATEMENTS_DRAFT.value)
    incident = get(session, incident_id)
    _require_open(incident)
    if incident.state == IncidentState.IDENTIFIED.value:
        raise InvalidTransition.keyed("error.incidents.statement_before_report")
    now = clock.now()
    statement = Statement(
        incident_id=incident.id,
        title=_required(title, "title", MAX_TITLE),
        state=StatementState.DRAFT.value,
        version=1,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(statement)
    session.flush()
    session.add(
        StatementVersion(
            statement_id=statement.id,
            number=1,
            text=_required(text, "text", MAX_STATEMENT),
            author=actor.username,
            at=now,
        )
    )
    session.flush()
    _record(
        session,
        actor,
        incident,
        "statement.draft",
        after={"statement": statement.id, "title": statement.title, "version": 1},
    )
    return statement


def edit_statement(session: Session, actor: Principal, statement_id: int, text: str) -> Statement:
    """A new version of a draft; a statement past draft (or published) cannot change."""
    actor.require(Perm.STATEMENTS_DRAFT.value)
    statement = get_statement(session, statement_id)
    statement_rules.assert_editable(StatementState(statement.state))
    new_text = _required(text, "text", MAX_STATEMENT)
    current = versions_of(session, statement.id)[-1]
    if new_text == current.text:
        raise ValidationError.keyed("error.incidents.text_unchanged", field="text")
    statement.version = current.number + 1
    statement.updated_at = clock.now()
    session.add(
        StatementVersion(
            statement_id=statement.id,
            number=statement.version,
            text=new_text,
            author=actor.username,
            at=statement.updated_at,
        )
    )
    session.flush()
    _record(
        session,
        actor,
        get(session, statement.incident_id),
        "statement.edit",
        after={"statement": statement.id, "version": statement.version},
    )
    return statement


def statement_actions_for(
    actor: Principal, incident: Incident, statement: Statement
) -> tuple[str, ...]:
    return statement_rules.allowed_actions(
        StatementState(statement.state), permissions_of(actor), statement_level(incident)
    )


def statement_act(
    session: Session,
    actor: Principal,
    statement_id: int,
    action: str,
    fields: Mapping[str, Any] | None = None,
) -> Statement:
    statement = get_statement(session, statement_id)
    incident = get(session, statement.incident_id)
    _require_open(incident)
    values = dict(fields or {})
    transition = statement_rules.apply(
        StatementState(statement.state),
        action,
        permissions_of(actor),
        statement_level(incident),
        values,
    )
    now = clock.now()
    before = statement.state
    A = statement_rules.StatementAction
    if action in (A.REQUEST_CHANGES, A.REJECT):
        statement.comments = _text(values["comments"])
    elif action == A.APPROVE:
        statement.approved_by = actor.username
    elif action == A.PUBLISH:
        statement.published_at = now
        statement.published_version = statement.version
        incident.first_statement_at = incident.first_statement_at or now
    statement.state = transition.target.value
    statement.updated_at = now
    _record(
        session,
        actor,
        incident,
        f"statement.{action}",
        before={"statement": statement.id, "state": before},
        after={"statement": statement.id, "state": statement.state, "version": statement.version},
        reason=statement.comments if action in (A.REQUEST_CHANGES, A.REJECT) else None,
    )
    return statement


def statement_diff(
    session: Session, statement_id: int, old: int, new: int
) -> tuple[statement_rules.DiffLine, ...]:
    texts = {v.number: v.text for v in versions_of(session, statement_id)}
    for number, field in ((old, "old"), (new, "new")):
        if number not in texts:
            raise ValidationError.keyed(
                "error.incidents.no_such_version", field=field, number=number
            )
    return statement_rules.diff_lines(texts[old], texts[new])


# --- close-out: the review report -------------------------------------------------------------


def _review(session: Session, incident_id: int) -> ReviewReport | None:
    return session.scalar(select(ReviewReport).where(ReviewReport.incident_id == incident_id))


def review_of(session: Session, incident_id: int) -> ReviewReport | None:
    return _review(session, incident_id)


def save_review(
    session: Session,
    actor: Principal,
    incident_id: int,
    *,
    summary: str,
    causes: str,
    improvements: str,
) -> ReviewReport:
    """Write the review report's own sections (the rest is drafted from the record)."""
    actor.require(Perm.INCIDENTS_REVIEW.value)
    incident = get(session, incident_id)
    if incident.state != IncidentState.RESOLVED.value:
        raise InvalidTransition.keyed("error.incidents.review_needs_resolved", state=incident.state)
    now = clock.now()
    review = _review(session, incident_id)
    if review is None:
        review = ReviewReport(incident_id=incident.id, state="draft", updated_at=now)
        session.add(review)
    review.summary, review.causes = _text(summary), _required(causes, "causes")
    review.improvements = _text(improvements)
    review.updated_at = now
    if review.state == "returned":
        review.state = "draft"
    session.flush()
    _record(
        session,
        actor,
        incident,
        "review.save",
        after={"causes": review.causes, "improvements": review.improvements},
    )
    return review


def improvements_of(session: Session, incident_id: int) -> list[ImprovementAction]:
    return list(
        session.scalars(
            select(ImprovementAction)
            .where(ImprovementAction.incident_id == incident_id)
            .order_by(ImprovementAction.id)
        )
    )


def add_improvement(
    session: Session,
    actor: Principal,
    incident_id: int,
    *,
    text: str,
    owner: str,
    due_on: date | str,
) -> ImprovementAction:
    actor.require(Perm.INCIDENTS_REVIEW.value)
    incident = get(session, incident_id)
    if incident.state not in (
        IncidentState.RESOLVED.value,
        IncidentState.REVIEWED.value,
        IncidentState.CLOSED.value,
    ):
        raise InvalidTransition.keyed("error.incidents.improvement_after_resolution")
    if isinstance(due_on, str):
        try:
            due_on = date.fromisoformat(due_on.strip())
        except ValueError:
            raise ValidationError.keyed("error.incidents.due_on_not_date", field="due_on") from None
    user = _user_by_name(session, _required(owner, "owner"), "owner")
    action = ImprovementAction(
        incident_id=incident.id,
        text=_required(text, "text"),
        owner_user_id=user.id,
        due_on=due_on,
        created_at=clock.now(),
    )
    session.add(action)
    session.flush()
    _record(
        session,
        actor,
        incident,
        "improvement.add",
        after={"id": action.id, "text": action.text, "owner": user.username, "due": str(due_on)},
    )
    return action


def complete_improvement(session: Session, actor: Principal, action_id: int) -> ImprovementAction:
    action = session.get(ImprovementAction, action_id)
    if action is None:
        raise NotFoundError.keyed("error.incidents.improvement_not_found", id=action_id)
    if actor.user_id != action.owner_user_id and not actor.can(Perm.INCIDENTS_CLOSE.value):
        raise PermissionDenied.keyed("error.incidents.improvement_owner_only")
    if action.done_at is not None:
        raise InvalidTransition.keyed("error.incidents.improvement_done")
    action.done_at = clock.now()
    _record(
        session,
        actor,
        get(session, action.incident_id),
        "improvement.done",
        after={"id": action.id},
    )
    return action


# --- the record, as the page and the report show it -------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str  # without the "incident." prefix
    reason: str | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class TaskFigures:
    total: int
    done: int
    done_on_time: int
    late: int  # done late, or still open past the deadline
    open: int


@dataclass(frozen=True)
class Record:
    """Everything the incident page's summary and the review report show, computed once."""

    incident: Incident
    timeline: list[TimelineEntry]
    steps: tuple[StepResult, ...]
    tasks: list[IncidentTask]
    task_figures: TaskFigures
    statements: list[Statement]
    published: int
    complaints: list[ComplaintCase]
    uncontacted: list[ComplaintCase]
    review: ReviewReport | None
    improvements: list[ImprovementAction]
    usernames: dict[int, str]
    group_names: dict[int, dict[str, Any]]


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    entries = audit.search(
        session, audit.AuditFilter(object_type="incident", object_id=str(incident_id)), 10_000
    )
    return [
        TimelineEntry(e.at, e.actor, e.action.removeprefix("incident."), e.reason, e.after)
        for e in reversed(entries)
    ]


def milestones(incident: Incident) -> dict[Milestone, datetime]:
    pairs = {
        Milestone.REPORTED: incident.reported_at,
        Milestone.ASSESSED: incident.assessed_at,
        Milestone.INSTRUCTED: incident.instructed_at,
        Milestone.FIRST_STATEMENT: incident.first_statement_at,
        Milestone.RESOLVED: incident.resolved_at,
        Milestone.REVIEWED: incident.reviewed_at,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def task_figures(tasks: Sequence[IncidentTask], now: datetime) -> TaskFigures:
    done = [t for t in tasks if t.state == TaskState.DONE.value]
    on_time = [t for t in done if t.completed_at is not None and t.completed_at <= t.due_at]
    late_open = [t for t in tasks if is_overdue(t, now)]
    return TaskFigures(
        total=len([t for t in tasks if t.state != TaskState.CANCELLED.value]),
        done=len(done),
        done_on_time=len(on_time),
        late=len(done) - len(on_time) + len(late_open),
        open=len([t for t in tasks if t.state in OPEN_TASK_STATES]),
    )


def record(session: Session, incident_id: int, now: datetime | None = None) -> Record:
    now = now or clock.now()
    incident = get(session, incident_id)
    tasks = tasks_of(session, incident_id)
    statements = statements_of(session, incident_id)
    level = _level_of(incident)
    user_ids = {t.assignee_user_id for t in tasks if t.assignee_user_id}
    improvements = improvements_of(session, incident_id)
    user_ids |= {a.owner_user_id for a in improvements}
    usernames = (
        dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    groups = {g.id: g.name for g in session.scalars(select(Group))}
    return Record(
        incident=incident,
        timeline=timeline(session, incident_id),
        steps=step_results(level, milestones(incident), now, CALENDAR),
        tasks=tasks,
        task_figures=task_figures(tasks, now),
        statements=statements,
        published=sum(1 for s in statements if s.state == StatementState.PUBLISHED.value),
        complaints=linked_cases(session, incident_id),
        uncontacted=uncontacted_cases(session, incident_id),
        review=_review(session, incident_id),
        improvements=improvements,
        usernames=usernames,
        group_names=groups,
    )


# --- metrics ----------------------------------------------------------------------------------

METRIC_STEPS = metric_rules.STEPS
MetricRow = metric_rules.MetricRow


def metrics(session: Session, *, drills: bool = False) -> list[MetricRow]:
    """Mean time to report (from opening), and to assess, instruct, first statement, resolve
    and close (from the report), per level and category (`metrics.summarise`). Drills are
    kept apart."""
    incidents = session.scalars(select(Incident).where(Incident.is_drill.is_(drills)))
    return metric_rules.summarise(incidents, drills=drills)


def quarterly_summary(
    session: Session, quarter: metric_rules.Quarter
) -> metric_rules.QuarterlySummary:
    """The quarter's figures (incidents opened in it; drills only counted as left out)."""
    start, end = quarter.bounds()
    incidents = list(
        session.scalars(
            select(Incident).where(Incident.opened_at >= start, Incident.opened_at < end)
        )
    )
    states = {i.id: i.state for i in incidents}
    return metric_rules.quarterly(incidents, quarter, states)


# --- the leadership group's panel --------------------------------------------------------------


@dataclass(frozen=True)
class LeadershipPanel:
    """What levels I–II put in front of the leadership group (plan §3, §4.2)."""

    watch: list[Incident]  # open level I–II incidents
    reviews: list[tuple[ReviewReport, Incident]]  # review reports awaiting acceptance
    statements: list[tuple[Statement, Incident]]  # awaiting the GM's approval (levels I–II)
    overdue: list[tuple[IncidentTask, Incident]]  # open tasks past their deadline


def leadership_panel(session: Session, now: datetime | None = None) -> LeadershipPanel:
    now = now or clock.now()
    real = Incident.is_drill.is_(False)
    major = Incident.level.in_((Level.I.value, Level.II.value))
    reviews = session.execute(
        select(ReviewReport, Incident)
        .join(Incident, Incident.id == ReviewReport.incident_id)
        .where(real, ReviewReport.state == "submitted")
        .order_by(ReviewReport.submitted_at, ReviewReport.id)
    ).all()
    statements = session.execute(
        select(Statement, Incident)
        .join(Incident, Incident.id == Statement.incident_id)
        .where(real, major, Statement.state == StatementState.PENDING_APPROVAL.value)
        .order_by(Statement.updated_at, Statement.id)
    ).all()
    overdue = session.execute(
        select(IncidentTask, Incident)
        .join(Incident, Incident.id == IncidentTask.incident_id)
        .where(real, IncidentTask.state.in_(OPEN_TASK_STATES), IncidentTask.due_at < now)
        .order_by(IncidentTask.due_at, IncidentTask.id)
    ).all()
    return LeadershipPanel(
        watch=leadership_watch(session),
        reviews=[(r, i) for r, i in reviews],
        statements=[(st, i) for st, i in statements],
        overdue=[(t, i) for t, i in overdue],
    )
